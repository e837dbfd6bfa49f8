namespace Participation.Api.Accounts;

public enum TokenMethod
{
    Hmac,
    PublicKey,
    Jwks,
}

public enum TokenEncryption
{
    None,
    Optional,
    Required,
}

/// <summary>An HMAC secret. Its bytes are the UTF-8 bytes of <see cref="Value"/>.</summary>
public sealed record SharedSecret(string? Kid, string Value);

/// <summary>A partner public key (RSA or EC) in PEM, with its key id.</summary>
public sealed record PublicKeyEntry(string Kid, string Pem);

/// <summary>
/// How an account's secure tokens are verified (DESIGN.md, <c>PUT /v1/accounts/{id}/secure-token</c>).
/// Keys are ordered oldest first: the newest key is the last of the list.
/// </summary>
public sealed record SecureTokenSettings
{
    public TokenMethod Method { get; init; } = TokenMethod.Hmac;
    public IReadOnlyList<string> Algorithms { get; init; } = ["HS256"];
    public IReadOnlyList<SharedSecret> Secrets { get; init; } = [];
    public IReadOnlyList<PublicKeyEntry> PublicKeys { get; init; } = [];
    public string? JwksUri { get; init; }
    public string? Issuer { get; init; }
    public string? Audience { get; init; }
    public int ClockSkewSeconds { get; init; } = 120;
    public bool RequireExpiration { get; init; }
    public int? MaxTokenAgeSeconds { get; init; }
    public TokenEncryption Encryption { get; init; } = TokenEncryption.None;
}

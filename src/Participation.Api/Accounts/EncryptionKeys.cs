using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Marten;
using Participation.Api.Auth;
using Participation.Api.Hosting;

namespace Participation.Api.Accounts;

/// <summary>A public JWK (RFC 7517) of one of the account's encryption keys, as published in its <c>jwks.json</c>.</summary>
public sealed record PublicJwk(
    string Kty,
    string Use,
    string Alg,
    string Kid,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? N = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? E = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Crv = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? X = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Y = null);

/// <summary>
/// A key pair the service generated for an account's encrypted tokens. <see cref="Id"/> is the key's <c>kid</c>: the
/// RFC 7638 thumbprint of its public key. The private key (PKCS#8) is stored protected by
/// <see cref="SecretProtector"/> and never leaves the service.
/// </summary>
public sealed record EncryptionKeyDocument
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required string Alg { get; init; }
    public required PublicJwk PublicKey { get; init; }
    public required string ProtectedPrivateKey { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
}

/// <summary>An encryption key pair generated (the public part only is recorded).</summary>
public sealed record EncryptionKeyCreated(string AccountId, string Kid, string Alg, string By, DateTimeOffset At);

/// <summary>An encryption key pair deleted: tokens encrypted to it are refused from the next request on.</summary>
public sealed record EncryptionKeyDeleted(string AccountId, string Kid, string Alg, string By, DateTimeOffset At);

/// <summary>
/// Generates encryption key pairs, and finds an account's decryption keys for the token validator. Keys are read
/// from the database on every encrypted token (a deleted key stops working at the next request, on every API
/// process); only the imported private key objects are cached, by kid (a kid names one key pair forever).
/// </summary>
public sealed class EncryptionKeyStore(IDocumentStore store, SecretProtector protector) : IDecryptionKeySource
{
    /// <summary>RSA modulus size of generated RSA-OAEP-256 keys.</summary>
    public const int RsaBits = 2048;

    /// <summary>Most keys an account may have at once.</summary>
    public const int MaxKeysPerAccount = 10;

    private const int MaxCachedKeys = 1000;

    private readonly ConcurrentDictionary<string, DecryptionKey> imported = new(StringComparer.Ordinal);

    public async ValueTask<IReadOnlyList<DecryptionKey>> FindAsync(string accountId, string? kid, JweKeyAlgorithm algorithm, CancellationToken ct)
    {
        var alg = Jwe.Name(algorithm);
        await using var session = store.QuerySession();
        IReadOnlyList<EncryptionKeyDocument> documents;
        if (kid is not null)
        {
            // Every kid this service hands out is a thumbprint: anything else (a NUL, which PostgreSQL refuses in a
            // text parameter, quotes, 256 bytes of noise) names no key, and is answered without a query.
            if (!IsThumbprint(kid))
            {
                return [];
            }

            var document = await session.LoadAsync<EncryptionKeyDocument>(kid, ct);
            documents = document is not null && document.AccountId == accountId && document.Alg == alg ? [document] : [];
        }
        else
        {
            documents = await session.Query<EncryptionKeyDocument>()
                .Where(k => k.AccountId == accountId && k.Alg == alg)
                .OrderByDescending(k => k.CreatedAt)
                .Take(2)
                .ToListAsync(ct);
        }

        return [.. documents.Select(Import)];
    }

    /// <summary>A new key pair for the account: the document to store, private key protected.</summary>
    public EncryptionKeyDocument Generate(string accountId, JweKeyAlgorithm algorithm, string by, DateTimeOffset now)
    {
        byte[] pkcs8;
        PublicJwk jwk;
        if (algorithm == JweKeyAlgorithm.RsaOaep256)
        {
            using var rsa = RSA.Create(RsaBits);
            var parameters = rsa.ExportParameters(includePrivateParameters: false);
            var n = Base64Url(parameters.Modulus!);
            var e = Base64Url(parameters.Exponent!);
            var kid = Thumbprint($$"""{"e":"{{e}}","kty":"RSA","n":"{{n}}"}""");
            jwk = new PublicJwk("RSA", "enc", Jwe.RsaOaep256Name, kid, N: n, E: e);
            pkcs8 = rsa.ExportPkcs8PrivateKey();
        }
        else
        {
            using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            var parameters = ecdh.ExportParameters(includePrivateParameters: false);
            var x = Base64Url(parameters.Q.X!);
            var y = Base64Url(parameters.Q.Y!);
            var kid = Thumbprint($$"""{"crv":"P-256","kty":"EC","x":"{{x}}","y":"{{y}}"}""");
            jwk = new PublicJwk("EC", "enc", Jwe.EcdhEsName, kid, Crv: "P-256", X: x, Y: y);
            pkcs8 = ecdh.ExportPkcs8PrivateKey();
        }

        try
        {
            return new EncryptionKeyDocument
            {
                Id = jwk.Kid,
                AccountId = accountId,
                Alg = jwk.Alg,
                PublicKey = jwk,
                ProtectedPrivateKey = protector.Protect(Convert.ToBase64String(pkcs8)),
                CreatedAt = now,
                CreatedBy = by,
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private DecryptionKey Import(EncryptionKeyDocument document)
    {
        if (imported.TryGetValue(document.Id, out var cached))
        {
            return cached;
        }

        byte[] pkcs8;
        try
        {
            pkcs8 = Convert.FromBase64String(protector.Unprotect(document.ProtectedPrivateKey));
        }
        catch (CryptographicException ex)
        {
            throw new SecretsUnavailableException(document.AccountId, ex);
        }

        try
        {
            DecryptionKey key;
            if (document.Alg == Jwe.RsaOaep256Name)
            {
                var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(pkcs8, out _);
                key = new DecryptionKey(document.Id, JweKeyAlgorithm.RsaOaep256, rsa);
            }
            else
            {
                var ecdh = ECDiffieHellman.Create();
                ecdh.ImportPkcs8PrivateKey(pkcs8, out _);
                key = new DecryptionKey(document.Id, JweKeyAlgorithm.EcdhEs, ecdh);
            }

            if (imported.Count >= MaxCachedKeys)
            {
                imported.Clear();
            }

            return imported.GetOrAdd(document.Id, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>Whether a kid has the shape of <see cref="Thumbprint"/>: 43 base64url characters (SHA-256, unpadded).</summary>
    internal static bool IsThumbprint(string kid) =>
        kid.Length == 43 && kid.AsSpan().IndexOfAnyExcept(ThumbprintCharacters) < 0;

    private static readonly System.Buffers.SearchValues<char> ThumbprintCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>RFC 7638: base64url SHA-256 of the required members, in lexicographic order, without whitespace.</summary>
    private static string Thumbprint(string canonicalJson) =>
        Base64Url(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonicalJson)));
}

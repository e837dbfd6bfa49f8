using System.Globalization;
using System.Text;
using Marten;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Domain.Campaigns;

namespace Participation.Api.Cli;

/// <summary>What <c>token mint</c> is asked for (see <see cref="TokenInput"/> for the command-line forms).</summary>
public sealed record MintRequest
{
    public required string CampaignId { get; init; }
    public string? AccountId { get; init; }
    public string? Sub { get; init; }

    /// <summary><c>auto</c> (a new unique id), <c>none</c> (no jti), or the value.</summary>
    public string Jti { get; init; } = "auto";

    /// <summary>A lifetime (<c>90s</c>, <c>15m</c>, <c>2h</c>, <c>1d</c>, plain seconds) from now, or <c>none</c>.</summary>
    public string Exp { get; init; } = "1h";

    /// <summary>When the token says it was issued, relative to now (<c>0</c>, <c>-2h</c>, ...), or <c>none</c>.</summary>
    public string Iat { get; init; } = "0";

    public int? LimitNb { get; init; }
    public bool? CanPlay { get; init; }
    public string? GiftLabel { get; init; }
    public bool? CanWin { get; init; }

    /// <summary>The HMAC secret; by default the account's newest one, read from the database.</summary>
    public string? Secret { get; init; }

    public string? Algorithm { get; init; }
    public string? Kid { get; init; }

    /// <summary>Wrap the signed token in a JWE to the account's newest encryption key (as a partner of an account with encryption does).</summary>
    public bool Encrypt { get; init; }
}

/// <param name="EncryptedTo">The kid of the encryption key the token was encrypted to, or null for a plain signed token.</param>
public sealed record MintedToken(
    string Token, string AccountId, string CampaignId, string Sub, string Algorithm, string? Kid, DateTimeOffset? ExpiresAt, string? EncryptedTo = null);

/// <summary>
/// Mints a test token for a campaign as its partner would: the account's settings come from the database (method,
/// algorithms, issuer, audience) and the HMAC secret is revealed through <see cref="AccountSecrets"/>, unless one is
/// given. Only HMAC accounts can be minted for here: a public-key account's private key never reaches the service.
/// With <see cref="MintRequest.Encrypt"/>, the signed token is encrypted (compact JWE, content A256GCM) to the account's
/// newest encryption key, RSA-OAEP-256 or ECDH-ES, with its public key only, as the partner would.
/// </summary>
public sealed class TokenMinting(IDocumentStore store, AccountSecrets secrets, TimeProvider time)
{
    public async Task<MintedToken> MintAsync(MintRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var session = store.QuerySession();
        var campaign = await session.LoadAsync<Campaign>(request.CampaignId, ct);
        if (campaign is null && (request.Secret is null || request.AccountId is null))
        {
            throw new CliException($"No campaign '{request.CampaignId}' in this database. Create it first, or give both --account and --secret to mint offline.");
        }

        if (campaign is not null && request.AccountId is not null && !string.Equals(request.AccountId, campaign.AccountId, StringComparison.Ordinal))
        {
            throw new CliException($"Campaign '{campaign.Id}' belongs to account '{campaign.AccountId}', not '{request.AccountId}'.");
        }

        var accountId = campaign?.AccountId ?? request.AccountId!;
        var account = await session.LoadAsync<Account>(accountId, ct);
        SecureTokenSettings? settings;
        try
        {
            settings = account is null ? null : secrets.Reveal(account);
        }
        catch (SecretsUnavailableException) when (request.Secret is not null)
        {
            settings = null;
        }

        var (secret, kid, algorithm) = ChooseKey(request, settings, accountId);
        var now = time.GetUtcNow();
        var sub = request.Sub ?? "test-user-" + Guid.NewGuid().ToString("N")[..8];
        var expiresAt = ParseExpiry(request.Exp, now, "--exp");
        var claims = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["sub"] = sub,
            ["campaignId"] = request.CampaignId,
            ["jti"] = request.Jti switch
            {
                "auto" => Guid.CreateVersion7().ToString("N"),
                "none" => null,
                var given => given,
            },
            ["iat"] = ParseExpiry(request.Iat, now, "--iat")?.ToUnixTimeSeconds(),
            ["exp"] = expiresAt?.ToUnixTimeSeconds(),
            ["iss"] = settings?.Issuer,
            ["aud"] = settings?.Audience,
        };
        if (request.LimitNb is not null || request.CanPlay is not null)
        {
            if (request.LimitNb is < 0)
            {
                throw new CliException("--limit-nb must be 0 or more.");
            }

            claims["limit"] = Members(("nb", request.LimitNb), ("canPlay", request.CanPlay));
        }

        if (request.GiftLabel is not null || request.CanWin is not null)
        {
            claims["gift"] = Members(("label", request.GiftLabel), ("cw", request.CanWin));
        }

        string token;
        try
        {
            token = TokenMinter.MintHmac(secret, algorithm, kid, claims);
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ex.Message);
        }

        if (!request.Encrypt)
        {
            return new MintedToken(token, accountId, request.CampaignId, sub, algorithm, kid, expiresAt);
        }

        var encryptionKey = await session.Query<EncryptionKeyDocument>()
            .Where(k => k.AccountId == accountId)
            .OrderByDescending(k => k.CreatedAt)
            .FirstOrDefaultAsync(ct)
            ?? throw new CliException($"--encrypt: account '{accountId}' has no encryption key (POST /v1/accounts/{accountId}/encryption-keys generates one).");
        return new MintedToken(JweEncryptor.Encrypt(token, encryptionKey.PublicKey), accountId, request.CampaignId, sub, algorithm, kid, expiresAt, encryptionKey.Id);
    }

    private static (string Secret, string? Kid, string Algorithm) ChooseKey(MintRequest request, SecureTokenSettings? settings, string accountId)
    {
        var hmacAlgorithms = settings?.Algorithms.Where(a => a.StartsWith("HS", StringComparison.Ordinal)).ToList() ?? [];
        if (request.Secret is not null)
        {
            return (request.Secret, request.Kid, request.Algorithm ?? hmacAlgorithms.FirstOrDefault() ?? "HS256");
        }

        if (settings is null)
        {
            throw new CliException($"Account '{accountId}' has no secure token settings: configure them (PUT /v1/accounts/{accountId}/secure-token) or give --secret.");
        }

        if (settings.Method != TokenMethod.Hmac || settings.Secrets.Count == 0)
        {
            throw new CliException($"Account '{accountId}' verifies tokens with public keys ({settings.Method}): sign with the partner's private key; this command mints HMAC tokens only (--secret for an HMAC secret of your own).");
        }

        // Keys are listed oldest first: mint with the newest, as a partner rotating keys does.
        var key = request.Kid is null ? settings.Secrets[^1] : settings.Secrets.LastOrDefault(s => s.Kid == request.Kid)
            ?? throw new CliException($"Account '{accountId}' has no HMAC secret with kid '{request.Kid}'.");
        var algorithm = request.Algorithm ?? hmacAlgorithms.FirstOrDefault() ?? "HS256";
        if (!hmacAlgorithms.Contains(algorithm, StringComparer.Ordinal))
        {
            throw new CliException($"Account '{accountId}' does not allow {algorithm}: it allows {string.Join(", ", settings.Algorithms)}.");
        }

        return (key.Value, key.Kid, algorithm);
    }

    private static Dictionary<string, object?> Members(params (string Name, object? Value)[] members)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in members)
        {
            if (value is not null)
            {
                result[name] = value;
            }
        }

        return result;
    }

    /// <summary><c>none</c>, or an offset from now: <c>90</c>, <c>90s</c>, <c>15m</c>, <c>2h</c>, <c>1d</c>, <c>-2h</c> or <c>2h-ago</c>.</summary>
    public static DateTimeOffset? ParseExpiry(string text, DateTimeOffset now, string option = "--exp")
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        // "5m-ago" is "-5m" for shells and parsers that take a leading '-' for an option.
        if (text.EndsWith("-ago", StringComparison.OrdinalIgnoreCase))
        {
            text = "-" + text[..^4];
        }

        var unit = text.Length > 0 && char.IsAsciiLetter(text[^1]) ? char.ToLowerInvariant(text[^1]) : 's';
        var number = char.IsAsciiLetter(text.LastOrDefault()) ? text[..^1] : text;
        if (!long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || Math.Abs(value) > 3650L * 24 * 3600)
        {
            throw new CliException($"{option}: '{text}' is not an offset from now such as 90s, 15m, 2h, 1d, 2h-ago, or none.");
        }

        var seconds = unit switch
        {
            's' => value,
            'm' => value * 60,
            'h' => value * 3600,
            'd' => value * 86400,
            _ => throw new CliException($"{option}: unknown unit '{unit}' (use s, m, h or d)."),
        };
        return now.AddSeconds(seconds);
    }

    /// <summary>A one-line description for the operator (never the secret).</summary>
    public static string Describe(MintedToken minted)
    {
        ArgumentNullException.ThrowIfNull(minted);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{minted.Algorithm} token for sub '{minted.Sub}' of campaign '{minted.CampaignId}' (account '{minted.AccountId}'");
        if (minted.Kid is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $", kid '{minted.Kid}'");
        }

        text.Append(minted.ExpiresAt is { } exp ? string.Create(CultureInfo.InvariantCulture, $"), expires {exp:yyyy-MM-dd HH:mm:ss}Z") : "), no expiry");
        if (minted.EncryptedTo is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"; encrypted (JWE) to the account's key '{minted.EncryptedTo}'");
        }

        return text.ToString();
    }
}

/// <summary>A mistake in a command's use: its message is shown as is, without a stack trace.</summary>
public sealed class CliException(string message) : Exception(message);

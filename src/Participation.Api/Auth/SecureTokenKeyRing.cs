using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Participation.Api.Accounts;

namespace Participation.Api.Auth;

/// <summary>
/// A configured verification key, built once from the account's settings (or from its JWKS).
/// <paramref name="Algorithm"/>: the only algorithm the key may verify (a JWK's <c>alg</c>), or null for any that fits.
/// </summary>
internal sealed record TokenKey(string? Kid, byte[]? KidUtf8, KeyFamily Family, SecurityKey Key, int HmacBytes, JwsAlgorithm? Algorithm = null)
{
    public bool Fits(JwsAlgorithm alg) =>
        Family == JwsAlgorithms.Family(alg)
        && (Family != KeyFamily.Hmac || HmacBytes >= JwsAlgorithms.MinimumHmacBytes(alg))
        && (Algorithm is null || Algorithm == alg);
}

/// <summary>The keys a token is checked against, with ready validation parameters pinned to one algorithm.</summary>
internal sealed record KeySelection(SecurityKey[] Keys, TokenValidationParameters Parameters);

/// <summary>
/// An account's verification keys for one settings version: key objects (PEM parsed once), the allow-list and
/// every key selection precomputed, so the hot path only looks them up.
/// </summary>
internal sealed partial class SecureTokenKeyRing
{
    /// <summary>Without a <c>kid</c>, at most this many keys (the newest fitting ones) are tried: current and previous.</summary>
    public const int MaxKeysWithoutKid = 2;

    private readonly bool[] allowed = new bool[JwsAlgorithms.Count];
    private readonly KeySelection?[] withoutKid = new KeySelection?[JwsAlgorithms.Count];
    private readonly KeySelection?[][] perKey;

    private SecureTokenKeyRing(long version, TokenKey[] keys, SecureTokenSettings settings)
    {
        Version = version;
        Keys = keys;
        foreach (var name in settings.Algorithms ?? [])
        {
            if (JwsAlgorithms.TryParse(name, out var alg))
            {
                allowed[(int)alg] = true;
            }
        }

        var skew = TimeSpan.FromSeconds(Math.Max(0, settings.ClockSkewSeconds));
        perKey = new KeySelection?[keys.Length][];
        for (var k = 0; k < keys.Length; k++)
        {
            perKey[k] = new KeySelection?[JwsAlgorithms.Count];
        }

        for (var a = 0; a < JwsAlgorithms.Count; a++)
        {
            var alg = (JwsAlgorithm)a;
            if (!allowed[a])
            {
                continue;
            }

            var fitting = keys.Where(k => k.Fits(alg)).Select(k => k.Key).TakeLast(MaxKeysWithoutKid).ToArray();
            if (fitting.Length > 0)
            {
                withoutKid[a] = Selection(fitting, alg, skew);
            }

            for (var k = 0; k < keys.Length; k++)
            {
                if (keys[k].KidUtf8 is not null && keys[k].Fits(alg))
                {
                    perKey[k][a] = Selection([keys[k].Key], alg, skew);
                }
            }
        }
    }

    public long Version { get; }

    /// <summary>The usable keys, oldest first, as configured.</summary>
    public IReadOnlyList<TokenKey> Keys { get; }

    public bool IsAllowed(JwsAlgorithm alg) => allowed[(int)alg];

    /// <summary>The newest fitting keys (at most two) for a token without a <c>kid</c>, or null.</summary>
    public KeySelection? WithoutKid(JwsAlgorithm alg) => withoutKid[(int)alg];

    /// <summary>The single key at <paramref name="index"/> in <see cref="Keys"/> for a token naming its kid, or null if it does not fit.</summary>
    public KeySelection? ForKey(int index, JwsAlgorithm alg) => perKey[index][(int)alg];

    public static SecureTokenKeyRing Build(string accountId, long version, SecureTokenSettings settings, ILogger logger)
    {
        var keys = new List<TokenKey>();
        switch (settings.Method)
        {
            case TokenMethod.Hmac:
                foreach (var secret in settings.Secrets ?? [])
                {
                    if (secret is null)
                    {
                        continue;
                    }

                    var bytes = Encoding.UTF8.GetBytes(secret.Value ?? string.Empty);
                    if (bytes.Length == 0)
                    {
                        continue;
                    }

                    keys.Add(new TokenKey(secret.Kid, KidBytes(secret.Kid), KeyFamily.Hmac, new SymmetricSecurityKey(bytes) { KeyId = secret.Kid }, bytes.Length));
                }

                break;

            case TokenMethod.PublicKey:
                foreach (var entry in settings.PublicKeys ?? [])
                {
                    if (TryImportPublicKey(entry, out var key))
                    {
                        keys.Add(key);
                    }
                    else
                    {
                        LogUnusablePublicKey(logger, accountId, entry.Kid);
                    }
                }

                break;

            case TokenMethod.Jwks:
            default:
                // JWKS keys are fetched and cached by another component; none are configured here.
                break;
        }

        return new SecureTokenKeyRing(version, [.. keys], settings);
    }

    /// <summary>
    /// A ring of keys that come from the account's JWKS (<see cref="JwksKeySource"/>) rather than from its settings.
    /// Keys whose <c>alg</c> is outside the account's allow-list are left out.
    /// </summary>
    public static SecureTokenKeyRing ForJwks(long version, IReadOnlyList<TokenKey> keys, SecureTokenSettings settings)
    {
        var allowed = new HashSet<JwsAlgorithm>();
        foreach (var name in settings.Algorithms ?? [])
        {
            if (JwsAlgorithms.TryParse(name, out var alg))
            {
                allowed.Add(alg);
            }
        }

        return new SecureTokenKeyRing(version, [.. keys.Where(k => k.Algorithm is null || allowed.Contains(k.Algorithm.Value))], settings);
    }

    private static KeySelection Selection(SecurityKey[] keys, JwsAlgorithm alg, TimeSpan skew) => new(keys, new TokenValidationParameters
    {
        // Only the signature is left to IdentityModel: our own code checks lifetime, issuer, audience and every
        // claim so each failure gets its exact code (PLATFORM.md: the library alone accepts hostile tokens).
        ValidAlgorithms = [JwsAlgorithms.Name(alg)],
        IssuerSigningKeys = keys,

        // The keys were selected by our own rules (the kid's key, or the two newest fitting keys): try each of them.
        TryAllIssuerSigningKeys = true,
        RequireSignedTokens = true,
        ValidateIssuerSigningKey = false,
        ValidateIssuer = false,
        ValidateAudience = false,
        ValidateLifetime = false,
        RequireExpirationTime = false,
        ValidateTokenReplay = false,
        ClockSkew = skew,
        LogValidationExceptions = false,
    });

    internal static byte[]? KidBytes(string? kid) => kid is null ? null : Encoding.UTF8.GetBytes(kid);

    private static bool TryImportPublicKey(PublicKeyEntry entry, out TokenKey key)
    {
        key = null!;
        if (string.IsNullOrWhiteSpace(entry.Pem) || !PemEncoding.TryFind(entry.Pem, out var fields))
        {
            return false;
        }

        try
        {
            var label = entry.Pem.AsSpan()[fields.Label];
            AsymmetricAlgorithm? imported;
            if (label.SequenceEqual("CERTIFICATE"))
            {
                using var certificate = X509Certificate2.CreateFromPem(entry.Pem);
                imported = (AsymmetricAlgorithm?)certificate.GetRSAPublicKey() ?? certificate.GetECDsaPublicKey();
            }
            else
            {
                imported = ImportKey(entry.Pem);
            }

            switch (imported)
            {
                case RSA rsa:
                    using (rsa)
                    {
                        // Keep the public part only, even if a private key was pasted.
                        var publicRsa = RSA.Create(rsa.ExportParameters(includePrivateParameters: false));
                        key = new TokenKey(entry.Kid, KidBytes(entry.Kid), KeyFamily.Rsa, new RsaSecurityKey(publicRsa) { KeyId = entry.Kid }, 0);
                        return true;
                    }

                case ECDsa ec:
                    using (ec)
                    {
                        var publicEc = ECDsa.Create(ec.ExportParameters(includePrivateParameters: false));
                        var family = publicEc.KeySize switch
                        {
                            256 => KeyFamily.EcP256,
                            384 => KeyFamily.EcP384,
                            521 => KeyFamily.EcP521,
                            _ => (KeyFamily?)null,
                        };
                        if (family is null)
                        {
                            publicEc.Dispose();
                            return false;
                        }

                        key = new TokenKey(entry.Kid, KidBytes(entry.Kid), family.Value, new ECDsaSecurityKey(publicEc) { KeyId = entry.Kid }, 0);
                        return true;
                    }

                default:
                    return false;
            }
        }
        catch (Exception ex) when (SecureTokenRequestValidator.IsUnusableKey(ex))
        {
            return false;
        }
    }

    private static AsymmetricAlgorithm? ImportKey(string pem)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return rsa;
        }
        catch (Exception ex) when (SecureTokenRequestValidator.IsUnusableKey(ex))
        {
            rsa.Dispose();
        }

        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return ec;
        }
        catch (Exception ex) when (SecureTokenRequestValidator.IsUnusableKey(ex))
        {
            ec.Dispose();
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Account {AccountId}: the public key with kid {Kid} is not a usable RSA or EC (P-256/384/521) PEM key; it is ignored.")]
    private static partial void LogUnusablePublicKey(ILogger logger, string accountId, string kid);
}

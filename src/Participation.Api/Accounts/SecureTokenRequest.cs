using System.Security.Cryptography;

namespace Participation.Api.Accounts;

/// <summary>Body of <c>PUT /v1/accounts/{accountId}/secure-token</c>.</summary>
public sealed record SecureTokenRequest
{
    public TokenMethod? Method { get; init; }
    public IReadOnlyList<string>? Algorithms { get; init; }
    public string? Secret { get; init; }
    public IReadOnlyList<SecretRequest>? Secrets { get; init; }
    public IReadOnlyList<PublicKeyRequest>? PublicKeys { get; init; }
    public string? JwksUri { get; init; }
    public string? Issuer { get; init; }
    public string? Audience { get; init; }
    public int? ClockSkewSeconds { get; init; }
    public bool? RequireExpiration { get; init; }
    public int? MaxTokenAgeSeconds { get; init; }
    public TokenEncryption? Encryption { get; init; }
}

public sealed record SecretRequest
{
    public string? Kid { get; init; }
    public string? Secret { get; init; }
}

public sealed record PublicKeyRequest
{
    public string? Kid { get; init; }
    public string? Pem { get; init; }
}

/// <summary>Turns a request into settings, or lists every invalid field.</summary>
public static class SecureTokenRequestValidator
{
    public static readonly IReadOnlyList<string> HmacAlgorithms = ["HS256", "HS384", "HS512"];
    public static readonly IReadOnlyList<string> AsymmetricAlgorithms =
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    private const int MaxKeys = 10;
    private const int MaxKidBytes = 256;
    private const int MaxSecretBytes = 1024;
    private const int MaxPemLength = 16 * 1024;
    private const int MaxUriLength = 2048;

    /// <param name="allowHttpJwks">Whether an <c>http://</c> JWKS URI is accepted (Development and Testing only, by default).</param>
    public static (SecureTokenSettings? Settings, Dictionary<string, string[]> Errors) Validate(SecureTokenRequest request, bool allowHttpJwks = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Error(string field, string message)
        {
            if (!errors.TryGetValue(field, out var list))
            {
                errors[field] = list = [];
            }

            list.Add(message);
        }

        var method = request.Method;
        if (method is null)
        {
            Error("method", "Required: hmac, publicKey or jwks.");
        }

        var defaultAlgorithms = method is TokenMethod.PublicKey or TokenMethod.Jwks ? new[] { "RS256" } : ["HS256"];
        var algorithms = request.Algorithms ?? defaultAlgorithms;
        if (algorithms.Count == 0)
        {
            Error("algorithms", "At least one algorithm is required.");
        }

        var allowed = method == TokenMethod.Hmac ? HmacAlgorithms : AsymmetricAlgorithms;
        for (var i = 0; i < algorithms.Count; i++)
        {
            if (!allowed.Contains(algorithms[i], StringComparer.Ordinal))
            {
                Error($"algorithms[{i}]", $"Not an algorithm of the {Describe(method)} method: use one of {string.Join(", ", allowed)}.");
            }
        }

        if (algorithms.Distinct(StringComparer.Ordinal).Count() != algorithms.Count)
        {
            Error("algorithms", "Each algorithm may be listed once.");
        }

        var secrets = new List<SharedSecret>();
        var publicKeys = new List<PublicKeyEntry>();
        if (method == TokenMethod.Hmac)
        {
            if (request.PublicKeys is not null)
            {
                Error("publicKeys", "Only for the publicKey method.");
            }

            if ((request.Secret is null) == (request.Secrets is null))
            {
                Error("secret", "Give either secret or secrets[] (with kid), not both and not neither.");
            }

            var minBytes = algorithms.Where(HmacAlgorithms.Contains).Select(HashBytes).DefaultIfEmpty(32).Max();
            if (request.Secret is not null)
            {
                CheckSecret("secret", request.Secret, minBytes, Error);
                secrets.Add(new SharedSecret(null, request.Secret));
            }
            else if (request.Secrets is not null)
            {
                if (request.Secrets.Count is 0 or > MaxKeys)
                {
                    Error("secrets", $"Between 1 and {MaxKeys} secrets.");
                }

                for (var i = 0; i < request.Secrets.Count; i++)
                {
                    var item = request.Secrets[i];
                    if (item is null)
                    {
                        // [null] parses (element nullability is not enforced by the reader): found by fuzzing, it was a 500.
                        Error($"secrets[{i}]", "Must be an object {kid, secret}.");
                        continue;
                    }

                    if (item.Kid is not null)
                    {
                        CheckKid($"secrets[{i}].kid", item.Kid, Error);
                    }

                    if (item.Secret is null)
                    {
                        Error($"secrets[{i}].secret", "Required.");
                        continue;
                    }

                    CheckSecret($"secrets[{i}].secret", item.Secret, minBytes, Error);
                    secrets.Add(new SharedSecret(item.Kid, item.Secret));
                }

                CheckUniqueKids("secrets", request.Secrets.Select(s => s?.Kid), Error);
            }
        }
        else if (method == TokenMethod.PublicKey)
        {
            if (request.Secret is not null || request.Secrets is not null)
            {
                Error("secret", "Only for the hmac method.");
            }

            if (request.PublicKeys is null || request.PublicKeys.Count is 0 or > MaxKeys)
            {
                Error("publicKeys", $"Between 1 and {MaxKeys} public keys, each {{kid, pem}}.");
            }
            else
            {
                for (var i = 0; i < request.PublicKeys.Count; i++)
                {
                    var item = request.PublicKeys[i];
                    if (item is null)
                    {
                        Error($"publicKeys[{i}]", "Must be an object {kid, pem}.");
                        continue;
                    }

                    if (item.Kid is null)
                    {
                        Error($"publicKeys[{i}].kid", "Required.");
                    }
                    else
                    {
                        CheckKid($"publicKeys[{i}].kid", item.Kid, Error);
                    }

                    var family = item.Pem is null ? null : KeyFamily(item.Pem);
                    if (family is null)
                    {
                        Error($"publicKeys[{i}].pem", "Must be a PEM public key: RSA of at least 2048 bits, or EC on P-256, P-384 or P-521.");
                    }
                    else if (item.Kid is not null)
                    {
                        publicKeys.Add(new PublicKeyEntry(item.Kid, item.Pem!));
                    }
                }

                CheckUniqueKids("publicKeys", request.PublicKeys.Select(k => k?.Kid), Error);
                foreach (var alg in algorithms.Where(AsymmetricAlgorithms.Contains))
                {
                    if (!publicKeys.Any(k => Fits(alg, KeyFamily(k.Pem))))
                    {
                        Error("algorithms", $"{alg} is allowed but no public key fits it.");
                    }
                }
            }
        }

        string? jwksUri = null;
        if (method == TokenMethod.Jwks)
        {
            if (request.Secret is not null || request.Secrets is not null)
            {
                Error("secret", "Only for the hmac method.");
            }

            if (request.PublicKeys is not null)
            {
                Error("publicKeys", "Only for the publicKey method.");
            }

            if (request.JwksUri is null)
            {
                Error("jwksUri", "Required for the jwks method: the absolute https URI of your JWK Set.");
            }
            else if (request.JwksUri.Length > MaxUriLength
                || !Uri.TryCreate(request.JwksUri, UriKind.Absolute, out var uri)
                || !Auth.JwksFetcher.IsAllowedScheme(uri, allowHttpJwks))
            {
                Error("jwksUri", allowHttpJwks
                    ? $"An absolute http or https URI of at most {MaxUriLength} characters, without user info or fragment."
                    : $"An absolute https URI of at most {MaxUriLength} characters, without user info or fragment.");
            }
            else
            {
                jwksUri = uri.AbsoluteUri;
            }
        }
        else if (request.JwksUri is not null)
        {
            Error("jwksUri", "Only for the jwks method.");
        }

        CheckOptionalText("issuer", request.Issuer, Error);
        CheckOptionalText("audience", request.Audience, Error);

        if (request.ClockSkewSeconds is < 0 or > 600)
        {
            Error("clockSkewSeconds", "Between 0 and 600 seconds.");
        }

        if (request.MaxTokenAgeSeconds is < 1 or > 31_536_000)
        {
            Error("maxTokenAgeSeconds", "Between 1 second and one year, or null.");
        }

        if (errors.Count > 0)
        {
            return (null, errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
        }

        var settings = new SecureTokenSettings
        {
            Method = method!.Value,
            Algorithms = [.. algorithms],
            Secrets = secrets,
            PublicKeys = publicKeys,
            JwksUri = jwksUri,
            Issuer = request.Issuer,
            Audience = request.Audience,
            ClockSkewSeconds = request.ClockSkewSeconds ?? 120,
            RequireExpiration = request.RequireExpiration ?? false,
            MaxTokenAgeSeconds = request.MaxTokenAgeSeconds,
            Encryption = request.Encryption ?? TokenEncryption.None,
        };
        return (settings, []);
    }

    private static string Describe(TokenMethod? method) => method switch
    {
        TokenMethod.Hmac => "hmac",
        TokenMethod.PublicKey => "publicKey",
        TokenMethod.Jwks => "jwks",
        _ => "chosen",
    };

    private static int HashBytes(string alg) => alg switch
    {
        "HS384" => 48,
        "HS512" => 64,
        _ => 32,
    };

    private static void CheckSecret(string field, string secret, int minBytes, Action<string, string> error)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(secret);
        if (bytes < minBytes)
        {
            error(field, $"At least {minBytes} bytes (as long as the hash of the strongest allowed algorithm).");
        }
        else if (bytes > MaxSecretBytes)
        {
            error(field, $"At most {MaxSecretBytes} bytes.");
        }
    }

    private static void CheckKid(string field, string kid, Action<string, string> error)
    {
        if (kid.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(kid) > MaxKidBytes || kid.Any(char.IsControl))
        {
            error(field, $"A non-empty string of at most {MaxKidBytes} bytes without control characters.");
        }
    }

    private static void CheckUniqueKids(string field, IEnumerable<string?> kids, Action<string, string> error)
    {
        var present = kids.Where(k => k is not null).ToList();
        if (present.Distinct(StringComparer.Ordinal).Count() != present.Count)
        {
            error(field, "Each kid may be used once.");
        }
    }

    private static void CheckOptionalText(string field, string? value, Action<string, string> error)
    {
        if (value is not null && (value.Length is 0 or > 512 || value.Any(char.IsControl)))
        {
            error(field, "A non-empty string of at most 512 characters, or null.");
        }
    }

    /// <summary>"RSA", "P-256", "P-384", "P-521", or null when the PEM is not a usable public key.</summary>
    public static string? KeyFamily(string pem)
    {
        if (pem.Length > MaxPemLength || pem.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            using var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return rsa.KeySize >= 2048 ? "RSA" : null;
        }
        catch (Exception ex) when (IsUnusableKey(ex))
        {
            // Not RSA: try EC below.
        }

        try
        {
            using var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return ec.KeySize switch
            {
                256 => "P-256",
                384 => "P-384",
                521 => "P-521",
                _ => null,
            };
        }
        catch (Exception ex) when (IsUnusableKey(ex))
        {
            return null;
        }
    }

    /// <summary>
    /// What importing a PEM key the caller sent may throw: malformed data (<see cref="CryptographicException"/>, no
    /// PEM at all (<see cref="ArgumentException"/>), and an EC key on a curve OpenSSL does not know
    /// (<see cref="PlatformNotSupportedException"/>, a <see cref="NotSupportedException"/>: found by fuzzing, it was a 500).
    /// </summary>
    internal static bool IsUnusableKey(Exception exception) =>
        exception is CryptographicException or ArgumentException or NotSupportedException;

    private static bool Fits(string alg, string? family) => family is not null && alg switch
    {
        "ES256" => family == "P-256",
        "ES384" => family == "P-384",
        "ES512" => family == "P-521",
        _ => family == "RSA",
    };
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Participation.Api.Auth;

/// <summary>
/// Reads a partner's JWK Set (RFC 7517) into verification keys. The document must be one JSON object with a
/// <c>keys</c> array, without duplicated members. Each key is kept only if it can verify secure tokens:
/// a <c>kid</c>; <c>kty</c> RSA (2048 bits or more) or EC on P-256/P-384/P-521; <c>use</c> absent or <c>sig</c>;
/// <c>key_ops</c> absent or naming <c>verify</c>; <c>alg</c> absent or one of the twelve JWS algorithms fitting the
/// key. Anything else (<c>use: enc</c>, <c>oct</c> or <c>OKP</c> keys, unknown members' values) is ignored, never an
/// error. Only public parameters are read: a private member published by mistake is not used.
/// </summary>
internal static class JwksDocument
{
    private const int MinRsaBits = 2048;
    private const int MaxRsaBits = 16384;

    private static readonly JsonDocumentOptions Options = new()
    {
        MaxDepth = 16,
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowDuplicateProperties = false,
    };

    /// <summary>
    /// The usable keys of <paramref name="json"/>, in document order, and how many keys were ignored; false with a
    /// short reason tag (never a value from the document) when the document itself is not a JWK Set.
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> json, int maxKeys, out List<TokenKey> keys, out int ignored, out string? failure)
    {
        keys = [];
        ignored = 0;
        failure = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, Options);
        }
        catch (JsonException)
        {
            failure = "not_json";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("keys", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                failure = "not_a_jwk_set";
                return false;
            }

            if (array.GetArrayLength() > maxKeys)
            {
                failure = "too_many_keys";
                return false;
            }

            foreach (var jwk in array.EnumerateArray())
            {
                if (TryReadKey(jwk) is { } key)
                {
                    keys.Add(key);
                }
                else
                {
                    ignored++;
                }
            }
        }

        return true;
    }

    private static TokenKey? TryReadKey(JsonElement jwk)
    {
        if (jwk.ValueKind != JsonValueKind.Object
            || String(jwk, "kid") is not { Length: > 0 } kid
            || Encoding.UTF8.GetByteCount(kid) > SecureTokenValidator.MaxIdentifierBytes)
        {
            return null;
        }

        if (jwk.TryGetProperty("use", out var use) && !(use.ValueKind == JsonValueKind.String && use.ValueEquals("sig")))
        {
            return null;
        }

        if (jwk.TryGetProperty("key_ops", out var ops) && !(ops.ValueKind == JsonValueKind.Array && ops.EnumerateArray().Any(o => o.ValueKind == JsonValueKind.String && o.ValueEquals("verify"))))
        {
            return null;
        }

        JwsAlgorithm? algorithm = null;
        if (jwk.TryGetProperty("alg", out var alg))
        {
            if (alg.ValueKind != JsonValueKind.String || !JwsAlgorithms.TryParse(alg.GetString(), out var parsed))
            {
                return null;
            }

            algorithm = parsed;
        }

        var key = String(jwk, "kty") switch
        {
            "RSA" => ReadRsa(jwk, kid),
            "EC" => ReadEc(jwk, kid),
            _ => null,
        };
        if (key is null)
        {
            return null;
        }

        key = key with { Algorithm = algorithm };
        return algorithm is { } only && !key.Fits(only) ? null : key;
    }

    private static TokenKey? ReadRsa(JsonElement jwk, string kid)
    {
        if (Bytes(jwk, "n") is not { } modulus || Bytes(jwk, "e") is not { Length: > 0 and <= 8 } exponent)
        {
            return null;
        }

        modulus = modulus.AsSpan().TrimStart((byte)0).ToArray();
        var bits = modulus.Length * 8;
        if (bits < MinRsaBits || bits > MaxRsaBits)
        {
            return null;
        }

        try
        {
            var rsa = RSA.Create(new RSAParameters { Modulus = modulus, Exponent = exponent });
            return new TokenKey(kid, SecureTokenKeyRing.KidBytes(kid), KeyFamily.Rsa, new RsaSecurityKey(rsa) { KeyId = kid }, 0);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static TokenKey? ReadEc(JsonElement jwk, string kid)
    {
        var (curve, family, size) = String(jwk, "crv") switch
        {
            "P-256" => (ECCurve.NamedCurves.nistP256, KeyFamily.EcP256, 32),
            "P-384" => (ECCurve.NamedCurves.nistP384, KeyFamily.EcP384, 48),
            "P-521" => (ECCurve.NamedCurves.nistP521, KeyFamily.EcP521, 66),
            _ => (default(ECCurve), KeyFamily.Hmac, 0),
        };
        if (size == 0 || Bytes(jwk, "x") is not { } x || Bytes(jwk, "y") is not { } y || x.Length != size || y.Length != size)
        {
            return null;
        }

        try
        {
            // Importing checks that the point is on the curve.
            var ec = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = x, Y = y } });
            return new TokenKey(kid, SecureTokenKeyRing.KidBytes(kid), family, new ECDsaSecurityKey(ec) { KeyId = kid }, 0);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static string? String(JsonElement jwk, string name) =>
        jwk.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A base64url member (unpadded, as RFC 7518 requires), or null.</summary>
    private static byte[]? Bytes(JsonElement jwk, string name)
    {
        if (String(jwk, name) is not { Length: > 0 and <= 4096 } text)
        {
            return null;
        }

        var buffer = new byte[Base64UrlStrict.MaxDecodedLength(text.Length)];
        return Base64UrlStrict.TryDecode(text, buffer, out var written) ? buffer[..written] : null;
    }
}

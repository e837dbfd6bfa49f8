using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>An asymmetric test key: the private signing key and its public key in PEM (SubjectPublicKeyInfo).</summary>
public sealed record AsymmetricTestKey(SecurityKey SigningKey, string PublicKeyPem);

/// <summary>
/// Mints secure tokens for tests, honest or hostile. Signing is done here by hand (not by IdentityModel),
/// so tests control every byte of the header and payload: duplicated members, wrong types, short HMAC
/// secrets, <c>crit</c>/<c>jku</c>/<c>jwk</c> headers, and so on.
/// <para>
/// A <c>payload</c> is either a raw JSON string (used verbatim) or any object serialised with System.Text.Json
/// (anonymous object, <see cref="Dictionary{TKey,TValue}"/> such as the one <see cref="Claims"/> returns, JsonNode...).
/// A <c>header</c> is an anonymous object or a dictionary whose members are merged over the default
/// <c>{"alg": alg, "typ": "JWT"}</c> (a member named <c>alg</c> overrides the declared algorithm without changing
/// how the token is signed). For full control of the header use <see cref="SignRaw"/>.
/// </para>
/// </summary>
public static class TestTokens
{
    /// <summary>A 64-byte HMAC secret, long enough for HS256, HS384 and HS512.</summary>
    public const string Secret = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMN";

    /// <summary>The twelve JWS algorithms the service supports.</summary>
    public static readonly IReadOnlyList<string> AllAlgorithms =
    [
        "HS256", "HS384", "HS512",
        "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512",
    ];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly Lazy<AsymmetricTestKey> LazyRsa = new(() => NewRsa());
    private static readonly Lazy<AsymmetricTestKey> LazyEcP256 = new(() => NewEc(ECCurve.NamedCurves.nistP256));
    private static readonly Lazy<AsymmetricTestKey> LazyEcP384 = new(() => NewEc(ECCurve.NamedCurves.nistP384));
    private static readonly Lazy<AsymmetricTestKey> LazyEcP521 = new(() => NewEc(ECCurve.NamedCurves.nistP521));

    /// <summary>A shared RSA-2048 key (RS*/PS*), generated once per test run.</summary>
    public static AsymmetricTestKey Rsa => LazyRsa.Value;

    /// <summary>A shared EC P-256 key (ES256).</summary>
    public static AsymmetricTestKey EcP256 => LazyEcP256.Value;

    /// <summary>A shared EC P-384 key (ES384).</summary>
    public static AsymmetricTestKey EcP384 => LazyEcP384.Value;

    /// <summary>A shared EC P-521 key (ES512).</summary>
    public static AsymmetricTestKey EcP521 => LazyEcP521.Value;

    /// <summary>The shared asymmetric key fitting <paramref name="alg"/> (RS*/PS* → RSA, ES256/384/512 → P-256/384/521).</summary>
    public static AsymmetricTestKey KeyFor(string alg) => alg switch
    {
        "RS256" or "RS384" or "RS512" or "PS256" or "PS384" or "PS512" => Rsa,
        "ES256" => EcP256,
        "ES384" => EcP384,
        "ES512" => EcP521,
        _ => throw new ArgumentException($"No asymmetric test key for {alg}.", nameof(alg)),
    };

    /// <summary>A fresh RSA key (e.g. a second partner key, or an attacker's key).</summary>
    public static AsymmetricTestKey NewRsa(int bits = 2048)
    {
        var rsa = RSA.Create(bits);
        return new AsymmetricTestKey(new RsaSecurityKey(rsa), rsa.ExportSubjectPublicKeyInfoPem());
    }

    /// <summary>A fresh EC key on the curve fitting <paramref name="alg"/> (ES256, ES384 or ES512).</summary>
    public static AsymmetricTestKey NewEc(string alg) => NewEc(alg switch
    {
        "ES256" => ECCurve.NamedCurves.nistP256,
        "ES384" => ECCurve.NamedCurves.nistP384,
        "ES512" => ECCurve.NamedCurves.nistP521,
        _ => throw new ArgumentException($"Not an ES algorithm: {alg}.", nameof(alg)),
    });

    /// <summary>A fresh EC key on <paramref name="curve"/>.</summary>
    public static AsymmetricTestKey NewEc(ECCurve curve)
    {
        var ec = ECDsa.Create(curve);
        return new AsymmetricTestKey(new ECDsaSecurityKey(ec), ec.ExportSubjectPublicKeyInfoPem());
    }

    /// <summary>An HMAC key from the UTF-8 bytes of <paramref name="secret"/> (as the service reads secrets).</summary>
    public static SymmetricSecurityKey HmacKey(string secret) => new(Encoding.UTF8.GetBytes(secret));

    /// <summary>A new unique <c>jti</c>.</summary>
    public static string NewJti() => Guid.CreateVersion7().ToString("N");

    /// <summary>
    /// A claims dictionary with <c>sub</c> and <c>campaignId</c> (a string or an integer), plus the optional
    /// registered claims given (times as NumericDate seconds). Add more with the indexer, e.g.
    /// <c>claims["limit"] = new { nb = 3 }</c>.
    /// </summary>
    public static Dictionary<string, object?> Claims(
        string sub,
        object campaignId,
        string? jti = null,
        DateTimeOffset? iat = null,
        DateTimeOffset? exp = null,
        DateTimeOffset? nbf = null,
        string? iss = null,
        object? aud = null)
    {
        var claims = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["sub"] = sub,
            ["campaignId"] = campaignId,
        };
        if (jti is not null) claims["jti"] = jti;
        if (iat is { } i) claims["iat"] = i.ToUnixTimeSeconds();
        if (exp is { } e) claims["exp"] = e.ToUnixTimeSeconds();
        if (nbf is { } n) claims["nbf"] = n.ToUnixTimeSeconds();
        if (iss is not null) claims["iss"] = iss;
        if (aud is not null) claims["aud"] = aud;
        return claims;
    }

    /// <summary>An HS256 token signed with the UTF-8 bytes of <paramref name="secret"/>.</summary>
    public static string Hs256(string secret, object payload, string? kid = null) => Hmac("HS256", secret, payload, kid);

    /// <summary>An HS256/384/512 token signed with the UTF-8 bytes of <paramref name="secret"/> (any length).</summary>
    public static string Hmac(string alg, string secret, object payload, string? kid = null) =>
        Sign(alg, HmacKey(secret), payload, kid is null ? null : new Dictionary<string, object?> { ["kid"] = kid });

    /// <summary>A token signed with the shared test key fitting <paramref name="alg"/> (RS*, PS*, ES*).</summary>
    public static string Asymmetric(string alg, object payload, string? kid = null) =>
        Sign(alg, KeyFor(alg).SigningKey, payload, kid is null ? null : new Dictionary<string, object?> { ["kid"] = kid });

    /// <summary>
    /// A compact JWS signed with <paramref name="key"/> using <paramref name="alg"/> (HS*, RS*, PS*, ES*).
    /// <paramref name="payload"/>: raw JSON string or an object to serialise. <paramref name="header"/>: extra or
    /// overriding header members (anonymous object or dictionary), e.g. <c>new { kid = "k1", crit = new[] { "x" } }</c>.
    /// </summary>
    public static string Sign(string alg, SecurityKey key, object payload, object? header = null) =>
        SignRaw(alg, key, HeaderJson(alg, header), PayloadJson(payload));

    /// <summary>A compact JWS whose header and payload are exactly the given JSON texts, signed with <paramref name="alg"/>.</summary>
    public static string SignRaw(string alg, SecurityKey key, string headerJson, string payloadJson) =>
        SignEncoded(alg, key, Base64Url(headerJson), Base64Url(payloadJson));

    /// <summary>
    /// A token whose first two parts are exactly the given (already encoded, possibly non-canonical or invalid)
    /// strings, with a correct signature over <c>encodedHeader.encodedPayload</c>.
    /// </summary>
    public static string SignEncoded(string alg, SecurityKey key, string encodedHeader, string encodedPayload)
    {
        var signingInput = encodedHeader + "." + encodedPayload;
        var signature = Signature(alg, key, Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url(signature);
    }

    /// <summary>An unsigned token: header <c>{"alg": alg}</c> (default <c>none</c>, any casing) and an empty signature.</summary>
    public static string Unsigned(object payload, string alg = "none") =>
        Base64Url(HeaderJson(alg, null)) + "." + Base64Url(PayloadJson(payload)) + ".";

    /// <summary>The token with its payload replaced by <paramref name="payload"/>, keeping header and signature.</summary>
    public static string WithPayload(string token, object payload)
    {
        var parts = token.Split('.');
        parts[1] = Base64Url(PayloadJson(payload));
        return string.Join('.', parts);
    }

    /// <summary>The token with its header replaced by <paramref name="headerJson"/>, keeping payload and signature.</summary>
    public static string WithHeader(string token, string headerJson)
    {
        var parts = token.Split('.');
        parts[0] = Base64Url(headerJson);
        return string.Join('.', parts);
    }

    /// <summary>The token without its signature (<c>header.payload.</c>).</summary>
    public static string StripSignature(string token) => token[..(token.LastIndexOf('.') + 1)];

    /// <summary>A five-part string shaped like a compact JWE (not decryptable).</summary>
    public static string JweShaped() =>
        Base64Url("""{"alg":"RSA-OAEP-256","enc":"A256GCM"}""") + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA";

    /// <summary>The decoded payload JSON of a compact token.</summary>
    public static string DecodePayload(string token) =>
        Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1]));

    /// <summary>Unpadded base64url of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string Base64Url(string text) => Base64Url(Encoding.UTF8.GetBytes(text));

    /// <summary>Unpadded base64url of <paramref name="bytes"/>.</summary>
    public static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>The JSON text of a payload: a string is used verbatim, anything else is serialised.</summary>
    public static string PayloadJson(object payload) => payload switch
    {
        string raw => raw,
        JsonElement element => element.GetRawText(),
        _ => JsonSerializer.Serialize(payload, payload.GetType(), JsonOptions),
    };

    private static string HeaderJson(string alg, object? header)
    {
        var members = new List<KeyValuePair<string, JsonElement>>
        {
            new("alg", JsonSerializer.SerializeToElement(alg)),
            new("typ", JsonSerializer.SerializeToElement("JWT")),
        };
        if (header is not null)
        {
            var extra = header as JsonElement? ?? JsonSerializer.SerializeToElement(header, header.GetType(), JsonOptions);
            foreach (var property in extra.EnumerateObject())
            {
                var index = members.FindIndex(m => m.Key == property.Name);
                var member = new KeyValuePair<string, JsonElement>(property.Name, property.Value);
                if (index >= 0) members[index] = member;
                else members.Add(member);
            }
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JsonOptions.Encoder }))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in members)
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static byte[] Signature(string alg, SecurityKey key, byte[] data)
    {
        var hash = alg[2..] switch
        {
            "256" => HashAlgorithmName.SHA256,
            "384" => HashAlgorithmName.SHA384,
            "512" => HashAlgorithmName.SHA512,
            _ => throw new ArgumentException($"Unsupported algorithm {alg}.", nameof(alg)),
        };
        switch (alg[..2], key)
        {
            case ("HS", SymmetricSecurityKey symmetric):
                return CryptographicOperations.HmacData(hash, symmetric.Key, data);
            case ("RS" or "PS", RsaSecurityKey rsaKey):
                var rsa = rsaKey.Rsa ?? RSA.Create(rsaKey.Parameters);
                return rsa.SignData(data, hash, alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
            case ("ES", ECDsaSecurityKey ecKey):
                return ecKey.ECDsa.SignData(data, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            default:
                throw new ArgumentException($"Key {key.GetType().Name} cannot sign {alg}.", nameof(key));
        }
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Participation.Api.Auth;

/// <summary>The JWE key management algorithms the service decrypts (DESIGN.md): the key pairs it generates.</summary>
public enum JweKeyAlgorithm
{
    /// <summary><c>RSA-OAEP-256</c>: the content key encrypted with RSAES-OAEP (SHA-256, MGF1 SHA-256).</summary>
    RsaOaep256,

    /// <summary><c>ECDH-ES</c> (direct key agreement on P-256, Concat KDF): the content key derived, no encrypted key.</summary>
    EcdhEs,
}

/// <summary>The JWE content encryption algorithms accepted.</summary>
internal enum JweContentEncryption
{
    A256Gcm,
    A128CbcHs256,
}

/// <summary>One of the account's private decryption keys: an <see cref="RSA"/> or an <see cref="ECDiffieHellman"/> (P-256).</summary>
public sealed record DecryptionKey(string Kid, JweKeyAlgorithm Algorithm, AsymmetricAlgorithm PrivateKey);

/// <summary>Where the validator finds an account's decryption keys (the generated key pairs, decrypted from rest).</summary>
public interface IDecryptionKeySource
{
    /// <summary>
    /// With a <paramref name="kid"/>: that key only, if it is the account's and of this algorithm. Without: the
    /// account's newest two keys of this algorithm (current and previous, during a rotation).
    /// </summary>
    ValueTask<IReadOnlyList<DecryptionKey>> FindAsync(string accountId, string? kid, JweKeyAlgorithm algorithm, CancellationToken ct);
}

/// <summary>A parsed compact JWE: the protected header's parameters and the four other parts, decoded.</summary>
internal sealed class JweToken
{
    public JweKeyAlgorithm Algorithm { get; init; }
    public JweContentEncryption Encryption { get; init; }
    public string? Kid { get; init; }

    /// <summary>The ephemeral public key of ECDH-ES (<c>epk</c>): a P-256 point, or null if absent or not one.</summary>
    public ECParameters? EphemeralKey { get; init; }

    public byte[] PartyUInfo { get; init; } = [];
    public byte[] PartyVInfo { get; init; } = [];

    /// <summary>The additional authenticated data: the ASCII of the encoded protected header.</summary>
    public required byte[] Aad { get; init; }

    public required byte[] EncryptedKey { get; init; }
    public required byte[] Iv { get; init; }
    public required byte[] Ciphertext { get; init; }
    public required byte[] Tag { get; init; }
}

/// <summary>
/// Decryption of compact JWE secure tokens (RFC 7516) with .NET's own primitives: RSA-OAEP-256 or ECDH-ES
/// (P-256) for the content key, A256GCM or A128CBC-HS256 for the content.
/// <para>
/// Checks that only look at what the sender wrote (the five parts' encoding, the header's JSON, <c>alg</c>,
/// <c>enc</c>, lengths) come first and may say what is wrong: a broken compact form (parts, base64url, header JSON,
/// duplicated member, <c>kid</c> type) is <c>token_malformed</c>; an envelope the service does not open (another
/// <c>alg</c> or <c>enc</c>, <c>zip</c>, <c>crit</c>) and a content that is not a signed token (bare claims, a JWE
/// in the JWE) are <c>token_decryption_failed</c>, each with its own fixed detail. Past them, every failure is one answer
/// (<see cref="Errors.Failed"/>) after the same steps: a content key that cannot be recovered (OAEP decoding error,
/// invalid ephemeral key) is replaced by a random one and the content decryption runs anyway, failing its
/// authentication check like a tampered ciphertext would (RFC 7516 §11.5); A128CBC-HS256 checks the MAC in constant
/// time before decrypting, so a padding error is never distinguishable from a MAC error.
/// </para>
/// </summary>
internal static class Jwe
{
    public const string RsaOaep256Name = "RSA-OAEP-256";
    public const string EcdhEsName = "ECDH-ES";
    public const int ContentKeyBytes = 32;

    // Known protected header members (indexes into HeaderNames).
    private const int HAlg = 0, HEnc = 1, HKid = 2, HEpk = 3, HApu = 4, HApv = 5, HZip = 6, HCrit = 7;

    private static readonly byte[][] HeaderNames =
    [
        "alg"u8.ToArray(), "enc"u8.ToArray(), "kid"u8.ToArray(), "epk"u8.ToArray(),
        "apu"u8.ToArray(), "apv"u8.ToArray(), "zip"u8.ToArray(), "crit"u8.ToArray(),
    ];

    public static string Name(JweKeyAlgorithm algorithm) => algorithm == JweKeyAlgorithm.EcdhEs ? EcdhEsName : RsaOaep256Name;

    public static bool TryParseAlgorithm(string? name, out JweKeyAlgorithm algorithm)
    {
        algorithm = name == EcdhEsName ? JweKeyAlgorithm.EcdhEs : JweKeyAlgorithm.RsaOaep256;
        return name is RsaOaep256Name or EcdhEsName;
    }

    /// <summary>Decodes the five parts and reads the protected header strictly; the error is null on success.</summary>
    public static TokenError? TryParse(string token, out JweToken? parsed)
    {
        parsed = null;
        var parts = token.Split('.');
        if (parts.Length != 5)
        {
            return Errors.NotCompact;
        }

        var decoded = new byte[5][];
        for (var i = 0; i < 5; i++)
        {
            var buffer = new byte[Base64UrlStrict.MaxDecodedLength(parts[i].Length)];
            if (!Base64UrlStrict.TryDecode(parts[i], buffer, out var written))
            {
                return Errors.NotBase64Url;
            }

            decoded[i] = written == buffer.Length ? buffer : buffer[..written];
        }

        var header = decoded[0];
        Span<JsonMember> members = stackalloc JsonMember[HeaderNames.Length];
        switch (StrictJson.ScanObject(header, HeaderNames, members))
        {
            case JsonScanResult.DuplicateMember:
                return Errors.HeaderDuplicate;
            case JsonScanResult.Invalid:
                return Errors.HeaderNotJson;
        }

        if (members[HAlg].Type != JsonTokenType.String || members[HEnc].Type != JsonTokenType.String)
        {
            return Errors.AlgOrEncMissing;
        }

        if (members[HCrit].Present)
        {
            return Errors.CritNotSupported;
        }

        string? kid = null;
        if (members[HKid].Present)
        {
            if (members[HKid].Type != JsonTokenType.String)
            {
                return Errors.KidInvalid;
            }

            kid = JsonString(header, members[HKid]);
            if (Encoding.UTF8.GetByteCount(kid) > SecureTokenValidator.MaxIdentifierBytes)
            {
                return Errors.KidInvalid;
            }
        }

        if (!TryParseAlgorithm(JsonString(header, members[HAlg]), out var algorithm))
        {
            return Errors.NotSupported;
        }

        JweContentEncryption encryption;
        switch (JsonString(header, members[HEnc]))
        {
            case "A256GCM":
                encryption = JweContentEncryption.A256Gcm;
                break;
            case "A128CBC-HS256":
                encryption = JweContentEncryption.A128CbcHs256;
                break;
            default:
                return Errors.NotSupported;
        }

        if (members[HZip].Present)
        {
            return Errors.NotSupported;
        }

        // Lengths fixed by the algorithms (public facts, checked before any key is used).
        var ivBytes = encryption == JweContentEncryption.A256Gcm ? 12 : 16;
        if (decoded[2].Length != ivBytes || decoded[4].Length != 16 || decoded[3].Length == 0
            || (algorithm == JweKeyAlgorithm.EcdhEs && decoded[1].Length != 0)
            || (algorithm == JweKeyAlgorithm.RsaOaep256 && decoded[1].Length == 0))
        {
            return Errors.Failed;
        }

        var apu = members[HApu].Present ? OptionalBytes(header, members[HApu]) : [];
        var apv = members[HApv].Present ? OptionalBytes(header, members[HApv]) : [];
        if (apu is null || apv is null)
        {
            return Errors.Failed;
        }

        parsed = new JweToken
        {
            Algorithm = algorithm,
            Encryption = encryption,
            Kid = kid,
            EphemeralKey = algorithm == JweKeyAlgorithm.EcdhEs && members[HEpk].Type == JsonTokenType.StartObject
                ? EphemeralKey(members[HEpk].Slice(header))
                : null,
            PartyUInfo = apu,
            PartyVInfo = apv,
            Aad = Encoding.ASCII.GetBytes(parts[0]),
            EncryptedKey = decoded[1],
            Iv = decoded[2],
            Ciphertext = decoded[3],
            Tag = decoded[4],
        };
        return null;
    }

    /// <summary>The plaintext, decrypted with the first candidate key that opens it, or null (one failure for every cause).</summary>
    public static byte[]? Decrypt(JweToken token, IReadOnlyList<DecryptionKey> candidates)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(candidates);
        foreach (var key in candidates)
        {
            if (key.Algorithm != token.Algorithm)
            {
                continue;
            }

            var contentKey = ContentKeyOrRandom(token, key);
            try
            {
                if (DecryptContent(token, contentKey) is { } plaintext)
                {
                    return plaintext;
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(contentKey);
            }
        }

        return null;
    }

    /// <summary>
    /// The Concat KDF of RFC 7518 §4.6.2 (NIST SP 800-56A, SHA-256) for ECDH-ES: <paramref name="keyBits"/> bits derived
    /// from the shared secret <paramref name="z"/>; AlgorithmID is the <c>enc</c> value for direct key agreement.
    /// </summary>
    public static byte[] ConcatKdf(ReadOnlySpan<byte> z, int keyBits, string algorithmId, ReadOnlySpan<byte> partyUInfo, ReadOnlySpan<byte> partyVInfo)
    {
        var algorithmIdBytes = Encoding.ASCII.GetBytes(algorithmId);
        var input = new byte[4 + z.Length + 4 + algorithmIdBytes.Length + 4 + partyUInfo.Length + 4 + partyVInfo.Length + 4];
        var output = new byte[(keyBits + 255) / 256 * SHA256.HashSizeInBytes];
        try
        {
            var span = input.AsSpan();
            var at = 4;
            z.CopyTo(span[at..]);
            at += z.Length;
            at = WriteLengthPrefixed(span, at, algorithmIdBytes);
            at = WriteLengthPrefixed(span, at, partyUInfo);
            at = WriteLengthPrefixed(span, at, partyVInfo);
            BinaryPrimitives.WriteInt32BigEndian(span[at..], keyBits);
            for (var round = 1; round * SHA256.HashSizeInBytes <= output.Length; round++)
            {
                BinaryPrimitives.WriteInt32BigEndian(span, round);
                SHA256.HashData(input, output.AsSpan((round - 1) * SHA256.HashSizeInBytes));
            }

            var key = output.AsSpan(0, keyBits / 8).ToArray();
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input);
            CryptographicOperations.ZeroMemory(output);
        }
    }

    private static int WriteLengthPrefixed(Span<byte> span, int at, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt32BigEndian(span[at..], value.Length);
        value.CopyTo(span[(at + 4)..]);
        return at + 4 + value.Length;
    }

    /// <summary>The content key the sender meant, or, whenever it cannot be recovered, a random one (RFC 7516 §11.5).</summary>
    private static byte[] ContentKeyOrRandom(JweToken token, DecryptionKey key)
    {
        byte[]? contentKey = null;
        try
        {
            contentKey = token.Algorithm switch
            {
                JweKeyAlgorithm.RsaOaep256 when key.PrivateKey is RSA rsa => UnwrapRsa(token, rsa),
                JweKeyAlgorithm.EcdhEs when key.PrivateKey is ECDiffieHellman ecdh => AgreeEcdh(token, ecdh),
                _ => null,
            };
        }
        catch (CryptographicException)
        {
            contentKey = null;
        }

        if (contentKey is { Length: ContentKeyBytes })
        {
            return contentKey;
        }

        if (contentKey is not null)
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }

        return RandomNumberGenerator.GetBytes(ContentKeyBytes);
    }

    private static byte[]? UnwrapRsa(JweToken token, RSA rsa) =>
        token.EncryptedKey.Length == rsa.KeySize / 8 ? rsa.Decrypt(token.EncryptedKey, RSAEncryptionPadding.OaepSHA256) : null;

    private static byte[]? AgreeEcdh(JweToken token, ECDiffieHellman ecdh)
    {
        if (token.EphemeralKey is not { } ephemeral)
        {
            return null;
        }

        // Importing checks that the point is on the curve (no invalid-curve attack).
        using var peer = ECDiffieHellman.Create(ephemeral);
        using var peerKey = peer.PublicKey;
        var z = ecdh.DeriveRawSecretAgreement(peerKey);
        try
        {
            var encName = token.Encryption == JweContentEncryption.A256Gcm ? "A256GCM" : "A128CBC-HS256";
            return ConcatKdf(z, ContentKeyBytes * 8, encName, token.PartyUInfo, token.PartyVInfo);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(z);
        }
    }

    private static byte[]? DecryptContent(JweToken token, byte[] contentKey)
    {
        try
        {
            if (token.Encryption == JweContentEncryption.A256Gcm)
            {
                var plaintext = new byte[token.Ciphertext.Length];
                using var gcm = new AesGcm(contentKey, token.Tag.Length);
                gcm.Decrypt(token.Iv, token.Ciphertext, token.Tag, plaintext, token.Aad);
                return plaintext;
            }

            // A128CBC-HS256 (RFC 7518 §5.2.2): MAC key first half, encryption key second half; the tag is the first
            // 16 bytes of HMAC-SHA-256(AAD || IV || ciphertext || AAD length in bits, 64-bit big-endian).
            var macInput = new byte[token.Aad.Length + token.Iv.Length + token.Ciphertext.Length + 8];
            token.Aad.CopyTo(macInput, 0);
            token.Iv.CopyTo(macInput, token.Aad.Length);
            token.Ciphertext.CopyTo(macInput, token.Aad.Length + token.Iv.Length);
            BinaryPrimitives.WriteInt64BigEndian(macInput.AsSpan(macInput.Length - 8), (long)token.Aad.Length * 8);
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(contentKey.AsSpan(0, 16), macInput, mac);
            var authentic = CryptographicOperations.FixedTimeEquals(mac[..16], token.Tag);
            CryptographicOperations.ZeroMemory(mac);
            if (!authentic)
            {
                return null;
            }

            using var aes = Aes.Create();
            aes.Key = contentKey.AsSpan(16, 16).ToArray();
            return aes.DecryptCbc(token.Ciphertext, token.Iv, PaddingMode.PKCS7);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static string JsonString(ReadOnlySpan<byte> header, JsonMember member)
    {
        var reader = member.Reader(header);
        return reader.GetString()!;
    }

    private static byte[]? OptionalBytes(ReadOnlySpan<byte> header, JsonMember member)
    {
        if (member.Type != JsonTokenType.String)
        {
            return null;
        }

        var text = JsonString(header, member);
        var buffer = new byte[Base64UrlStrict.MaxDecodedLength(text.Length)];
        return Base64UrlStrict.TryDecode(text, buffer, out var written) ? buffer[..written] : null;
    }

    /// <summary>The <c>epk</c> object as a P-256 public key, or null when it is not one.</summary>
    private static ECParameters? EphemeralKey(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            string? Member(string name) =>
                root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

            if (Member("kty") != "EC" || Member("crv") != "P-256" || Member("x") is not { } x || Member("y") is not { } y)
            {
                return null;
            }

            var xBytes = new byte[Base64UrlStrict.MaxDecodedLength(x.Length)];
            var yBytes = new byte[Base64UrlStrict.MaxDecodedLength(y.Length)];
            if (!Base64UrlStrict.TryDecode(x, xBytes, out var xLength) || !Base64UrlStrict.TryDecode(y, yBytes, out var yLength)
                || xLength != 32 || yLength != 32)
            {
                return null;
            }

            return new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = xBytes[..32], Y = yBytes[..32] },
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The refusals of an encrypted token. Details are fixed sentences; none quotes the token.</summary>
    public static class Errors
    {
        public static readonly TokenError NotCompact = new(TokenErrorCodes.Malformed, "The encrypted token is not a compact JWE (five dot-separated parts).");
        public static readonly TokenError NotBase64Url = new(TokenErrorCodes.Malformed, "A part of the encrypted token is not canonical unpadded base64url.");
        public static readonly TokenError HeaderNotJson = new(TokenErrorCodes.Malformed, "The encrypted token's header is not a valid JSON object.");
        public static readonly TokenError HeaderDuplicate = new(TokenErrorCodes.Malformed, "The encrypted token's header has a duplicated member.");
        public static readonly TokenError AlgOrEncMissing = new(TokenErrorCodes.Malformed, "The encrypted token's header has no 'alg' or 'enc' string.");
        public static readonly TokenError CritNotSupported = new(TokenErrorCodes.DecryptionFailed, "The encrypted token's header has a 'crit' member; no JWE extension is supported.");
        public static readonly TokenError KidInvalid = new(TokenErrorCodes.Malformed, "The encrypted token's 'kid' must be a string of at most 256 bytes.");
        public static readonly TokenError NotSupported = new(TokenErrorCodes.DecryptionFailed, "Encrypted tokens must use alg RSA-OAEP-256 or ECDH-ES and enc A256GCM or A128CBC-HS256, without compression.");
        public static readonly TokenError Failed = new(TokenErrorCodes.DecryptionFailed, "The encrypted token could not be decrypted with this account's encryption keys.");
        public static readonly TokenError NotJws = new(TokenErrorCodes.DecryptionFailed, "The encrypted token does not contain a compact JWS (a signed token).");
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Jose;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

/// <summary>
/// Encrypted secure tokens (compact JWE around the partner's JWS), made by an independent implementation (jose-jwt):
/// every alg/enc pair decrypts, the signed token inside is verified as usual, and every way of breaking the
/// envelope gets one answer that tells nothing about which step failed.
/// </summary>
public sealed class EncryptedTokenTests
{
    private const string Account = "acct-1";

    private static readonly RSA RsaKey = RSA.Create(2048);
    private static readonly ECDiffieHellman EcKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
    private static readonly RSA OtherRsaKey = RSA.Create(2048);

    private readonly InMemoryDecryptionKeys keys = new();
    private readonly ValidatorHarness harness;
    private readonly SecureTokenSettings optional = ValidatorHarness.Hmac() with { Encryption = TokenEncryption.Optional };

    public EncryptedTokenTests()
    {
        keys.Add(Account, new DecryptionKey("rsa-1", JweKeyAlgorithm.RsaOaep256, RsaKey));
        keys.Add(Account, new DecryptionKey("ec-1", JweKeyAlgorithm.EcdhEs, EcKey));
        keys.Add("another-account", new DecryptionKey("rsa-other", JweKeyAlgorithm.RsaOaep256, OtherRsaKey));
        harness = new ValidatorHarness(keys);
    }

    public static TheoryData<string, string> Pairs => new()
    {
        { "RSA-OAEP-256", "A256GCM" },
        { "RSA-OAEP-256", "A128CBC-HS256" },
        { "ECDH-ES", "A256GCM" },
        { "ECDH-ES", "A128CBC-HS256" },
    };

    private static string Jws(object? claims = null) =>
        JWT.Encode(TestTokens.PayloadJson(claims ?? ValidatorHarness.ValidClaims()), Encoding.UTF8.GetBytes(TestTokens.Secret), Jose.JwsAlgorithm.HS256);

    /// <summary>Encrypts like a partner: to the public part of the account's key, kid in the header unless null.</summary>
    private static string Encrypt(string payload, string alg, string enc, string? kid = "default", RSA? rsa = null)
    {
        var jweAlg = alg == "ECDH-ES" ? JweAlgorithm.ECDH_ES : JweAlgorithm.RSA_OAEP_256;
        var jweEnc = enc == "A256GCM" ? JweEncryption.A256GCM : JweEncryption.A128CBC_HS256;
        object publicKey = alg == "ECDH-ES"
            ? ECDiffieHellman.Create(EcKey.ExportParameters(false))
            : RSA.Create((rsa ?? RsaKey).ExportParameters(false));
        kid = kid == "default" ? (alg == "ECDH-ES" ? "ec-1" : "rsa-1") : kid;
        var headers = kid is null ? null : new Dictionary<string, object> { ["kid"] = kid };
        return JWT.Encode(payload, publicKey, jweAlg, jweEnc, extraHeaders: headers);
    }

    private static string FlipBit(string token, int part, int index = 0)
    {
        var parts = token.Split('.');
        var bytes = Base64Url.Decode(parts[part]);
        bytes[index % bytes.Length] ^= 0x01;
        parts[part] = Base64Url.Encode(bytes);
        return string.Join('.', parts);
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task Each_algorithm_pair_is_decrypted_then_verified(string alg, string enc)
    {
        var verified = (await harness.Validate(Encrypt(Jws(), alg, enc), optional)).ShouldBeAccepted();
        verified.Sub.ShouldBe("alice");
        verified.CampaignId.ShouldBe("camp-1");

        // Without a kid: the account's newest keys of the token's alg are tried.
        (await harness.Validate(Encrypt(Jws(), alg, enc, kid: null), optional)).ShouldBeAccepted();
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task The_replay_key_comes_from_the_signed_token_inside(string alg, string enc)
    {
        var jws = Jws();
        var first = Encrypt(jws, alg, enc);
        var second = Encrypt(jws, alg, enc);
        first.ShouldNotBe(second);

        var plain = (await harness.Validate(jws, optional)).ShouldBeAccepted();
        (await harness.Validate(first, optional)).ShouldBeAccepted().ReplayKey.ShouldBe(plain.ReplayKey);
        (await harness.Validate(second, optional)).ShouldBeAccepted().ReplayKey.ShouldBe(plain.ReplayKey);
    }

    public static TheoryData<string, string, int> Tampering()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var (alg, enc) in new[] { ("RSA-OAEP-256", "A256GCM"), ("RSA-OAEP-256", "A128CBC-HS256"), ("ECDH-ES", "A256GCM"), ("ECDH-ES", "A128CBC-HS256") })
        {
            foreach (var part in alg == "ECDH-ES" ? new[] { 2, 3, 4 } : [1, 2, 3, 4])
            {
                data.Add(alg, enc, part);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task Any_tampered_part_is_one_and_the_same_failure(string alg, string enc, int part)
    {
        var token = Encrypt(Jws(), alg, enc);
        foreach (var index in new[] { 0, 5, 11, 15 })
        {
            var error = (await harness.Validate(FlipBit(token, part, index), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed);
            error.ShouldBe(Jwe.Errors.Failed);
        }
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task A_changed_header_fails_authentication(string alg, string enc)
    {
        var token = Encrypt(Jws(), alg, enc);
        var parts = token.Split('.');
        var header = Encoding.UTF8.GetString(Base64Url.Decode(parts[0]));
        parts[0] = TestTokens.Base64Url(header[..^1] + ",\"x\":1}");
        (await harness.Validate(string.Join('.', parts), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.Failed);
    }

    [Fact]
    public async Task A_padding_error_behind_a_valid_mac_looks_like_a_mac_error()
    {
        // Built by hand (RFC 7516 A.3 steps): a correct token first, to prove the construction.
        (await harness.Validate(CbcToken(Encoding.ASCII.GetBytes(Jws()), pad: true), optional)).ShouldBeAccepted();

        // The same construction with invalid padding but a correct MAC over it.
        var badPadding = CbcToken(new byte[32], pad: false);
        var badMac = FlipBit(CbcToken(Encoding.ASCII.GetBytes(Jws()), pad: true), 4);
        var paddingError = (await harness.Validate(badPadding, optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed);
        var macError = (await harness.Validate(badMac, optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed);
        paddingError.ShouldBe(macError);
    }

    [Fact]
    public async Task An_oaep_error_looks_like_a_mac_error()
    {
        var token = Encrypt(Jws(), "RSA-OAEP-256", "A256GCM");
        var parts = token.Split('.');
        parts[1] = Base64Url.Encode(RandomNumberGenerator.GetBytes(256)); // not OAEP-decodable under the key
        var oaepError = (await harness.Validate(string.Join('.', parts), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed);
        var macError = (await harness.Validate(FlipBit(token, 4), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed);
        oaepError.ShouldBe(macError);
    }

    [Fact]
    public async Task Keys_of_another_account_an_unknown_kid_or_another_algorithm_fail_the_same_way()
    {
        var jws = Jws();
        string[] tokens =
        [
            Encrypt(jws, "RSA-OAEP-256", "A256GCM", kid: "rsa-other", rsa: OtherRsaKey),
            Encrypt(jws, "RSA-OAEP-256", "A256GCM", kid: null, rsa: OtherRsaKey),
            Encrypt(jws, "RSA-OAEP-256", "A256GCM", kid: "no-such-key"),
            Encrypt(jws, "RSA-OAEP-256", "A256GCM", kid: "ec-1"),
            Encrypt(jws, "ECDH-ES", "A256GCM", kid: "rsa-1"),
        ];
        foreach (var token in tokens)
        {
            (await harness.Validate(token, optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.Failed);
        }
    }

    [Fact]
    public async Task An_ephemeral_key_off_the_curve_or_missing_fails()
    {
        var token = Encrypt(Jws(), "ECDH-ES", "A256GCM");
        var parts = token.Split('.');
        var header = Encoding.UTF8.GetString(Base64Url.Decode(parts[0]));
        var y = header.Split("\"y\":\"")[1].Split('"')[0];
        var yBytes = Base64Url.Decode(y);
        yBytes[^1] ^= 0x01;

        string[] headers =
        [
            header.Replace(y, Base64Url.Encode(yBytes), StringComparison.Ordinal),
            header.Replace("\"crv\":\"P-256\"", "\"crv\":\"P-384\"", StringComparison.Ordinal),
            """{"alg":"ECDH-ES","enc":"A256GCM","kid":"ec-1"}""",
            """{"alg":"ECDH-ES","enc":"A256GCM","kid":"ec-1","epk":"x"}""",
        ];
        foreach (var changed in headers)
        {
            parts[0] = TestTokens.Base64Url(changed);
            (await harness.Validate(string.Join('.', parts), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.Failed);
        }
    }

    [Theory]
    [InlineData("""{"alg":"RSA-OAEP","enc":"A256GCM"}""")]
    [InlineData("""{"alg":"RSA1_5","enc":"A256GCM"}""")]
    [InlineData("""{"alg":"dir","enc":"A256GCM"}""")]
    [InlineData("""{"alg":"ECDH-ES+A256KW","enc":"A256GCM"}""")]
    [InlineData("""{"alg":"RSA-OAEP-256","enc":"A128GCM"}""")]
    [InlineData("""{"alg":"RSA-OAEP-256","enc":"A256CBC-HS512"}""")]
    [InlineData("""{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}""")]
    public async Task Unsupported_algorithms_and_compression_are_refused(string header)
    {
        var token = TestTokens.Base64Url(header) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA";
        (await harness.Validate(token, optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.NotSupported);
    }

    [Theory]
    [InlineData("""{"alg":"RSA-OAEP-256","enc":"A256GCM","crit":["exp"]}""")]
    [InlineData("""{"alg":"RSA-OAEP-256","enc":"A256GCM","crit":[]}""")]
    [InlineData("""{"alg":"ECDH-ES","enc":"A128CBC-HS256","crit":["b64"],"b64":false}""")]
    public async Task A_crit_header_is_refused_as_an_envelope_the_service_does_not_open(string header)
    {
        var token = TestTokens.Base64Url(header) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA";
        (await harness.Validate(token, optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.CritNotSupported);
    }

    [Theory]
    [InlineData("""{"alg":"RSA-OAEP-256","enc":"A256GCM","alg":"RSA-OAEP-256"}""")]
    [InlineData("""{"alg":"RSA-OAEP-256"}""")]
    [InlineData("""{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":7}""")]
    [InlineData("""not json""")]
    public async Task A_header_that_breaks_the_strict_rules_is_malformed(string header)
    {
        var token = TestTokens.Base64Url(header) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA";
        (await harness.Validate(token, optional)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task Parts_that_are_not_canonical_base64url_are_malformed()
    {
        var token = Encrypt(Jws(), "RSA-OAEP-256", "A256GCM");
        var parts = token.Split('.');
        parts[3] += "=";
        (await harness.Validate(string.Join('.', parts), optional)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task The_accounts_encryption_policy_decides_which_forms_are_accepted()
    {
        var jws = Jws();
        var jwe = Encrypt(jws, "RSA-OAEP-256", "A256GCM");

        (await harness.Validate(jwe, optional with { Encryption = TokenEncryption.None })).ShouldBeRefused(TokenErrorCodes.DecryptionFailed)
            .Detail.ShouldBe("This account does not accept encrypted tokens.");
        (await harness.Validate(jws, optional with { Encryption = TokenEncryption.Required })).ShouldBeRefused(TokenErrorCodes.DecryptionFailed)
            .Detail.ShouldBe("This account requires encrypted tokens.");
        (await harness.Validate(jwe, optional with { Encryption = TokenEncryption.Required })).ShouldBeAccepted();
        (await harness.Validate(jws, optional)).ShouldBeAccepted();
        (await harness.Validate(jwe, optional)).ShouldBeAccepted();
    }

    [Fact]
    public async Task The_content_must_be_a_signed_token()
    {
        var nested = Encrypt(Encrypt(Jws(), "RSA-OAEP-256", "A256GCM"), "RSA-OAEP-256", "A256GCM");
        var claimsOnly = TestTokens.PayloadJson(ValidatorHarness.ValidClaims());
        (await harness.Validate(Encrypt("hello", "RSA-OAEP-256", "A256GCM"), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.NotJws);
        (await harness.Validate(Encrypt(claimsOnly, "ECDH-ES", "A128CBC-HS256"), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.NotJws);
        (await harness.Validate(nested, optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.NotJws);
        (await harness.Validate(Encrypt("é.é.é", "ECDH-ES", "A256GCM"), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.NotJws);
    }

    [Fact]
    public async Task The_signed_token_inside_gets_its_usual_codes()
    {
        var forged = JWT.Encode(TestTokens.PayloadJson(ValidatorHarness.ValidClaims()), Encoding.UTF8.GetBytes(TestTokens.Secret + "-not-it"), Jose.JwsAlgorithm.HS256);
        (await harness.Validate(Encrypt(forged, "ECDH-ES", "A128CBC-HS256"), optional)).ShouldBeRefused(TokenErrorCodes.InvalidSignature);

        var expired = Jws(TestTokens.Claims("alice", "camp-1", iat: ValidatorHarness.Now.AddHours(-2), exp: ValidatorHarness.Now.AddHours(-1)));
        (await harness.Validate(Encrypt(expired, "RSA-OAEP-256", "A128CBC-HS256"), optional)).ShouldBeRefused(TokenErrorCodes.Expired);

        var unsigned = TestTokens.Unsigned(ValidatorHarness.ValidClaims());
        (await harness.Validate(Encrypt(unsigned, "RSA-OAEP-256", "A256GCM"), optional)).ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task An_encrypted_token_over_8_KiB_is_too_large()
    {
        var claims = ValidatorHarness.ValidClaims();
        claims["custom"] = new { pad = new string('x', 7000) };
        var token = Encrypt(Jws(claims), "RSA-OAEP-256", "A256GCM");
        token.Length.ShouldBeGreaterThan(SecureTokenValidator.MaxTokenBytes);
        (await harness.Validate(token, optional)).ShouldBeRefused(TokenErrorCodes.TooLarge);
    }

    [Fact]
    public async Task Without_any_key_source_an_encrypted_token_cannot_be_decrypted()
    {
        var bare = new ValidatorHarness();
        (await bare.Validate(Encrypt(Jws(), "RSA-OAEP-256", "A256GCM"), optional)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed).ShouldBe(Jwe.Errors.Failed);
    }

    [Fact]
    public void The_concat_kdf_matches_rfc_7518_appendix_c()
    {
        static ECParameters Key(string x, string y, string d) => new()
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64Url.Decode(x), Y = Base64Url.Decode(y) },
            D = Base64Url.Decode(d),
        };

        using var alice = ECDiffieHellman.Create(Key(
            "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0", "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps", "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"));
        using var bob = ECDiffieHellman.Create(Key(
            "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ", "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck", "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"));
        using var alicePublic = alice.PublicKey;
        var z = bob.DeriveRawSecretAgreement(alicePublic);

        var key = Jwe.ConcatKdf(z, 128, "A128GCM", "Alice"u8, "Bob"u8);
        Base64Url.Encode(key).ShouldBe("VqqN6vgjbSBcIijNcacQGg");
    }

    /// <summary>An RSA-OAEP-256 + A128CBC-HS256 token assembled step by step, optionally with invalid padding.</summary>
    private static string CbcToken(byte[] plaintext, bool pad)
    {
        var header = TestTokens.Base64Url("""{"alg":"RSA-OAEP-256","enc":"A128CBC-HS256","kid":"rsa-1"}""");
        var cek = RandomNumberGenerator.GetBytes(32);
        var encryptedKey = RsaKey.Encrypt(cek, RSAEncryptionPadding.OaepSHA256);
        var iv = RandomNumberGenerator.GetBytes(16);
        using var aes = Aes.Create();
        aes.Key = cek[16..];
        var ciphertext = aes.EncryptCbc(plaintext, iv, pad ? PaddingMode.PKCS7 : PaddingMode.None);
        var aad = Encoding.ASCII.GetBytes(header);
        var macInput = new byte[aad.Length + iv.Length + ciphertext.Length + 8];
        aad.CopyTo(macInput, 0);
        iv.CopyTo(macInput, aad.Length);
        ciphertext.CopyTo(macInput, aad.Length + iv.Length);
        BinaryPrimitives.WriteInt64BigEndian(macInput.AsSpan(macInput.Length - 8), aad.Length * 8L);
        var tag = HMACSHA256.HashData(cek[..16], macInput)[..16];
        return string.Join('.', header, Base64Url.Encode(encryptedKey), Base64Url.Encode(iv), Base64Url.Encode(ciphertext), Base64Url.Encode(tag));
    }
}

/// <summary>Decryption keys per account, in memory, with the selection rules of the real store.</summary>
internal sealed class InMemoryDecryptionKeys : IDecryptionKeySource
{
    private readonly List<(string AccountId, DecryptionKey Key)> keys = [];

    public void Add(string accountId, DecryptionKey key) => keys.Add((accountId, key));

    public ValueTask<IReadOnlyList<DecryptionKey>> FindAsync(string accountId, string? kid, JweKeyAlgorithm algorithm, CancellationToken ct)
    {
        var mine = keys.Where(k => k.AccountId == accountId && k.Key.Algorithm == algorithm).Select(k => k.Key);
        IReadOnlyList<DecryptionKey> found = kid is null ? [.. mine.Reverse().Take(2)] : [.. mine.Where(k => k.Kid == kid)];
        return ValueTask.FromResult(found);
    }
}

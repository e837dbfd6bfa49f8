using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

/// <summary>The allow-list, <c>none</c>, algorithm confusion, key selection (kid, rotation, short secrets) and key sources.</summary>
public sealed class AlgorithmAndKeyTests
{
    private const string Secret1 = "secret-one-0123456789-0123456789-0123456789-0123456789-012345678";
    private const string Secret2 = "secret-two-0123456789-0123456789-0123456789-0123456789-012345678";
    private const string Secret3 = "secret-three-123456789-0123456789-0123456789-0123456789-01234567";

    private readonly ValidatorHarness harness = new();

    public static TheoryData<string> Algorithms => [.. TestTokens.AllAlgorithms];

    private static SecureTokenSettings SettingsFor(string alg, IReadOnlyList<string> allowed) =>
        alg.StartsWith("HS", StringComparison.Ordinal)
            ? ValidatorHarness.Hmac([.. allowed])
            : ValidatorHarness.PublicKeys() with { Algorithms = allowed };

    private static string Mint(string alg, object payload, string? kid = null) =>
        alg.StartsWith("HS", StringComparison.Ordinal)
            ? TestTokens.Hmac(alg, TestTokens.Secret, payload, kid)
            : TestTokens.Asymmetric(alg, payload, kid);

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Each_algorithm_is_accepted_with_the_right_key(string alg)
    {
        var token = (await harness.Validate(Mint(alg, ValidatorHarness.ValidClaims()), SettingsFor(alg, [alg]))).ShouldBeAccepted();
        token.Sub.ShouldBe("alice");
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Each_algorithm_is_accepted_with_its_kid(string alg)
    {
        var kid = alg switch
        {
            "ES256" => "ec256",
            "ES384" => "ec384",
            "ES512" => "ec521",
            _ when alg.StartsWith("HS", StringComparison.Ordinal) => "hmac-1",
            _ => "rsa",
        };
        var settings = SettingsFor(alg, [alg]) with { Secrets = [new SharedSecret("hmac-1", TestTokens.Secret)] };
        (await harness.Validate(Mint(alg, ValidatorHarness.ValidClaims(), kid), settings)).ShouldBeAccepted();
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Each_algorithm_is_refused_when_not_in_the_allow_list(string alg)
    {
        var others = TestTokens.AllAlgorithms.Where(a => a != alg).ToArray();
        (await harness.Validate(Mint(alg, ValidatorHarness.ValidClaims()), SettingsFor(alg, others)))
            .ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task The_allow_list_is_case_sensitive()
    {
        var token = TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.ValidClaims());
        (await harness.Validate(token, ValidatorHarness.Hmac("hs256"))).ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);

        var lowerCaseHeader = TestTokens.Sign("HS256", TestTokens.HmacKey(TestTokens.Secret), ValidatorHarness.ValidClaims(), new { alg = "hs256" });
        (await harness.Validate(lowerCaseHeader, ValidatorHarness.Hmac("HS256", "hs256"))).ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);
    }

    [Theory]
    [InlineData("EdDSA")]
    [InlineData("HS1024")]
    [InlineData("RSA-OAEP")]
    [InlineData("")]
    [InlineData("HS256 ")]
    public async Task An_unsupported_algorithm_is_not_allowed(string alg)
    {
        var token = TestTokens.Sign("HS256", TestTokens.HmacKey(TestTokens.Secret), ValidatorHarness.ValidClaims(), new { alg });
        (await harness.Validate(token, ValidatorHarness.Hmac("HS256", alg))).ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    [InlineData("NONE")]
    [InlineData("nOnE")]
    public async Task Alg_none_is_never_accepted(string none)
    {
        var settings = ValidatorHarness.Hmac("HS256", "none", "None", "NONE", "nOnE");
        (await harness.Validate(TestTokens.Unsigned(ValidatorHarness.ValidClaims(), none), settings))
            .ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);

        // Even with a signature part, and with a kid.
        var signed = TestTokens.Sign("HS256", TestTokens.HmacKey(TestTokens.Secret), ValidatorHarness.ValidClaims(), new { alg = none, kid = "k" });
        (await harness.Validate(signed, settings)).ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task A_token_with_its_signature_stripped_is_refused()
    {
        var token = TestTokens.StripSignature(TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.ValidClaims()));
        (await harness.Validate(token, ValidatorHarness.Hmac())).ShouldBeRefused(TokenErrorCodes.InvalidSignature);
    }

    [Fact]
    public async Task A_payload_changed_after_signing_is_refused()
    {
        var token = TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.ValidClaims("alice"));
        var tampered = TestTokens.WithPayload(token, ValidatorHarness.ValidClaims("mallory"));
        (await harness.Validate(tampered, ValidatorHarness.Hmac())).ShouldBeRefused(TokenErrorCodes.InvalidSignature);
    }

    [Theory]
    [InlineData("HS256", "HS512")]
    [InlineData("RS256", "PS256")]
    [InlineData("PS256", "RS256")]
    [InlineData("RS256", "RS512")]
    [InlineData("ES256", "ES384")]
    public async Task A_header_alg_other_than_the_signing_one_fails_the_signature(string signedWith, string declared)
    {
        var key = signedWith.StartsWith("HS", StringComparison.Ordinal) ? TestTokens.HmacKey(TestTokens.Secret) : TestTokens.KeyFor(signedWith).SigningKey;
        var token = TestTokens.Sign(signedWith, key, ValidatorHarness.ValidClaims(), new { alg = declared });
        var settings = SettingsFor(signedWith, TestTokens.AllAlgorithms) with
        {
            Secrets = [new SharedSecret(null, TestTokens.Secret)],
        };
        (await harness.Validate(token, settings)).ShouldBeRefused(TokenErrorCodes.InvalidSignature);
    }

    [Fact]
    public async Task Rs_to_hs_confusion_with_the_public_key_as_hmac_secret_is_refused()
    {
        // The attacker signs HS256 with the account's public key PEM (public knowledge) as the HMAC secret.
        var pem = TestTokens.Rsa.PublicKeyPem;
        var forged = TestTokens.Sign("HS256", new SymmetricSecurityKey(Encoding.UTF8.GetBytes(pem)), ValidatorHarness.ValidClaims());
        var settings = new SecureTokenSettings
        {
            Method = TokenMethod.PublicKey,
            Algorithms = ["RS256"],
            PublicKeys = [new PublicKeyEntry("rsa", pem)],
        };

        (await harness.Validate(forged, settings)).ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);

        // Even if the allow-list wrongly names HS256, a public-key account has no HMAC secret to try.
        (await harness.Validate(forged, settings with { Algorithms = ["RS256", "HS256"] })).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        var withKid = TestTokens.Sign("HS256", new SymmetricSecurityKey(Encoding.UTF8.GetBytes(pem)), ValidatorHarness.ValidClaims(), new { kid = "rsa" });
        (await harness.Validate(withKid, settings with { Algorithms = ["RS256", "HS256"] })).ShouldBeRefused(TokenErrorCodes.KeyNotFound);

        // And a real RS256 token passes.
        (await harness.Validate(TestTokens.Asymmetric("RS256", ValidatorHarness.ValidClaims()), settings)).ShouldBeAccepted();
    }

    [Fact]
    public async Task An_hmac_account_ignores_configured_public_keys_and_vice_versa()
    {
        var hmacWithPem = ValidatorHarness.Hmac("HS256", "RS256") with { PublicKeys = [new PublicKeyEntry("rsa", TestTokens.Rsa.PublicKeyPem)] };
        (await harness.Validate(TestTokens.Asymmetric("RS256", ValidatorHarness.ValidClaims()), hmacWithPem)).ShouldBeRefused(TokenErrorCodes.KeyNotFound);

        var publicWithSecret = ValidatorHarness.PublicKeys() with { Algorithms = ["RS256", "HS256"], Secrets = [new SharedSecret(null, TestTokens.Secret)] };
        (await harness.Validate(TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.ValidClaims()), publicWithSecret)).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
    }

    private static SecureTokenSettings ThreeSecrets(bool withKids) => ValidatorHarness.Hmac("HS256") with
    {
        Secrets =
        [
            new SharedSecret(withKids ? "k1" : null, Secret1),
            new SharedSecret(withKids ? "k2" : null, Secret2),
            new SharedSecret(withKids ? "k3" : null, Secret3),
        ],
    };

    [Theory]
    [InlineData("k1", Secret1)]
    [InlineData("k2", Secret2)]
    [InlineData("k3", Secret3)]
    public async Task A_kid_selects_its_key_among_several(string kid, string secret) =>
        (await harness.Validate(TestTokens.Hs256(secret, ValidatorHarness.ValidClaims(), kid), ThreeSecrets(withKids: true))).ShouldBeAccepted();

    [Fact]
    public async Task A_kid_is_checked_against_that_key_only()
    {
        var signedWithK2 = TestTokens.Hs256(Secret2, ValidatorHarness.ValidClaims(), kid: "k1");
        (await harness.Validate(signedWithK2, ThreeSecrets(withKids: true))).ShouldBeRefused(TokenErrorCodes.InvalidSignature);
    }

    [Theory]
    [InlineData("k4")]
    [InlineData("K1")]
    [InlineData("k1 ")]
    [InlineData("")]
    public async Task An_unknown_kid_is_key_not_found(string kid) =>
        (await harness.Validate(TestTokens.Hs256(Secret1, ValidatorHarness.ValidClaims(), kid), ThreeSecrets(withKids: true)))
            .ShouldBeRefused(TokenErrorCodes.KeyNotFound);

    [Fact]
    public async Task A_kid_is_key_not_found_when_the_secrets_have_no_kid() =>
        (await harness.Validate(TestTokens.Hs256(Secret3, ValidatorHarness.ValidClaims(), "k3"), ThreeSecrets(withKids: false)))
            .ShouldBeRefused(TokenErrorCodes.KeyNotFound);

    [Fact]
    public async Task A_kid_naming_a_key_of_another_type_is_key_not_found()
    {
        var settings = ValidatorHarness.PublicKeys();
        (await harness.Validate(TestTokens.Asymmetric("ES256", ValidatorHarness.ValidClaims(), kid: "rsa"), settings))
            .ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        (await harness.Validate(TestTokens.Asymmetric("ES384", ValidatorHarness.ValidClaims(), kid: "ec256"), settings))
            .ShouldBeRefused(TokenErrorCodes.KeyNotFound);
    }

    [Theory]
    [InlineData(Secret1, false, false)]
    [InlineData(Secret2, false, true)]
    [InlineData(Secret3, false, true)]
    [InlineData(Secret1, true, false)]
    [InlineData(Secret2, true, true)]
    [InlineData(Secret3, true, true)]
    public async Task Without_a_kid_only_the_two_newest_keys_are_tried(string secret, bool kidsConfigured, bool accepted)
    {
        // Three secrets, oldest first: a token without kid is checked against the two newest only, kids configured or not.
        var result = await harness.Validate(TestTokens.Hs256(secret, ValidatorHarness.ValidClaims()), ThreeSecrets(kidsConfigured));
        if (accepted)
        {
            result.ShouldBeAccepted();
        }
        else
        {
            result.ShouldBeRefused(TokenErrorCodes.InvalidSignature);
        }
    }

    [Fact]
    public async Task Without_a_kid_only_the_two_newest_public_keys_are_tried()
    {
        var oldest = TestTokens.NewRsa();
        var middle = TestTokens.NewRsa();
        var settings = new SecureTokenSettings
        {
            Method = TokenMethod.PublicKey,
            Algorithms = ["RS256", "ES256"],
            PublicKeys =
            [
                new PublicKeyEntry("old", oldest.PublicKeyPem),
                new PublicKeyEntry("mid", middle.PublicKeyPem),
                new PublicKeyEntry("ec", TestTokens.EcP256.PublicKeyPem),
                new PublicKeyEntry("new", TestTokens.Rsa.PublicKeyPem),
            ],
        };
        var claims = ValidatorHarness.ValidClaims();

        // The two newest RSA keys are "mid" and "new": the EC key in between does not count against them.
        (await harness.Validate(TestTokens.Sign("RS256", oldest.SigningKey, claims), settings)).ShouldBeRefused(TokenErrorCodes.InvalidSignature);
        (await harness.Validate(TestTokens.Sign("RS256", middle.SigningKey, claims), settings)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Sign("RS256", TestTokens.Rsa.SigningKey, claims), settings)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Asymmetric("ES256", claims), settings)).ShouldBeAccepted();

        // By kid, the oldest key is still usable.
        (await harness.Validate(TestTokens.Sign("RS256", oldest.SigningKey, claims, new { kid = "old" }), settings)).ShouldBeAccepted();
    }

    [Theory]
    [InlineData("HS256", 31, TokenErrorCodes.KeyNotFound)]
    [InlineData("HS256", 32, null)]
    [InlineData("HS384", 47, TokenErrorCodes.KeyNotFound)]
    [InlineData("HS384", 48, null)]
    [InlineData("HS512", 63, TokenErrorCodes.KeyNotFound)]
    [InlineData("HS512", 64, null)]
    public async Task Hmac_secrets_shorter_than_the_hash_are_never_used(string alg, int length, string? expected)
    {
        var secret = new string('s', length);
        var settings = ValidatorHarness.Hmac(alg) with { Secrets = [new SharedSecret("short", secret)] };
        var withoutKid = await harness.Validate(TestTokens.Hmac(alg, secret, ValidatorHarness.ValidClaims()), settings);
        var withKid = await harness.Validate(TestTokens.Hmac(alg, secret, ValidatorHarness.ValidClaims(), kid: "short"), settings);
        if (expected is null)
        {
            withoutKid.ShouldBeAccepted();
            withKid.ShouldBeAccepted();
        }
        else
        {
            withoutKid.ShouldBeRefused(expected);
            withKid.ShouldBeRefused(expected);
        }
    }

    [Fact]
    public async Task Short_secrets_do_not_count_among_the_two_newest()
    {
        var settings = ValidatorHarness.Hmac("HS256") with
        {
            Secrets = [new SharedSecret(null, Secret1), new SharedSecret(null, "short-1"), new SharedSecret(null, "short-2")],
        };
        (await harness.Validate(TestTokens.Hs256(Secret1, ValidatorHarness.ValidClaims()), settings)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Hs256("short-2", ValidatorHarness.ValidClaims()), settings)).ShouldBeRefused(TokenErrorCodes.InvalidSignature);
    }

    [Fact]
    public async Task A_secret_long_enough_for_hs256_only_is_not_used_for_hs512()
    {
        var secret = new string('s', 40);
        var settings = ValidatorHarness.Hmac("HS256", "HS512") with { Secrets = [new SharedSecret(null, secret)] };
        (await harness.Validate(TestTokens.Hmac("HS256", secret, ValidatorHarness.ValidClaims()), settings)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Hmac("HS512", secret, ValidatorHarness.ValidClaims()), settings)).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
    }

    [Fact]
    public async Task An_es_algorithm_uses_only_keys_on_its_curve()
    {
        var settings = ValidatorHarness.PublicKeys() with
        {
            PublicKeys = [new PublicKeyEntry("a", TestTokens.EcP384.PublicKeyPem), new PublicKeyEntry("b", TestTokens.Rsa.PublicKeyPem)],
        };
        (await harness.Validate(TestTokens.Asymmetric("ES384", ValidatorHarness.ValidClaims()), settings)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Asymmetric("ES256", ValidatorHarness.ValidClaims()), settings)).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        (await harness.Validate(TestTokens.Asymmetric("ES512", ValidatorHarness.ValidClaims()), settings)).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
    }

    [Fact]
    public async Task Key_url_and_embedded_key_headers_are_never_used()
    {
        var attacker = TestTokens.NewRsa();
        var parameters = ((RsaSecurityKey)attacker.SigningKey).Rsa.ExportParameters(false);
        var jwk = new { kty = "RSA", n = TestTokens.Base64Url(parameters.Modulus), e = TestTokens.Base64Url(parameters.Exponent), kid = "attacker" };
        using var certificate = new CertificateRequest("CN=attacker", ((RsaSecurityKey)attacker.SigningKey).Rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var x5c = new[] { Convert.ToBase64String(certificate.RawData) };
        var settings = ValidatorHarness.PublicKeys();
        var claims = ValidatorHarness.ValidClaims();

        object[] headers =
        [
            new { jku = "https://attacker.example/jwks.json" },
            new { jwk },
            new { x5u = "https://attacker.example/cert.pem" },
            new { x5c },
            new { jku = "https://attacker.example/jwks.json", jwk, x5c, x5u = "https://attacker.example/cert.pem" },
        ];
        foreach (var header in headers)
        {
            (await harness.Validate(TestTokens.Sign("RS256", attacker.SigningKey, claims, header), settings))
                .ShouldBeRefused(TokenErrorCodes.InvalidSignature);
        }

        // With the attacker's kid: no configured key has it.
        (await harness.Validate(TestTokens.Sign("RS256", attacker.SigningKey, claims, new { kid = "attacker", jwk }), settings))
            .ShouldBeRefused(TokenErrorCodes.KeyNotFound);

        // The headers do not get in the way of an honest token.
        (await harness.Validate(TestTokens.Sign("RS256", TestTokens.Rsa.SigningKey, claims, new { jku = "https://x.example", jwk }), settings))
            .ShouldBeAccepted();
    }

    [Fact]
    public async Task Without_a_jwks_source_a_jwks_account_has_no_keys() =>
        (await harness.Validate(
            TestTokens.Asymmetric("RS256", ValidatorHarness.ValidClaims(), kid: "rsa"),
            new SecureTokenSettings { Method = TokenMethod.Jwks, Algorithms = ["RS256"], JwksUri = "https://partner.example/jwks" }))
        .ShouldBeRefused(TokenErrorCodes.KeyNotFound);

    [Fact]
    public async Task Unusable_public_keys_are_skipped_and_logged()
    {
        var settings = ValidatorHarness.PublicKeys() with
        {
            Algorithms = ["RS256"],
            PublicKeys =
            [
                new PublicKeyEntry("garbage", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----"),
                new PublicKeyEntry("empty", ""),
                new PublicKeyEntry("text", "hello"),
                new PublicKeyEntry("rsa", TestTokens.Rsa.PublicKeyPem),
            ],
        };
        (await harness.Validate(TestTokens.Asymmetric("RS256", ValidatorHarness.ValidClaims()), settings)).ShouldBeAccepted();
        harness.Log.Entries.Count(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning).ShouldBe(3);
    }

    [Fact]
    public async Task Certificate_and_private_key_pems_are_read_for_their_public_key()
    {
        var rsa = ((RsaSecurityKey)TestTokens.Rsa.SigningKey).Rsa;
        using var certificate = new CertificateRequest("CN=partner", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var ec = ((ECDsaSecurityKey)TestTokens.EcP521.SigningKey).ECDsa;
        var settings = ValidatorHarness.PublicKeys() with
        {
            PublicKeys = [new PublicKeyEntry("cert", certificate.ExportCertificatePem()), new PublicKeyEntry("ec", ec.ExportPkcs8PrivateKeyPem())],
        };
        (await harness.Validate(TestTokens.Asymmetric("PS384", ValidatorHarness.ValidClaims(), kid: "cert"), settings)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Asymmetric("ES512", ValidatorHarness.ValidClaims(), kid: "ec"), settings)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Asymmetric("RS256", ValidatorHarness.ValidClaims(), kid: "cert"), settings with
        {
            PublicKeys = [new PublicKeyEntry("cert", rsa.ExportRSAPublicKeyPem())],
        })).ShouldBeAccepted();
    }

    [Fact]
    public async Task Keys_are_cached_per_account_and_settings_version()
    {
        var first = ValidatorHarness.Hmac("HS256") with { Secrets = [new SharedSecret(null, Secret1)] };
        var second = ValidatorHarness.Hmac("HS256") with { Secrets = [new SharedSecret(null, Secret2)] };
        var tokenForSecond = TestTokens.Hs256(Secret2, ValidatorHarness.ValidClaims());

        (await harness.Validate(TestTokens.Hs256(Secret1, ValidatorHarness.ValidClaims()), first, settingsVersion: 1)).ShouldBeAccepted();

        // Same version: the keys built for version 1 are reused (settings must change with their version).
        (await harness.Validate(tokenForSecond, second, settingsVersion: 1)).ShouldBeRefused(TokenErrorCodes.InvalidSignature);

        // A new version rebuilds the keys; an older version arriving late does not evict the newer ones.
        (await harness.Validate(tokenForSecond, second, settingsVersion: 2)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Hs256(Secret1, ValidatorHarness.ValidClaims()), first, settingsVersion: 1)).ShouldBeAccepted();
        (await harness.Validate(tokenForSecond, second, settingsVersion: 2)).ShouldBeAccepted();
    }

    [Fact]
    public async Task Concurrent_validations_share_keys_safely()
    {
        var settings = ValidatorHarness.PublicKeys() with { Secrets = [] };
        var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var alg = TestTokens.AllAlgorithms[3 + (i % 9)];
            var result = await harness.Validator.ValidateAsync(
                TestTokens.Asymmetric(alg, ValidatorHarness.ValidClaims($"user-{i}")), "acct-concurrent", 1, settings, TestContext.Current.CancellationToken);
            return result.ShouldBeAccepted().Sub;
        }, TestContext.Current.CancellationToken));
        (await Task.WhenAll(tasks)).Distinct().Count().ShouldBe(200);
    }
}

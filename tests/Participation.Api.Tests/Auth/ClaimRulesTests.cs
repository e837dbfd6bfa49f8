using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Tests.Infrastructure;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

/// <summary>Every claim rule, checked once the signature is good, from the validator's own strict parse.</summary>
public sealed class ClaimRulesTests
{
    private static readonly long Now = ValidatorHarness.Now.ToUnixTimeSeconds();
    private readonly ValidatorHarness harness = new();
    private readonly SecureTokenSettings hmac = ValidatorHarness.Hmac();

    private ValueTask<(SecureToken? Token, TokenError? Error)> Validate(string payloadJson, SecureTokenSettings? settings = null) =>
        harness.Validate(TestTokens.Hs256(TestTokens.Secret, payloadJson), settings ?? hmac);

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    private static string At(long offsetSeconds) => (Now + offsetSeconds).ToString(CultureInfo.InvariantCulture);

    // ---- sub ----

    [Fact]
    public async Task Sub_is_required() =>
        (await Validate("""{"campaignId":"c"}""")).ShouldBeRefused(TokenErrorCodes.MissingClaim);

    [Theory]
    [InlineData("\"\"")]
    [InlineData("123")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("{}")]
    [InlineData("""{"id":"alice"}""")]
    [InlineData("""["alice"]""")]
    [InlineData("\"al\\u0000ice\"")]
    [InlineData("\"alice\\n\"")]
    [InlineData("\"\\u001f\"")]
    [InlineData("\"a\\u007f\"")]
    [InlineData("\"tab\\there\"")]
    public async Task Sub_must_be_a_non_empty_string_without_control_characters(string sub) =>
        (await Validate($$"""{"sub":{{sub}},"campaignId":"c"}""")).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);

    [Theory]
    [InlineData("user/with/slashes")]
    [InlineData("urn:partner:user:42")]
    [InlineData("Ünïcødé 用户 🎉")]
    [InlineData(" spaces are fine ")]
    [InlineData("\u0080\u009f")]
    [InlineData("a")]
    public async Task Sub_is_an_opaque_string(string sub)
    {
        var token = (await Validate($$"""{"sub":{{Json(sub)}},"campaignId":"c"}""")).ShouldBeAccepted();
        token.Sub.ShouldBe(sub);
    }

    [Fact]
    public async Task Sub_is_at_most_256_utf8_bytes()
    {
        (await Validate($$"""{"sub":"{{new string('a', 256)}}","campaignId":"c"}""")).ShouldBeAccepted().Sub.Length.ShouldBe(256);
        (await Validate($$"""{"sub":"{{new string('a', 257)}}","campaignId":"c"}""")).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
        (await Validate($$"""{"sub":"{{new string('é', 128)}}","campaignId":"c"}""")).ShouldBeAccepted();
        (await Validate($$"""{"sub":"{{new string('é', 128)}}a","campaignId":"c"}""")).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);

        // Escaped characters count by what they decode to.
        var escaped = string.Concat(Enumerable.Repeat("\\u00e9", 128));
        (await Validate($$"""{"sub":"{{escaped}}","campaignId":"c"}""")).ShouldBeAccepted().Sub.ShouldBe(new string('é', 128));
    }

    // ---- campaignId ----

    [Fact]
    public async Task CampaignId_is_required() =>
        (await Validate("""{"sub":"alice"}""")).ShouldBeRefused(TokenErrorCodes.MissingClaim);

    [Theory]
    [InlineData("123456", "123456")]
    [InlineData("0", "0")]
    [InlineData("\"123456\"", "123456")]
    [InlineData("\"spring-quiz_2025\"", "spring-quiz_2025")]
    [InlineData("12345678901234567890123456789", "12345678901234567890123456789")]
    public async Task CampaignId_is_a_string_or_an_integer_in_decimal_form(string json, string expected) =>
        (await Validate($$"""{"sub":"alice","campaignId":{{json}}}""")).ShouldBeAccepted().CampaignId.ShouldBe(expected);

    [Theory]
    [InlineData("1.5")]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("1E3")]
    [InlineData("-1")]
    [InlineData("-0")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("""{"id":123456}""")]
    [InlineData("[123456]")]
    [InlineData("\"\"")]
    [InlineData("\"c\\u0000\"")]
    [InlineData("\"c\\r\"")]
    public async Task CampaignId_of_another_type_or_shape_is_invalid(string json) =>
        (await Validate($$"""{"sub":"alice","campaignId":{{json}}}""")).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);

    [Fact]
    public async Task CampaignId_is_at_most_256_bytes()
    {
        (await Validate($$"""{"sub":"alice","campaignId":"{{new string('c', 256)}}"}""")).ShouldBeAccepted();
        (await Validate($$"""{"sub":"alice","campaignId":"{{new string('c', 257)}}"}""")).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
        (await Validate($$"""{"sub":"alice","campaignId":{{new string('1', 257)}}}""")).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
    }

    // ---- exp, nbf, iat ----

    [Theory]
    [InlineData("exp")]
    [InlineData("nbf")]
    [InlineData("iat")]
    public async Task Times_must_be_numbers(string claim)
    {
        foreach (var value in new[] { "\"1748779200\"", "\"x\"", "true", "null", "{}", "[1748779200]", "1e400", "-1e400", "1e300" })
        {
            (await Validate(ValidatorHarness.Payload($"\"{claim}\":{value}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid, $"{claim}: {value}");
        }
    }

    [Fact]
    public async Task Times_may_be_fractional()
    {
        var token = (await Validate(ValidatorHarness.Payload($"\"iat\":{At(-10)}.25,\"nbf\":{At(-10)}.5,\"exp\":{At(60)}.75"))).ShouldBeAccepted();
        token.IssuedAt.ShouldBe(ValidatorHarness.Now.AddSeconds(-9.75));
        token.ExpiresAt.ShouldBe(ValidatorHarness.Now.AddSeconds(60.75));
    }

    [Fact]
    public async Task Times_are_optional_by_default()
    {
        var token = (await Validate(ValidatorHarness.Payload())).ShouldBeAccepted();
        token.IssuedAt.ShouldBeNull();
        token.ExpiresAt.ShouldBeNull();
    }

    [Fact]
    public async Task Exp_earlier_than_iat_is_invalid()
    {
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(0)},\"exp\":{At(-1)}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);

        // The vendor documentation example: far in the past, exp before iat; claim_invalid wins over expired.
        (await Validate(ValidatorHarness.Payload("\"iat\":1516239022,\"exp\":1516239000"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(0)},\"exp\":{At(0)}"))).ShouldBeAccepted();
    }

    [Fact]
    public async Task A_token_issued_in_the_future_is_invalid()
    {
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(86_400)}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(121)}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(120)}"))).ShouldBeAccepted();
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(11)}"), hmac with { ClockSkewSeconds = 10 })).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
    }

    [Fact]
    public async Task Expiry_is_checked_with_the_clock_skew()
    {
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(-120)}"))).ShouldBeAccepted();
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(-121)}"))).ShouldBeRefused(TokenErrorCodes.Expired);
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(-1)}"), hmac with { ClockSkewSeconds = 0 })).ShouldBeRefused(TokenErrorCodes.Expired);
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(0)}"), hmac with { ClockSkewSeconds = 0 })).ShouldBeAccepted();
    }

    [Fact]
    public async Task Time_comes_from_the_injected_clock()
    {
        var token = TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.Payload($"\"exp\":{At(300)}"));
        (await harness.Validate(token, hmac)).ShouldBeAccepted();
        harness.Time.Advance(TimeSpan.FromSeconds(421));
        (await harness.Validate(token, hmac)).ShouldBeRefused(TokenErrorCodes.Expired);
    }

    [Fact]
    public async Task Not_before_is_checked_with_the_clock_skew()
    {
        (await Validate(ValidatorHarness.Payload($"\"nbf\":{At(120)}"))).ShouldBeAccepted();
        (await Validate(ValidatorHarness.Payload($"\"nbf\":{At(121)}"))).ShouldBeRefused(TokenErrorCodes.NotYetValid);
        (await Validate(ValidatorHarness.Payload($"\"nbf\":{At(1)}"), hmac with { ClockSkewSeconds = 0 })).ShouldBeRefused(TokenErrorCodes.NotYetValid);
    }

    [Fact]
    public async Task An_account_may_require_exp()
    {
        var settings = hmac with { RequireExpiration = true };
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(0)}"), settings)).ShouldBeRefused(TokenErrorCodes.MissingClaim);
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(60)}"), settings)).ShouldBeAccepted();
    }

    [Fact]
    public async Task A_maximum_token_age_requires_iat_and_checks_it()
    {
        var settings = hmac with { MaxTokenAgeSeconds = 300, ClockSkewSeconds = 30 };
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(60)}"), settings)).ShouldBeRefused(TokenErrorCodes.MissingClaim);
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(-330)}"), settings)).ShouldBeAccepted();
        (await Validate(ValidatorHarness.Payload($"\"iat\":{At(-331)}"), settings)).ShouldBeRefused(TokenErrorCodes.TooOld);
    }

    // ---- iss, aud ----

    [Theory]
    [InlineData("\"iss\":\"https://partner.example\"", true)]
    [InlineData("\"iss\":\"https://PARTNER.example\"", false)]
    [InlineData("\"iss\":\"https://partner.example/\"", false)]
    [InlineData("\"iss\":5", false)]
    [InlineData("\"iss\":[\"https://partner.example\"]", false)]
    [InlineData("\"iss\":null", false)]
    [InlineData("\"x\":1", false)]
    public async Task The_issuer_is_checked_when_configured(string member, bool accepted)
    {
        var result = await Validate(ValidatorHarness.Payload(member), hmac with { Issuer = "https://partner.example" });
        if (accepted)
        {
            result.ShouldBeAccepted();
        }
        else
        {
            result.ShouldBeRefused(TokenErrorCodes.IssuerInvalid);
        }
    }

    [Theory]
    [InlineData("\"aud\":\"participation\"", true)]
    [InlineData("\"aud\":[\"other\",\"participation\"]", true)]
    [InlineData("\"aud\":[\"participation\"]", true)]
    [InlineData("\"aud\":\"Participation\"", false)]
    [InlineData("\"aud\":[\"other\"]", false)]
    [InlineData("\"aud\":[]", false)]
    [InlineData("\"aud\":[\"participation\",5]", false)]
    [InlineData("\"aud\":[[\"participation\"]]", false)]
    [InlineData("\"aud\":5", false)]
    [InlineData("\"aud\":{\"participation\":true}", false)]
    [InlineData("\"x\":1", false)]
    public async Task The_audience_is_checked_when_configured(string member, bool accepted)
    {
        var result = await Validate(ValidatorHarness.Payload(member), hmac with { Audience = "participation" });
        if (accepted)
        {
            result.ShouldBeAccepted();
        }
        else
        {
            result.ShouldBeRefused(TokenErrorCodes.AudienceInvalid);
        }
    }

    [Fact]
    public async Task Issuer_and_audience_are_ignored_when_not_configured() =>
        (await Validate(ValidatorHarness.Payload("\"iss\":5,\"aud\":{\"a\":1}"))).ShouldBeAccepted();

    // ---- jti and the replay key ----

    [Fact]
    public async Task The_replay_key_is_the_jti()
    {
        var token = (await Validate(ValidatorHarness.Payload("\"jti\":\"abc-123\""))).ShouldBeAccepted();
        token.Jti.ShouldBe("abc-123");
        token.ReplayKey.ShouldBe("jti:abc-123");
    }

    [Fact]
    public async Task Without_jti_the_replay_key_is_the_sha256_of_the_signing_input()
    {
        var raw = TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.Payload());
        var signingInput = raw[..raw.LastIndexOf('.')];
        var expected = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(signingInput)));

        var token = (await harness.Validate(raw, hmac)).ShouldBeAccepted();
        token.Jti.ShouldBeNull();
        token.ReplayKey.ShouldBe(expected);

        // Another signature of the same signing input (HMAC is deterministic) gives the same key; any other content does not.
        var other = (await harness.Validate(TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.Payload("\"x\":1")), hmac)).ShouldBeAccepted();
        other.ReplayKey.ShouldNotBe(expected);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("5")]
    [InlineData("null")]
    [InlineData("[\"a\"]")]
    [InlineData("{}")]
    [InlineData("\"a\\u0000\"")]
    [InlineData("\"a\\n\"")]
    public async Task Jti_must_be_a_non_empty_string_without_control_characters(string jti) =>
        (await Validate(ValidatorHarness.Payload($"\"jti\":{jti}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);

    [Fact]
    public async Task Jti_is_at_most_256_bytes()
    {
        (await Validate(ValidatorHarness.Payload($"\"jti\":\"{new string('j', 256)}\""))).ShouldBeAccepted();
        (await Validate(ValidatorHarness.Payload($"\"jti\":\"{new string('j', 257)}\""))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
    }

    // ---- limit, gift ----

    [Theory]
    [InlineData("""{"nb":3}""", 3, null)]
    [InlineData("""{"nb":0}""", 0, null)]
    [InlineData("""{"nb":2147483647}""", int.MaxValue, null)]
    [InlineData("""{"canPlay":false}""", null, false)]
    [InlineData("""{"nb":5,"canPlay":true}""", 5, true)]
    [InlineData("""{"nb":5,"note":"ignored"}""", 5, null)]
    public async Task Limit_is_read(string limit, int? nb, bool? canPlay) =>
        (await Validate(ValidatorHarness.Payload($"\"limit\":{limit}"))).ShouldBeAccepted().Limit.ShouldBe(new LimitClaim(nb, canPlay));

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"note":1}""")]
    [InlineData("""{"nb":-1}""")]
    [InlineData("""{"nb":1.5}""")]
    [InlineData("""{"nb":1.0}""")]
    [InlineData("""{"nb":1e2}""")]
    [InlineData("""{"nb":2147483648}""")]
    [InlineData("""{"nb":"3"}""")]
    [InlineData("""{"nb":null}""")]
    [InlineData("""{"canPlay":"false"}""")]
    [InlineData("""{"canPlay":0}""")]
    [InlineData("""{"nb":3,"canPlay":null}""")]
    [InlineData("3")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("[3]")]
    [InlineData("\"3\"")]
    public async Task Limit_of_another_shape_is_invalid(string limit) =>
        (await Validate(ValidatorHarness.Payload($"\"limit\":{limit}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);

    [Theory]
    [InlineData("""{"label":"Gold","cw":false}""", "Gold", false)]
    [InlineData("""{"cw":true}""", null, true)]
    [InlineData("""{"label":"Silver"}""", "Silver", null)]
    [InlineData("""{}""", null, null)]
    [InlineData("""{"label":"","extra":[1]}""", "", null)]
    public async Task Gift_is_read(string gift, string? label, bool? canWin) =>
        (await Validate(ValidatorHarness.Payload($"\"gift\":{gift}"))).ShouldBeAccepted().Gift.ShouldBe(new GiftClaim(label, canWin));

    [Theory]
    [InlineData("""{"label":5}""")]
    [InlineData("""{"label":null}""")]
    [InlineData("""{"label":"a\u0000"}""")]
    [InlineData("""{"label":"a\nb"}""")]
    [InlineData("""{"cw":"false"}""")]
    [InlineData("""{"cw":null}""")]
    [InlineData("\"gold\"")]
    [InlineData("null")]
    [InlineData("[]")]
    public async Task Gift_of_another_shape_is_invalid(string gift) =>
        (await Validate(ValidatorHarness.Payload($"\"gift\":{gift}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);

    [Fact]
    public async Task Gift_label_is_at_most_256_bytes()
    {
        (await Validate(ValidatorHarness.Payload($"\"gift\":{{\"label\":\"{new string('g', 256)}\"}}"))).ShouldBeAccepted();
        (await Validate(ValidatorHarness.Payload($"\"gift\":{{\"label\":\"{new string('g', 257)}\"}}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
    }

    // ---- custom, form, optin ----

    [Fact]
    public async Task Personal_data_objects_are_kept_verbatim()
    {
        var token = (await Validate(ValidatorHarness.Payload("""
            "custom":{"tier":"gold","n":[1,2.5,{"deep":null}]},"form":{"email":"a@b.example"},"optin":{"newsletter":true}
            """))).ShouldBeAccepted();
        token.PersonalData.Custom!.Value.GetRawText().ShouldBe("""{"tier":"gold","n":[1,2.5,{"deep":null}]}""");
        token.PersonalData.Form!.Value.GetProperty("email").GetString().ShouldBe("a@b.example");
        token.PersonalData.Optin!.Value.GetProperty("newsletter").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task Without_personal_data_the_token_carries_none()
    {
        var token = (await Validate(ValidatorHarness.Payload())).ShouldBeAccepted();
        token.PersonalData.ShouldBeSameAs(PersonalData.None);
        token.Limit.ShouldBeNull();
        token.Gift.ShouldBeNull();
    }

    [Fact]
    public async Task Personal_data_outlives_the_validation_buffers()
    {
        var token = (await Validate(ValidatorHarness.Payload("\"custom\":{\"keep\":\"me\"}"))).ShouldBeAccepted();
        for (var i = 0; i < 20; i++)
        {
            (await Validate(ValidatorHarness.Payload($"\"custom\":{{\"other\":\"{new string('z', 500)}\"}}"))).ShouldBeAccepted();
        }

        token.PersonalData.Custom!.Value.GetProperty("keep").GetString().ShouldBe("me");
    }

    [Theory]
    [InlineData("custom")]
    [InlineData("form")]
    [InlineData("optin")]
    public async Task Personal_data_must_be_an_object_without_nul(string claim)
    {
        foreach (var value in new[]
        {
            "[]", "\"x\"", "1", "null", "true",
            """{"a":"x\u0000y"}""",
            """{"a":{"b":[1,{"c":"\u0000"}]}}""",
            """{"a\u0000b":1}""",
            """{"a":["\u0000"]}""",
        })
        {
            (await Validate(ValidatorHarness.Payload($"\"{claim}\":{value}"))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid, $"{claim}: {value}");
        }

        // Other escapes are fine.
        (await Validate(ValidatorHarness.Payload($"\"{claim}\":{{\"a\":\"tab\\there \\u00e9 \\\" \\\\u0000\"}}"))).ShouldBeAccepted();
    }

    [Fact]
    public async Task A_nul_in_a_claim_the_service_does_not_keep_is_ignored() =>
        (await Validate(ValidatorHarness.Payload("\"note\":\"a\\u0000b\",\"extra\":{\"x\":\"\\u0000\"}"))).ShouldBeAccepted();

    // ---- precedence ----

    [Fact]
    public async Task The_signature_comes_before_the_claims()
    {
        var forged = TestTokens.Hs256(TestTokens.Secret + "-wrong", """{"campaignId":"c","exp":"soon"}""");
        (await harness.Validate(forged, hmac)).ShouldBeRefused(TokenErrorCodes.InvalidSignature);

        // Claims IdentityModel cannot even decode: still the signature first, then the claim code.
        var forgedSub = TestTokens.Hs256(TestTokens.Secret + "-wrong", """{"sub":{},"campaignId":"c"}""");
        (await harness.Validate(forgedSub, hmac)).ShouldBeRefused(TokenErrorCodes.InvalidSignature);
        (await Validate("""{"sub":{},"campaignId":"c"}""")).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
        (await Validate(ValidatorHarness.Payload("\"exp\":\"soon\""))).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
        (await Validate(ValidatorHarness.Payload("\"azp\":5"))).ShouldBeAccepted();
    }

    [Fact]
    public async Task Claim_types_come_before_lifetime_and_lifetime_before_issuer_and_audience()
    {
        var strict = hmac with { Issuer = "iss", Audience = "aud", RequireExpiration = true };
        (await Validate($$"""{"campaignId":"c","exp":{{At(-3600)}},"iss":"x"}""", strict)).ShouldBeRefused(TokenErrorCodes.MissingClaim);
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(-3600)},\"limit\":{{}},\"iss\":\"x\""), strict)).ShouldBeRefused(TokenErrorCodes.ClaimInvalid);
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(-3600)},\"iss\":\"x\",\"aud\":\"x\""), strict)).ShouldBeRefused(TokenErrorCodes.Expired);
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(60)},\"iss\":\"x\",\"aud\":\"x\""), strict)).ShouldBeRefused(TokenErrorCodes.IssuerInvalid);
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(60)},\"iss\":\"iss\",\"aud\":\"x\""), strict)).ShouldBeRefused(TokenErrorCodes.AudienceInvalid);
        (await Validate(ValidatorHarness.Payload($"\"exp\":{At(60)},\"iss\":\"iss\",\"aud\":\"aud\""), strict)).ShouldBeAccepted();
    }

    [Fact]
    public async Task The_algorithm_comes_before_the_key()
    {
        var token = TestTokens.Hmac("HS512", TestTokens.Secret, ValidatorHarness.ValidClaims(), kid: "unknown");
        (await harness.Validate(token, ValidatorHarness.Hmac("HS256"))).ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task A_fully_loaded_token_is_read_completely()
    {
        var claims = TestTokens.Claims("alice", 123456, jti: "j-1", iat: ValidatorHarness.Now.AddSeconds(-5), exp: ValidatorHarness.Now.AddMinutes(5),
            nbf: ValidatorHarness.Now.AddSeconds(-5), iss: "partner", aud: new[] { "participation" });
        claims["limit"] = new { nb = 3, canPlay = true };
        claims["gift"] = new { label = "Voucher", cw = false };
        claims["custom"] = new { tier = "gold" };
        var settings = hmac with { Issuer = "partner", Audience = "participation", RequireExpiration = true, MaxTokenAgeSeconds = 60 };

        var token = (await harness.Validate(TestTokens.Hs256(TestTokens.Secret, claims), settings)).ShouldBeAccepted();

        token.ShouldSatisfyAllConditions(
            () => token.Sub.ShouldBe("alice"),
            () => token.CampaignId.ShouldBe("123456"),
            () => token.Jti.ShouldBe("j-1"),
            () => token.ReplayKey.ShouldBe("jti:j-1"),
            () => token.IssuedAt.ShouldBe(ValidatorHarness.Now.AddSeconds(-5)),
            () => token.ExpiresAt.ShouldBe(ValidatorHarness.Now.AddMinutes(5)),
            () => token.Limit.ShouldBe(new LimitClaim(3, true)),
            () => token.Gift.ShouldBe(new GiftClaim("Voucher", false)),
            () => token.PersonalData.Custom!.Value.GetRawText().ShouldBe("""{"tier":"gold"}"""),
            () => token.PersonalData.Form.ShouldBeNull(),
            () => token.PersonalData.Optin.ShouldBeNull());
    }
}

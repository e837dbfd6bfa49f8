using Microsoft.Extensions.Logging;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

/// <summary>Refusals never echo the token, a claim or a secret; logs carry only the code; hostile input never throws.</summary>
public sealed class ErrorHygieneTests
{
    private const string CanarySub = "SUB-CANARY-7f3a9c";
    private const string CanaryCampaign = "CAMPAIGN-CANARY-51b2";
    private const string CanaryIssuer = "ISSUER-CANARY-0d4e";

    private readonly ValidatorHarness harness = new();

    private static readonly SecureTokenSettings Strict = ValidatorHarness.Hmac() with
    {
        Issuer = "partner",
        Audience = "participation",
        RequireExpiration = true,
        MaxTokenAgeSeconds = 300,
    };

    public static TheoryData<string, string> FailingTokens()
    {
        var now = ValidatorHarness.Now;
        Dictionary<string, object?> Claims(Action<Dictionary<string, object?>>? change = null)
        {
            var claims = TestTokens.Claims(CanarySub, CanaryCampaign, jti: "JTI-CANARY", iat: now, exp: now.AddMinutes(5), iss: "partner", aud: "participation");
            change?.Invoke(claims);
            return claims;
        }

        string Hs(object payload, object? header = null) => TestTokens.Sign("HS256", TestTokens.HmacKey(TestTokens.Secret), payload, header);

        return new TheoryData<string, string>
        {
            { TokenErrorCodes.TooLarge, Hs(Claims(c => c["custom"] = new { pad = new string('x', 9000) })) },
            { TokenErrorCodes.Malformed, Hs(Claims()) + ".extra" },
            { TokenErrorCodes.Malformed, Hs($$"""{"sub":"{{CanarySub}}","sub":"{{CanarySub}}"}""") },
            { TokenErrorCodes.Malformed, Hs(Claims(), new { crit = new[] { "exp" } }) },
            { TokenErrorCodes.AlgorithmNotAllowed, TestTokens.Unsigned(Claims()) },
            { TokenErrorCodes.AlgorithmNotAllowed, Hs(Claims(), new { alg = "ALG-CANARY" }) },
            { TokenErrorCodes.KeyNotFound, Hs(Claims(), new { kid = "KID-CANARY" }) },
            { TokenErrorCodes.InvalidSignature, TestTokens.Hs256(TestTokens.Secret + "-other", Claims()) },
            { TokenErrorCodes.MissingClaim, Hs(Claims(c => c.Remove("campaignId"))) },
            { TokenErrorCodes.ClaimInvalid, Hs(Claims(c => c["sub"] = CanarySub + "\0")) },
            { TokenErrorCodes.ClaimInvalid, Hs(Claims(c => c["custom"] = new { secret = "CUSTOM-CANARY\0" })) },
            { TokenErrorCodes.ClaimInvalid, Hs(Claims(c => c["exp"] = "EXP-CANARY")) },
            { TokenErrorCodes.Expired, Hs(Claims(c => (c["iat"], c["exp"]) = (now.AddHours(-2).ToUnixTimeSeconds(), now.AddHours(-1).ToUnixTimeSeconds()))) },
            { TokenErrorCodes.NotYetValid, Hs(Claims(c => c["nbf"] = now.AddHours(1).ToUnixTimeSeconds())) },
            { TokenErrorCodes.TooOld, Hs(Claims(c => c["iat"] = now.AddHours(-1).ToUnixTimeSeconds())) },
            { TokenErrorCodes.IssuerInvalid, Hs(Claims(c => c["iss"] = CanaryIssuer)) },
            { TokenErrorCodes.AudienceInvalid, Hs(Claims(c => c["aud"] = "AUD-CANARY")) },
            { TokenErrorCodes.DecryptionFailed, TestTokens.JweShaped() },
        };
    }

    [Theory]
    [MemberData(nameof(FailingTokens))]
    public async Task A_refusal_never_echoes_the_token_its_claims_or_secrets(string code, string token)
    {
        var error = (await harness.Validate(token, Strict)).ShouldBeRefused(code);

        string[] forbidden =
        [
            token, CanarySub, CanaryCampaign, CanaryIssuer, "CANARY", TestTokens.Secret,
            .. token.Split('.').Where(part => part.Length >= 8),
            .. token.Split('.').Where(part => part.Length >= 16).Select(part => part[..16]),
        ];
        foreach (var text in forbidden)
        {
            error.Detail.ShouldNotContain(text, Case.Insensitive);
        }

        var entries = harness.Log.Entries;
        entries.ShouldHaveSingleItem().Level.ShouldBe(LogLevel.Debug);
        entries[0].Message.ShouldContain(code);
        foreach (var text in forbidden)
        {
            entries[0].Message.ShouldNotContain(text, Case.Insensitive);
        }
    }

    [Fact]
    public async Task An_accepted_token_logs_nothing()
    {
        (await harness.Validate(TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.ValidClaims(CanarySub)), ValidatorHarness.Hmac())).ShouldBeAccepted();
        harness.Log.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task Mutated_tokens_never_throw_and_are_never_accepted()
    {
        var settings = ValidatorHarness.Hmac();
        var original = TestTokens.Hs256(TestTokens.Secret, ValidatorHarness.Payload("\"jti\":\"j\",\"limit\":{\"nb\":2},\"custom\":{\"a\":[1,{\"b\":\"c\"}]}"));
        (await harness.Validate(original, settings)).ShouldBeAccepted();

        const string Replacements = "A_-.=+/ \0é{\"";
        var random = new Random(20250601);
        for (var i = 0; i < 2000; i++)
        {
            var chars = original.ToCharArray();
            var position = random.Next(chars.Length);
            var mutated = (i % 4) switch
            {
                0 => original[..position],
                1 => original.Remove(position, 1),
                2 => original.Insert(position, Replacements[random.Next(Replacements.Length)].ToString()),
                _ => Replace(chars, position, Replacements[random.Next(Replacements.Length)]),
            };
            if (mutated == original)
            {
                continue;
            }

            var (token, error) = await harness.Validate(mutated, settings);
            token.ShouldBeNull(mutated);
            error.ShouldNotBeNull();
        }

        static string Replace(char[] chars, int position, char with)
        {
            chars[position] = with;
            return new string(chars);
        }
    }

    [Fact]
    public async Task Hostile_json_never_throws()
    {
        string[] payloads =
        [
            new string('[', 5000),
            string.Concat(Enumerable.Repeat("{\"a\":", 3000)),
            "{\"a\":\"" + new string('\\', 4001) + "\"}",
            "{\"custom\":{" + string.Join(',', Enumerable.Range(0, 700).Select(i => $"\"k{i}\":0")) + "}}",
            "{\"sub\":\"\\uD83D\\uDE00\",\"campaignId\":\"\\uDE00\\uD83D\"}",
            "{\"sub\":\"\\u\",\"campaignId\":1}",
            "{\"\":1,\"\":2}",
        ];
        foreach (var payload in payloads)
        {
            var (token, error) = await harness.Validate(TestTokens.Hs256(TestTokens.Secret, payload), ValidatorHarness.Hmac());
            token.ShouldBeNull();
            error.ShouldNotBeNull().Code.ShouldBeOneOf(TokenErrorCodes.Malformed, TokenErrorCodes.TooLarge);
        }
    }
}

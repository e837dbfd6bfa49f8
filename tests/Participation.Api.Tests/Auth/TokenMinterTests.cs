using System.Text.Json;
using Participation.Api.Auth;
using Participation.Api.Tests.Infrastructure;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

public sealed class TokenMinterTests
{
    private readonly ValidatorHarness harness = new();

    [Theory]
    [InlineData("HS256")]
    [InlineData("HS384")]
    [InlineData("HS512")]
    public async Task A_minted_token_passes_the_validator(string alg)
    {
        var token = TokenMinter.MintHmac(TestTokens.Secret, alg, null, new Dictionary<string, object?>
        {
            ["sub"] = "alice",
            ["campaignId"] = 123456,
            ["jti"] = "j-1",
            ["exp"] = ValidatorHarness.Now.AddMinutes(5).ToUnixTimeSeconds(),
            ["limit"] = new Dictionary<string, object> { ["nb"] = 3, ["canPlay"] = true },
            ["gift"] = new { label = "Voucher", cw = false },
            ["custom"] = JsonDocument.Parse("""{"tier":"gold"}""").RootElement,
            ["ignored"] = null,
        });

        var verified = (await harness.Validate(token, ValidatorHarness.Hmac(alg))).ShouldBeAccepted();
        verified.CampaignId.ShouldBe("123456");
        verified.Limit.ShouldBe(new LimitClaim(3, true));
        verified.Gift.ShouldBe(new GiftClaim("Voucher", false));
        verified.PersonalData.Custom!.Value.GetProperty("tier").GetString().ShouldBe("gold");
    }

    [Fact]
    public void Only_the_given_claims_are_written()
    {
        var token = TokenMinter.MintHmac(TestTokens.Secret, "HS256", null, new Dictionary<string, object?> { ["sub"] = "alice", ["campaignId"] = "c" });
        TestTokens.DecodePayload(token).ShouldBe("""{"sub":"alice","campaignId":"c"}""");
        Header(token).TryGetProperty("kid", out _).ShouldBeFalse();
    }

    [Fact]
    public async Task The_kid_goes_in_the_header()
    {
        var token = TokenMinter.MintHmac(TestTokens.Secret, "HS256", "k-2", new Dictionary<string, object?> { ["sub"] = "alice", ["campaignId"] = "c" });
        Header(token).GetProperty("kid").GetString().ShouldBe("k-2");
        Header(token).GetProperty("alg").GetString().ShouldBe("HS256");
        var settings = ValidatorHarness.Hmac() with { Secrets = [new Accounts.SharedSecret("k-2", TestTokens.Secret)] };
        (await harness.Validate(token, settings)).ShouldBeAccepted();
    }

    [Theory]
    [InlineData("HS256", 31)]
    [InlineData("HS384", 47)]
    [InlineData("HS512", 63)]
    public void A_secret_shorter_than_the_hash_is_refused(string alg, int length) =>
        Should.Throw<ArgumentException>(() => TokenMinter.MintHmac(new string('s', length), alg, null, new Dictionary<string, object?>()));

    [Theory]
    [InlineData("RS256")]
    [InlineData("none")]
    [InlineData("hs256")]
    public void Only_hmac_algorithms_are_minted(string alg) =>
        Should.Throw<ArgumentException>(() => TokenMinter.MintHmac(TestTokens.Secret, alg, null, new Dictionary<string, object?>()));

    private static JsonElement Header(string token) =>
        JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[0])).RootElement;
}

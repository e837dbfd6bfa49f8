using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Participations;

public sealed class ParticipatingTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<ApiAnswer> Participate(string campaignId, string token)
    {
        using var client = app.Client();
        return await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaignId}/participations?qual_token={Uri.EscapeDataString(token)}", null, Ct));
    }

    [Fact]
    public async Task AValidTokenIsAcceptedWithTheContractBody()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 3);
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("alice", campaign, jti: TestTokens.NewJti()));

        var answer = await Participate(campaign, token);

        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        var body = answer.Json;
        Guid.Parse(body.GetProperty("participationId").GetString()!).Version.ShouldBe(7);
        body.GetProperty("campaignId").GetString().ShouldBe(campaign);
        body.GetProperty("sub").GetString().ShouldBe("alice");
        body.GetProperty("number").GetInt32().ShouldBe(1);
        body.GetProperty("limit").GetInt32().ShouldBe(3);
        body.GetProperty("remaining").GetInt32().ShouldBe(2);
        body.GetProperty("canWin").GetBoolean().ShouldBeTrue();
        body.GetProperty("gift").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task TheSameTokenTwiceGivesA409CarryingTheOriginalParticipation()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 5);
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("bob", campaign, jti: TestTokens.NewJti()));

        var first = await Participate(campaign, token);
        var second = await Participate(campaign, token);

        first.Status.ShouldBe(HttpStatusCode.Created);
        second.ShouldBeProblem(HttpStatusCode.Conflict, "token_replayed");
        second.Json.GetProperty("participationId").GetString().ShouldBe(first.Json.GetProperty("participationId").GetString());
        second.Json.GetProperty("number").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task ATokenWithoutJtiIsReplayProtectedByItsSigningInput()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 5);
        var claims = TestTokens.Claims("carol", campaign, iat: DateTimeOffset.UtcNow);
        var token = TestTokens.Hs256(TestTokens.Secret, claims);
        claims["iat"] = DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeSeconds();
        var other = TestTokens.Hs256(TestTokens.Secret, claims);

        (await Participate(campaign, token)).Status.ShouldBe(HttpStatusCode.Created);
        (await Participate(campaign, token)).ShouldBeProblem(HttpStatusCode.Conflict, "token_replayed");
        (await Participate(campaign, other)).Status.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task TheLimitIsEnforcedAndTheHistoryShowsAcceptancesAndTheRefusal()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        string Token() => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("dave", campaign, jti: TestTokens.NewJti()));

        (await Participate(campaign, Token())).Json.GetProperty("remaining").GetInt32().ShouldBe(1);
        (await Participate(campaign, Token())).Json.GetProperty("remaining").GetInt32().ShouldBe(0);
        var refused = (await Participate(campaign, Token())).ShouldBeProblem(HttpStatusCode.Forbidden, "participation_limit_reached");
        refused.Json.GetProperty("remaining").GetInt32().ShouldBe(0);
        refused.Json.GetProperty("limit").GetInt32().ShouldBe(2);

        using var admin = app.AdminClient();
        var history = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}/participants/dave", Ct));
        history.Status.ShouldBe(HttpStatusCode.OK, history.Body);
        history.Json.GetProperty("accepted").GetInt32().ShouldBe(2);
        history.Json.GetProperty("limit").GetInt32().ShouldBe(2);
        history.Json.GetProperty("remaining").GetInt32().ShouldBe(0);
        history.Json.GetProperty("participations").GetArrayLength().ShouldBe(2);
        history.Json.GetProperty("rejections")[0].GetProperty("code").GetString().ShouldBe("participation_limit_reached");
    }

    [Fact]
    public async Task RaisingTheCampaignLimitAppliesToTheNextRequest()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        string Token() => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("erin", campaign, jti: TestTokens.NewJti()));

        (await Participate(campaign, Token())).Status.ShouldBe(HttpStatusCode.Created);
        (await Participate(campaign, Token())).ShouldBeProblem(HttpStatusCode.Forbidden, "participation_limit_reached");

        await _given.CampaignAsync(account, perParticipant: 2, campaignId: campaign);
        var third = await Participate(campaign, Token());
        third.Status.ShouldBe(HttpStatusCode.Created, third.Body);
        third.Json.GetProperty("number").GetInt32().ShouldBe(2);
    }

    [Fact]
    public async Task TheTokenLimitClaimIsAppliedUnderTheCampaignPolicy()
    {
        var account = await _given.HmacAccountAsync();
        var allow = await _given.CampaignAsync(account, perParticipant: 1, tokenLimit: "allow");
        var capped = await _given.CampaignAsync(account, perParticipant: 1, tokenLimit: "capped", maxTokenLimit: 2);
        var ignore = await _given.CampaignAsync(account, perParticipant: 1, tokenLimit: "ignore");

        string Token(string campaign, int nb)
        {
            var claims = TestTokens.Claims("frank", campaign, jti: TestTokens.NewJti());
            claims["limit"] = new { nb };
            return TestTokens.Hs256(TestTokens.Secret, claims);
        }

        (await Participate(allow, Token(allow, 5))).Json.GetProperty("limit").GetInt32().ShouldBe(5);
        (await Participate(capped, Token(capped, 5))).Json.GetProperty("limit").GetInt32().ShouldBe(2);
        (await Participate(ignore, Token(ignore, 5))).Json.GetProperty("limit").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task CanPlayFalseRefusesTheParticipantAndGiftCwFalseMeansCannotWin()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 3);

        var blocked = TestTokens.Claims("gina", campaign, jti: TestTokens.NewJti());
        blocked["limit"] = new { canPlay = false };
        (await Participate(campaign, TestTokens.Hs256(TestTokens.Secret, blocked)))
            .ShouldBeProblem(HttpStatusCode.Forbidden, "participant_not_allowed");

        var noWin = TestTokens.Claims("hugo", campaign, jti: TestTokens.NewJti());
        noWin["gift"] = new { label = "Bike", cw = false };
        var answer = await Participate(campaign, TestTokens.Hs256(TestTokens.Secret, noWin));
        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        answer.Json.GetProperty("canWin").GetBoolean().ShouldBeFalse();
        answer.Json.GetProperty("gift").GetProperty("label").GetString().ShouldBe("Bike");
        answer.Json.GetProperty("gift").GetProperty("cw").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task AnIntegerCampaignIdClaimMatchesANumericCampaign()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, campaignId: Random.Shared.NextInt64(100_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("ivan", long.Parse(campaign, System.Globalization.CultureInfo.InvariantCulture), jti: TestTokens.NewJti()));

        (await Participate(campaign, token)).Status.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task TheTokenIsAcceptedFromQueryFormBearerOrJson()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 10);
        string Token() => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("judy", campaign, jti: TestTokens.NewJti()));
        using var client = app.Client();
        var url = $"/v1/campaigns/{campaign}/participations";

        (await client.PostAsync($"{url}?qual_token={Token()}", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await client.PostAsync(url, new FormUrlEncodedContent([new("qual_token", Token())]), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await client.PostAsJsonAsync(url, new { token = Token() }, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        using var bearer = new HttpRequestMessage(HttpMethod.Post, url);
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token());
        (await client.SendAsync(bearer, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);

        // The same token twice in one request is not ambiguous.
        var same = Token();
        using var twice = new HttpRequestMessage(HttpMethod.Post, $"{url}?qual_token={same}");
        twice.Headers.Authorization = new AuthenticationHeaderValue("Bearer", same);
        (await client.SendAsync(twice, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
    }
}

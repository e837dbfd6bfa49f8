using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.CampaignRules;

/// <summary><c>POST /v1/campaigns/{campaignId}/eligibility</c>: every check, nothing consumed, nothing recorded.</summary>
public sealed class EligibilityTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Token(string campaign, string sub) =>
        TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(sub, campaign, jti: TestTokens.NewJti()));

    private async Task<ApiAnswer> Check(string campaign, string token)
    {
        using var client = app.Client();
        return await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/eligibility?qual_token={Uri.EscapeDataString(token)}", null, Ct));
    }

    private async Task<ApiAnswer> Participate(string campaign, string token)
    {
        using var client = app.Client();
        return await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations?qual_token={Uri.EscapeDataString(token)}", null, Ct));
    }

    [Fact]
    public async Task AnEligibleTokenIsStillUsableAfterwardsAndNothingIsRecorded()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        var token = Token(campaign, "ivy");

        for (var i = 0; i < 3; i++)
        {
            var answer = await Check(campaign, token);
            answer.Status.ShouldBe(HttpStatusCode.OK, answer.Body);
            answer.ContentType.ShouldBe("application/json");
            answer.Json.GetProperty("eligible").GetBoolean().ShouldBeTrue();
            answer.Json.GetProperty("remaining").GetInt32().ShouldBe(2);
            answer.Json.TryGetProperty("code", out _).ShouldBeFalse(answer.Body);
        }

        await using (var session = app.Store.QuerySession())
        {
            (await session.Events.FetchStreamStateAsync($"participation:{campaign}:ivy", Ct)).ShouldBeNull();
        }

        (await Participate(campaign, token)).Status.ShouldBe(HttpStatusCode.Created);
        var after = await Check(campaign, Token(campaign, "ivy"));
        after.Json.GetProperty("eligible").GetBoolean().ShouldBeTrue();
        after.Json.GetProperty("remaining").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task EveryRuleAnswersItsCodeWithoutRecordingIt()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 2, cooldownSeconds = 3600, maxParticipations = 2 } });
        var first = Token(campaign, "jon");
        (await Participate(campaign, first)).Status.ShouldBe(HttpStatusCode.Created);

        var replay = await Check(campaign, first);
        replay.Json.GetProperty("eligible").GetBoolean().ShouldBeFalse();
        replay.Json.GetProperty("code").GetString().ShouldBe("token_replayed");
        replay.Json.GetProperty("remaining").GetInt32().ShouldBe(1);

        var cooling = await Check(campaign, Token(campaign, "jon"));
        cooling.Status.ShouldBe(HttpStatusCode.OK);
        cooling.Json.GetProperty("code").GetString().ShouldBe("cooldown_active");
        cooling.Json.GetProperty("retryAfter").GetInt64().ShouldBeInRange(3590, 3600);
        cooling.Json.GetProperty("remaining").GetInt32().ShouldBe(1);

        (await Participate(campaign, Token(campaign, "kay"))).Status.ShouldBe(HttpStatusCode.Created);
        var full = await Check(campaign, Token(campaign, "lee"));
        full.Json.GetProperty("eligible").GetBoolean().ShouldBeFalse();
        full.Json.GetProperty("code").GetString().ShouldBe("campaign_full");

        var notAllowed = TestTokens.Claims("lee", campaign, jti: TestTokens.NewJti());
        notAllowed["limit"] = new { canPlay = false };
        (await Check(campaign, TestTokens.Hs256(TestTokens.Secret, notAllowed))).Json.GetProperty("code").GetString().ShouldBe("participant_not_allowed");

        await using var session = app.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync($"participation:{campaign}:lee", Ct)).ShouldBeNull();
        (await session.Events.FetchStreamAsync($"participation:{campaign}:jon", token: Ct)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task ScheduleAndLimitCodes()
    {
        var account = await _given.HmacAccountAsync();
        var future = await _given.CampaignWithAsync(account, new { startsAt = DateTimeOffset.UtcNow.AddDays(1).ToString("O") });
        var notOpen = await Check(future, Token(future, "max"));
        notOpen.Json.GetProperty("code").GetString().ShouldBe("campaign_not_open");
        notOpen.Json.GetProperty("retryAfter").GetInt64().ShouldBeInRange(86_000, 86_400);
        notOpen.Json.GetProperty("remaining").GetInt32().ShouldBe(1);

        var once = await _given.CampaignAsync(account, perParticipant: 1);
        (await Participate(once, Token(once, "max"))).Status.ShouldBe(HttpStatusCode.Created);
        var used = await Check(once, Token(once, "max"));
        used.Json.GetProperty("code").GetString().ShouldBe("participation_limit_reached");
        used.Json.GetProperty("remaining").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task TokenProblemsAnswerAsForAParticipation()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account);
        var other = await _given.CampaignAsync(account);
        using var client = app.Client();
        var url = $"/v1/campaigns/{campaign}/eligibility";

        (await ApiAnswer.From(await client.PostAsync(url, null, Ct))).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_missing");
        (await Check(campaign, TestTokens.Hs256("another-secret-of-sufficient-length-0123456789", TestTokens.Claims("ned", campaign))))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "token_invalid_signature");
        (await Check(campaign, TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("ned", campaign, exp: DateTimeOffset.UtcNow.AddHours(-1)))))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "token_expired");
        (await Check(campaign, Token(other, "ned"))).ShouldBeProblem(HttpStatusCode.Forbidden, "token_campaign_mismatch");
        (await Check(Given.NewId("nope"), Token(campaign, "ned"))).ShouldBeProblem(HttpStatusCode.NotFound, "campaign_not_found");

        // The same token sources as a participation: JSON body and Bearer, no API key needed.
        (await ApiAnswer.From(await client.PostAsJsonAsync(url, new { token = Token(campaign, "ned") }, Ct))).Status.ShouldBe(HttpStatusCode.OK);
        using var bearer = new HttpRequestMessage(HttpMethod.Post, url);
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(campaign, "ned"));
        (await ApiAnswer.From(await client.SendAsync(bearer, Ct))).Status.ShouldBe(HttpStatusCode.OK);
    }
}

using System.Net;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.CampaignRules;

/// <summary>Schedules, per-day limits and cooldowns over HTTP, with the host's clock moved for these requests only.</summary>
public sealed class TimeRulesTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<ApiAnswer> Participate(string campaignId, string sub)
    {
        // No iat/exp: the token stays valid whatever the clock of the test says.
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(sub, campaignId, jti: TestTokens.NewJti()));
        using var client = app.Client();
        return await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaignId}/participations?qual_token={Uri.EscapeDataString(token)}", null, Ct));
    }

    private static double? RetryAfter(ApiAnswer answer) => answer.Response.Headers.RetryAfter?.Delta?.TotalSeconds;

    private static DateTimeOffset Utc(int month, int day, int hour, int minute = 0, int second = 0) =>
        new(2026, month, day, hour, minute, second, TimeSpan.Zero);

    [Fact]
    public async Task BeforeTheStartNotOpenWithRetryAfter_AfterTheEndClosed_WithRealTime()
    {
        var account = await _given.HmacAccountAsync();
        var now = DateTimeOffset.UtcNow;
        var later = await _given.CampaignWithAsync(account, new { startsAt = now.AddHours(1).ToString("O"), endsAt = now.AddDays(1).ToString("O") });
        var over = await _given.CampaignWithAsync(account, new { startsAt = now.AddDays(-2).ToString("O"), endsAt = now.AddDays(-1).ToString("O") });

        var notOpen = (await Participate(later, "sam")).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_not_open");
        RetryAfter(notOpen).ShouldNotBeNull().ShouldBeInRange(3500, 3601);
        notOpen.Json.GetProperty("remaining").GetInt32().ShouldBe(1);

        var closed = (await Participate(over, "sam")).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_closed");
        RetryAfter(closed).ShouldBeNull();
        closed.Json.GetProperty("remaining").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task TheScheduleOpensAndClosesOnTime()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new
        {
            startsAt = "2026-12-01T00:00:00+01:00",
            endsAt = "2026-12-24T12:00:00+01:00",
            limits = new { perParticipant = 5 },
        });

        TestClock.TravelTo(Utc(11, 30, 22, 59, 59));
        RetryAfter((await Participate(campaign, "tess")).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_not_open")).ShouldBe(1);
        TestClock.TravelTo(Utc(11, 30, 23));
        (await Participate(campaign, "tess")).Status.ShouldBe(HttpStatusCode.Created);
        TestClock.TravelTo(Utc(12, 24, 10, 59, 59));
        (await Participate(campaign, "tess")).Status.ShouldBe(HttpStatusCode.Created);
        TestClock.TravelTo(Utc(12, 24, 11));
        (await Participate(campaign, "tess")).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_closed");
    }

    [Fact]
    public async Task TheDailyLimitFollowsTheCampaignsCalendarAcrossMidnightAndADstChange()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new
        {
            timeZone = "Europe/Paris",
            limits = new { perParticipant = 10, perParticipantPerDay = 1 },
        });

        // 28 March 23:30 in Paris (CET, UTC+1).
        TestClock.TravelTo(Utc(3, 28, 22, 30));
        (await Participate(campaign, "una")).Status.ShouldBe(HttpStatusCode.Created);
        var refused = (await Participate(campaign, "una")).ShouldBeProblem(HttpStatusCode.Forbidden, "period_limit_reached");
        RetryAfter(refused).ShouldBe(1800);
        refused.Json.GetProperty("remaining").GetInt32().ShouldBe(9);

        // Local midnight: a new day. 29 March has 23 hours (02:00 CET -> 03:00 CEST); it ends at 22:00 UTC.
        TestClock.TravelTo(Utc(3, 28, 23));
        (await Participate(campaign, "una")).Status.ShouldBe(HttpStatusCode.Created);
        TestClock.TravelTo(Utc(3, 29, 21, 59, 59));
        RetryAfter((await Participate(campaign, "una")).ShouldBeProblem(HttpStatusCode.Forbidden, "period_limit_reached")).ShouldBe(1);
        TestClock.TravelTo(Utc(3, 29, 22));
        (await Participate(campaign, "una")).Json.GetProperty("number").GetInt32().ShouldBe(3);
    }

    [Fact]
    public async Task ACooldownRefusesUntilItIsOver()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 10, cooldownSeconds = 600 } });

        TestClock.TravelTo(Utc(5, 4, 10));
        (await Participate(campaign, "vic")).Status.ShouldBe(HttpStatusCode.Created);
        TestClock.TravelTo(Utc(5, 4, 10, 4));
        var refused = (await Participate(campaign, "vic")).ShouldBeProblem(HttpStatusCode.Forbidden, "cooldown_active");
        RetryAfter(refused).ShouldBe(360);
        TestClock.TravelTo(Utc(5, 4, 10, 10));
        (await Participate(campaign, "vic")).Status.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task ACooldownWithRealTime()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 10, cooldownSeconds = 1 } });

        (await Participate(campaign, "wes")).Status.ShouldBe(HttpStatusCode.Created);
        RetryAfter((await Participate(campaign, "wes")).ShouldBeProblem(HttpStatusCode.Forbidden, "cooldown_active")).ShouldBe(1);
        await Task.Delay(TimeSpan.FromSeconds(1.1), Ct);
        (await Participate(campaign, "wes")).Status.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task ChangingTheRulesMidCampaignAppliesToTheNextRequest()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 10, perParticipantPerDay = 2 } });
        TestClock.TravelTo(Utc(6, 1, 9));

        (await Participate(campaign, "xia")).Status.ShouldBe(HttpStatusCode.Created);
        (await Participate(campaign, "xia")).Status.ShouldBe(HttpStatusCode.Created);
        (await Participate(campaign, "xia")).ShouldBeProblem(HttpStatusCode.Forbidden, "period_limit_reached");

        // Raised: one more today.
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 10, perParticipantPerDay = 3 } }, campaign);
        (await Participate(campaign, "xia")).Status.ShouldBe(HttpStatusCode.Created);

        // Lowered below what was used today: none more today, but tomorrow again.
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 10, perParticipantPerDay = 1 } }, campaign);
        (await Participate(campaign, "xia")).ShouldBeProblem(HttpStatusCode.Forbidden, "period_limit_reached");
        TestClock.TravelTo(Utc(6, 2, 9));
        (await Participate(campaign, "xia")).Status.ShouldBe(HttpStatusCode.Created);

        // A cooldown added: it counts from the last acceptance, made before it existed.
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 10, perParticipantPerDay = 5, cooldownSeconds = 3600 } }, campaign);
        TestClock.TravelTo(Utc(6, 2, 9, 15));
        RetryAfter((await Participate(campaign, "xia")).ShouldBeProblem(HttpStatusCode.Forbidden, "cooldown_active")).ShouldBe(2700);

        // The participant's own limit lowered below what it used.
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 2 } }, campaign);
        (await Participate(campaign, "xia")).ShouldBeProblem(HttpStatusCode.Forbidden, "participation_limit_reached");

        // Closed by moving the end into the past.
        await _given.CampaignWithAsync(account, new { endsAt = "2026-06-02T08:00:00Z", limits = new { perParticipant = 10 } }, campaign);
        (await Participate(campaign, "xia")).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_closed");
    }
}

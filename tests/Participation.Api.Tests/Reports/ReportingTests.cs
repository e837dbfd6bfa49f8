using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Reports;

/// <summary>The campaign report and the participation list, built by the async daemon from the same events.</summary>
public sealed class ReportingTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task Participate(string campaign, string sub, object? limit = null)
    {
        var claims = TestTokens.Claims(sub, campaign, jti: TestTokens.NewJti());
        if (limit is not null)
        {
            claims["limit"] = limit;
        }

        using var client = app.Client();
        var response = await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations",
            new FormUrlEncodedContent([new("qual_token", TestTokens.Hs256(TestTokens.Secret, claims))]),
            Ct);
        ((int)response.StatusCode).ShouldBeOneOf(201, 403);
    }

    /// <summary>Polls the report until the projection has folded in <paramref name="decisions"/> decisions (bounded).</summary>
    public static async Task<JsonElement> ReportWhenCaughtUp(HttpClient admin, string campaign, long decisions)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var report = JsonDocument.Parse(await admin.GetStringAsync($"/v1/campaigns/{campaign}/report", Ct)).RootElement;
            var seen = report.GetProperty("accepted").GetInt64() + report.GetProperty("rejected").EnumerateObject().Sum(p => p.Value.GetInt64());
            if (seen >= decisions || DateTime.UtcNow > deadline)
            {
                return report;
            }

            await Task.Delay(100, Ct);
        }
    }

    private async Task<string> CampaignWithHistory()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        await Participate(campaign, "ann");
        await Participate(campaign, "ann");
        await Participate(campaign, "ann"); // participation_limit_reached
        await Participate(campaign, "ben");
        await Participate(campaign, "=HYPERLINK(\"http://evil\",\"x\")");
        await Participate(campaign, "cid", new { canPlay = false }); // participant_not_allowed
        return campaign;
    }

    [Fact]
    public async Task TheReportCountsEveryDecisionOnce()
    {
        var campaign = await CampaignWithHistory();
        using var admin = app.AdminClient();

        var report = await ReportWhenCaughtUp(admin, campaign, 6);

        report.GetProperty("accepted").GetInt64().ShouldBe(4);
        report.GetProperty("rejected").GetProperty("participation_limit_reached").GetInt64().ShouldBe(1);
        report.GetProperty("rejected").GetProperty("participant_not_allowed").GetInt64().ShouldBe(1);
        report.GetProperty("uniqueParticipants").GetInt64().ShouldBe(3);
        report.GetProperty("participantsAtLimit").GetInt64().ShouldBe(1);
        report.GetProperty("timeZone").GetString().ShouldBe("UTC");
        var day = report.GetProperty("byDay").EnumerateArray().ShouldHaveSingleItem();
        day.GetProperty("day").GetString().ShouldBe(DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        day.GetProperty("accepted").GetInt64().ShouldBe(4);
        day.GetProperty("rejected").GetInt64().ShouldBe(2);
        day.GetProperty("newParticipants").GetInt64().ShouldBe(3);
        var asOf = report.GetProperty("asOf");
        asOf.GetProperty("sequence").GetInt64().ShouldBeGreaterThan(0);
        asOf.GetProperty("storeSequence").GetInt64().ShouldBeGreaterThanOrEqualTo(asOf.GetProperty("sequence").GetInt64());
        asOf.GetProperty("pending").GetInt32().ShouldBe(0);

        // Another campaign's new events are still being counted, this campaign has none pending: its report says so.
        var other = await _given.CampaignAsync(await _given.HmacAccountAsync(), perParticipant: 5);
        for (var i = 0; i < 5; i++)
        {
            await Participate(other, "other-" + i);
        }

        var now = JsonDocument.Parse(await admin.GetStringAsync($"/v1/campaigns/{campaign}/report", Ct)).RootElement;
        now.GetProperty("asOf").GetProperty("pending").GetInt32().ShouldBe(0);
        now.GetProperty("accepted").GetInt64().ShouldBe(4);
    }

    [Fact]
    public async Task TheListPagesByKeysetAndFiltersByOutcomeAndDay()
    {
        var campaign = await CampaignWithHistory();
        using var admin = app.AdminClient();
        await ReportWhenCaughtUp(admin, campaign, 6);

        var seen = new List<JsonElement>();
        string? next = null;
        do
        {
            var page = JsonDocument.Parse(await admin.GetStringAsync(
                $"/v1/campaigns/{campaign}/participations?limit=4{(next is null ? "" : "&after=" + next)}", Ct)).RootElement;
            seen.AddRange(page.GetProperty("items").EnumerateArray());
            next = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        }
        while (next is not null && seen.Count < 100);

        seen.Count.ShouldBe(6);
        seen.Select(i => i.GetProperty("sequence").GetInt64()).ShouldBeInOrder();
        seen.Count(i => i.GetProperty("outcome").GetString() == "accepted").ShouldBe(4);

        async Task<int> Count(string query) =>
            JsonDocument.Parse(await admin.GetStringAsync($"/v1/campaigns/{campaign}/participations?{query}", Ct))
                .RootElement.GetProperty("items").GetArrayLength();

        (await Count("outcome=accepted")).ShouldBe(4);
        (await Count("outcome=rejected")).ShouldBe(2);
        (await Count("outcome=participant_not_allowed")).ShouldBe(1);
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        (await Count($"day={today}")).ShouldBe(6);
        (await Count("day=2001-01-01")).ShouldBe(0);

        (await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}/participations?limit=0&day=yesterday", Ct)))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid")
            .Json.GetProperty("errors").EnumerateObject().Select(p => p.Name).ShouldBe(["limit", "day"], ignoreOrder: true);
    }

    [Fact]
    public async Task TheCsvExportStreamsEveryRowWithFormulasNeutralised()
    {
        var campaign = await CampaignWithHistory();
        using var admin = app.AdminClient();
        await ReportWhenCaughtUp(admin, campaign, 6);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/campaigns/{campaign}/participations");
        request.Headers.Accept.ParseAdd("text/csv");
        var response = await admin.SendAsync(request, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var lines = (await response.Content.ReadAsStringAsync(Ct)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe("sequence,sub,outcome,number,participationId,at,jti");
        lines.Length.ShouldBe(7);
        lines.ShouldContain(l => l.Contains(",\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",accepted,1,", StringComparison.Ordinal));
        lines.Count(l => l.Contains(",ann,accepted,", StringComparison.Ordinal)).ShouldBe(2);
    }

    [Fact]
    public async Task DecisionsAreCountedInTheMetrics()
    {
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        long durations = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Participation")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "code")
                {
                    counts.AddOrUpdate((string)tag.Value!, value, (_, v) => v + value);
                }
            }
        });
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref durations));
        listener.Start();

        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        await Participate(campaign, "m1");
        await Participate(campaign, "m1");
        await Participate(campaign, "m2", new { canPlay = false });

        counts.GetValueOrDefault("accepted").ShouldBeGreaterThanOrEqualTo(1);
        counts.GetValueOrDefault("participation_limit_reached").ShouldBeGreaterThanOrEqualTo(1);
        counts.GetValueOrDefault("participant_not_allowed").ShouldBeGreaterThanOrEqualTo(1);
        Interlocked.Read(ref durations).ShouldBeGreaterThanOrEqualTo(3);
    }

    [Fact]
    public async Task AnOperatorScrapesTheDecisionMetricsAtSlashMetrics()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        using var client = app.KestrelClient();
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("scraped", campaign, jti: TestTokens.NewJti()));
        (await client.PostAsync($"/v1/campaigns/{campaign}/participations?qual_token={token}", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var text = await client.GetStringAsync("/metrics", Ct);

        text.ShouldContain("participation_decisions");
        text.ShouldContain("code=\"accepted\"");
        text.ShouldContain("participation_decision_duration");
        text.ShouldNotContain("qual_token");
        text.ShouldNotContain(token);
    }
}

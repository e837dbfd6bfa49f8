using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Participation.Api.Tests.Infrastructure;
using Participation.Api.Tests.Reports;
using Shouldly;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Participation.Api.Tests.Pages;

/// <summary>
/// <c>/dashboard/{campaignId}</c> in a real headless Chromium, over HTTP on loopback: the campaign's figures for
/// the marketers of its account, behind the account's API key.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardPageTests(AppFixture app, HeadlessChromium chromium)
{
    private const string CampaignName = "Summer instant win";

    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<string> AccountKeyAsync(string account)
    {
        using var admin = app.AdminClient();
        var response = await admin.PostAsync($"/v1/accounts/{account}/api-keys", null, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("key").GetString()!;
    }

    /// <summary>
    /// Four days of a campaign (two participations per person): the in-process host's clock travels to each past
    /// day for this method's requests only (the travel ends with this method's async flow).
    /// </summary>
    private async Task SeedFourDaysAsync(string campaign)
    {
        var today = DateTimeOffset.UtcNow;
        string[][] days =
        [
            ["p1"],
            ["p2", "p3", "p4"],
            ["p1", "p5", "p2", "p1"], // p1's third: participation_limit_reached
            ["p6", "p7", "p3", "p1", "p8!"], // p1 again: limit; p8 may not play: participant_not_allowed
        ];
        using var client = app.Client();
        for (var i = 0; i < days.Length; i++)
        {
            var offset = days.Length - 1 - i;
            if (offset > 0)
            {
                TestClock.TravelTo(new DateTimeOffset(today.UtcDateTime.Date.AddDays(-offset).AddHours(12), TimeSpan.Zero));
            }
            else
            {
                TestClock.TravelTo(DateTimeOffset.UtcNow);
            }

            foreach (var who in days[i])
            {
                var claims = TestTokens.Claims(who.TrimEnd('!'), campaign, jti: TestTokens.NewJti());
                if (who.EndsWith('!'))
                {
                    claims["limit"] = new { canPlay = false };
                }

                var response = await client.PostAsync(
                    $"/v1/campaigns/{campaign}/participations",
                    new FormUrlEncodedContent([new("qual_token", TestTokens.Hs256(TestTokens.Secret, claims))]),
                    Ct);
                ((int)response.StatusCode).ShouldBeOneOf(201, 403);
            }
        }
    }

    /// <summary>Polls the participation list (another async projection) until it has <paramref name="rows"/> rows (bounded).</summary>
    private static async Task<int> RowsWhenCaughtUp(HttpClient admin, string campaign, int rows)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var page = JsonDocument.Parse(await admin.GetStringAsync($"/v1/campaigns/{campaign}/participations?limit=1000", Ct)).RootElement;
            var count = page.GetProperty("items").GetArrayLength();
            if (count >= rows || DateTime.UtcNow > deadline)
            {
                return count;
            }

            await Task.Delay(100, Ct);
        }
    }

    [Fact]
    public async Task WithTheAccountKeyTheDashboardShowsTheReportAndAChartPerDay()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { name = CampaignName, limits = new { perParticipant = 2 } });
        var key = await AccountKeyAsync(account);
        await SeedFourDaysAsync(campaign);

        // The report is an async projection: wait (bounded) until it has folded in all 13 decisions.
        using (var admin = app.AdminClient())
        {
            var report = await ReportingTests.ReportWhenCaughtUp(admin, campaign, 13);
            report.GetProperty("accepted").GetInt64().ShouldBe(10, report.ToString());
            report.GetProperty("byDay").GetArrayLength().ShouldBe(4, report.ToString());
            (await RowsWhenCaughtUp(admin, campaign, 13)).ShouldBe(13);
        }

        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        (await tab.Page.GotoAsync($"/dashboard/{campaign}"))!.Status.ShouldBe(200);
        await tab["#api-key"].FillAsync(key);
        await tab["#show"].ClickAsync();

        await Expect(tab["#report"]).ToBeVisibleAsync();
        await Expect(tab["#campaign-name"]).ToHaveTextAsync(CampaignName);
        await Expect(tab["#status"]).ToContainTextAsync($"Figures for {CampaignName}");
        await Expect(tab["#accepted"]).ToHaveTextAsync("10");
        await Expect(tab["#unique"]).ToHaveTextAsync("7");
        await Expect(tab["#at-limit"]).ToHaveTextAsync("3");
        await Expect(tab["#refused"]).ToHaveTextAsync("3");
        await Expect(tab["#refusals tbody tr"]).ToHaveCountAsync(2);
        await Expect(tab["#refusals tbody tr"].First).ToContainTextAsync("limit reached");

        // The chart: one pair of bars per day, in order, each bar as high as its count.
        var expectedDays = Enumerable.Range(0, 4)
            .Select(i => DateTime.UtcNow.Date.AddDays(i - 3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))
            .ToArray();
        await Expect(tab["#chart svg rect.bar-accepted"]).ToHaveCountAsync(4);
        await Expect(tab["#chart svg rect.bar-rejected"]).ToHaveCountAsync(4);
        var bars = tab["#chart svg rect.bar-accepted"];
        var days = new List<string>();
        var heights = new List<double>();
        for (var i = 0; i < 4; i++)
        {
            days.Add((await bars.Nth(i).GetAttributeAsync("data-day"))!);
            heights.Add(double.Parse((await bars.Nth(i).GetAttributeAsync("height"))!, CultureInfo.InvariantCulture));
        }

        days.ShouldBe(expectedDays);
        heights[0].ShouldBeGreaterThan(0);
        heights[1].ShouldBe(heights[0] * 3, 0.01); // 1, 3, 3, 3 accepted
        heights[2].ShouldBe(heights[1], 0.01);
        heights[3].ShouldBe(heights[1], 0.01);
        (await tab["#chart svg"].BoundingBoxAsync())!.Height.ShouldBeGreaterThan(100);
        await Expect(tab["#days tbody tr"]).ToHaveCountAsync(4);
        await Expect(tab["#days tbody tr"].First).ToContainTextAsync(expectedDays[3]);

        tab.ShouldHaveNoConsoleProblems();
        await tab.ScreenshotAsync("dashboard");

        // Export CSV: the page fetches the list with the key and hands it to the browser as a download.
        var download = await tab.Page.RunAndWaitForDownloadAsync(() => tab["#export"].ClickAsync());
        download.SuggestedFilename.ShouldBe($"participations-{campaign}.csv");
        var csv = await File.ReadAllLinesAsync((await download.PathAsync())!, Ct);
        csv[0].ShouldBe("sequence,sub,outcome,number,participationId,at,jti");
        csv.Skip(1).Count(line => line.Contains(",accepted,", StringComparison.Ordinal)).ShouldBe(10);
        tab.ShouldHaveNoConsoleProblems();
    }

    [Fact]
    public async Task WithoutAKeyOrWithAWrongOneTheDashboardShowsNoFigures()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { name = CampaignName });
        var otherAccountKey = await AccountKeyAsync(await _given.HmacAccountAsync());
        await using var tab = await BrowserTab.OpenAsync(chromium, app);

        var response = await tab.Page.GotoAsync($"/dashboard/{campaign}");

        response!.Status.ShouldBe(200);
        response.Headers["x-frame-options"].ShouldBe("DENY");
        await Expect(tab["#status"]).ToHaveTextAsync("Enter the account's API key to see this campaign's figures.");
        await Expect(tab["#report"]).ToBeHiddenAsync();
        (await tab.Page.Locator("body").InnerTextAsync()).ShouldNotContain(CampaignName);

        await tab["#api-key"].FillAsync("pk_not-a-real-key");
        await tab["#show"].ClickAsync();
        await Expect(tab["#status"]).ToHaveTextAsync("This API key is not valid. Enter the key of the account that owns this campaign.");
        await Expect(tab["#report"]).ToBeHiddenAsync();
        await Expect(tab["#forget"]).ToBeHiddenAsync();

        // Another account's valid key: its campaigns only; this one does not exist for it.
        await tab["#api-key"].FillAsync(otherAccountKey);
        await tab["#show"].ClickAsync();
        await Expect(tab["#status"]).ToContainTextAsync("This key does not give access to campaign");
        await Expect(tab["#report"]).ToBeHiddenAsync();

        // A refused key is not kept: a reload asks for a key again.
        await tab.Page.ReloadAsync();
        await Expect(tab["#status"]).ToHaveTextAsync("Enter the account's API key to see this campaign's figures.");
        (await tab.Page.Locator("body").InnerTextAsync()).ShouldNotContain(CampaignName);
        tab.ShouldHaveNoConsoleProblems();
    }
}

using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Participation.Api.Tests.Pages;

/// <summary>
/// <c>/assets/embed.js</c> on a partner's page of another origin, as docs/integration.md shows it: the play page in an
/// iframe, the <c>participation</c> DOM events, and elements the partner's page adds later.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class EmbedTests(AppFixture app, HeadlessChromium chromium)
{
    private readonly Given _given = new(app);

    private static string Token(string campaign, string sub) =>
        TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(sub, campaign, jti: TestTokens.NewJti()));

    /// <summary>
    /// The partner's page, served by a partner site of its own: another origin (another loopback port) than the
    /// service's, as on the internet.
    /// </summary>
    private static async Task<(WebApplication Site, IPage Page)> OpenPartnerPageAsync(BrowserTab tab, string campaign, string token)
    {
        var html = $$"""
            <!doctype html>
            <html><head><title>Partner</title></head><body>
            <h1>Our contest</h1>
            <div id="first" data-participation-campaign="{{campaign}}" data-participation-token="{{token}}"></div>
            <script>
              window.participationEvents = [];
              document.addEventListener('participation', (event) => window.participationEvents.push(event.detail));
            </script>
            <script src="{{new Uri(tab.BaseAddress, "/assets/embed.js")}}" async></script>
            </body></html>
            """;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var site = builder.Build();
        site.MapGet("/contest", () => Results.Content(html, "text/html"));
        await site.StartAsync(TestContext.Current.CancellationToken);
        var address = site.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        await tab.Page.GotoAsync(address + "/contest");
        return (site, tab.Page);
    }

    private static async Task<JsonElement[]> EventsAsync(IPage page) =>
        JsonSerializer.Deserialize<JsonElement[]>(await page.EvaluateAsync<string>("() => JSON.stringify(window.participationEvents)"))!;

    private static async Task<JsonElement> WaitForEventAsync(IPage page, string type)
    {
        await page.WaitForFunctionAsync($"() => window.participationEvents.some(e => e.type === '{type}')", null,
            new PageWaitForFunctionOptions { Timeout = BrowserTab.Timeout });
        return (await EventsAsync(page)).First(e => e.GetProperty("type").GetString() == type);
    }

    [Fact]
    public async Task TheEmbeddedPlayPageTakesPartAndTellsThePartnersPage()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { name = "Embedded quiz", limits = new { perParticipant = 2 } });
        var token = Token(campaign, "embedded-1");
        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        var (site, page) = await OpenPartnerPageAsync(tab, campaign, token);
        await using var _ = site;

        var frame = page.FrameLocator("#first iframe");
        await Expect(frame.Locator("#status")).ToHaveTextAsync("You can take part.");
        (await WaitForEventAsync(page, "checked")).GetProperty("code").GetString().ShouldBe("eligible");

        await frame.Locator("#take-part").ClickAsync();

        await Expect(frame.Locator("#result")).ToHaveTextAsync("You are in! This is your participation #1.");
        var participated = await WaitForEventAsync(page, "participated");
        participated.GetProperty("campaignId").GetString().ShouldBe(campaign);
        participated.GetProperty("number").GetInt32().ShouldBe(1);
        participated.GetProperty("remaining").GetInt32().ShouldBe(1);
        (await EventsAsync(page)).ShouldAllBe(e => !e.GetRawText().Contains(token, StringComparison.Ordinal));
        tab.ShouldHaveNoConsoleProblems();
    }

    [Fact]
    public async Task AReplayedInvitationIsReportedAndAnElementAddedLaterIsMounted()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 3 } });
        var token = Token(campaign, "embedded-2");
        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        var (site, page) = await OpenPartnerPageAsync(tab, campaign, token);
        await using var _ = site;
        var frame = page.FrameLocator("#first iframe");
        await Expect(frame.Locator("#status")).ToHaveTextAsync("You can take part.");

        // The same invitation is used elsewhere (another tab, the partner's own call) before the click.
        using (var client = app.KestrelClient())
        {
            var elsewhere = await client.PostAsync(
                $"/v1/campaigns/{campaign}/participations?qual_token={token}", null, TestContext.Current.CancellationToken);
            ((int)elsewhere.StatusCode).ShouldBe(201);
        }

        await frame.Locator("#take-part").ClickAsync();

        await Expect(frame.Locator("#result")).ToContainTextAsync("already been used");
        (await WaitForEventAsync(page, "replayed")).GetProperty("number").GetInt32().ShouldBe(1);

        // A single-page application renders another contest block after embed.js ran: it is mounted too.
        await page.EvaluateAsync(
            "([campaign, token]) => { const div = document.createElement('div'); div.id = 'later'; div.dataset.participationCampaign = campaign; div.dataset.participationToken = token; document.body.appendChild(div); }",
            new[] { campaign, Token(campaign, "embedded-3") });

        await Expect(page.FrameLocator("#later iframe").Locator("#status")).ToHaveTextAsync("You can take part.");
        await Expect(page.Locator("#first iframe")).ToHaveCountAsync(1);
        tab.ShouldHaveNoConsoleProblems();
    }
}

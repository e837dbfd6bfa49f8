using System.Net;
using System.Text.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Participation.Api.Tests.Pages;

/// <summary>
/// <c>/play/{campaignId}?qual_token=...</c> in a real headless Chromium, over HTTP on loopback: what a visitor a
/// partner sends sees, reads and clicks.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PlayPageTests(AppFixture app, HeadlessChromium chromium)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Token(string campaign, string sub, string? jti = null, DateTimeOffset? exp = null, string secret = TestTokens.Secret) =>
        TestTokens.Hs256(secret, TestTokens.Claims(sub, campaign, jti: jti ?? TestTokens.NewJti(), exp: exp));

    private static string PlayUrl(string campaign, string token) => $"/play/{campaign}?qual_token={Uri.EscapeDataString(token)}";

    private async Task<JsonElement> ParticipantAsync(string campaign, string sub)
    {
        using var admin = app.AdminClient(kestrel: true);
        var text = await admin.GetStringAsync($"/v1/campaigns/{campaign}/participants/{Uri.EscapeDataString(sub)}", Ct);
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task AnInvitedVisitorSeesTheRemainingCountTakesPartAndTheParticipationIsRecorded()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { name = "Spring quiz", limits = new { perParticipant = 3 } });
        var jti = TestTokens.NewJti();
        var token = Token(campaign, "visitor-1", jti);
        await using var tab = await BrowserTab.OpenAsync(chromium, app);

        var response = await tab.Page.GotoAsync(PlayUrl(campaign, token));

        response!.Status.ShouldBe(200);
        await Expect(tab["#campaign-name"]).ToHaveTextAsync("Spring quiz");
        await Expect(tab["#status"]).ToHaveTextAsync("You can take part.");
        await Expect(tab["#remaining"]).ToHaveTextAsync("3");
        await Expect(tab["#remaining-label"]).ToHaveTextAsync("participations left");
        await Expect(tab["#take-part"]).ToBeEnabledAsync();
        await tab.ShouldShowOnlyHumanTextAsync(token);

        await tab["#take-part"].ClickAsync();

        await Expect(tab["#result"]).ToHaveTextAsync("You are in! This is your participation #1.");
        await Expect(tab["#remaining"]).ToHaveTextAsync("2");
        await Expect(tab["#take-part"]).ToBeDisabledAsync();
        await Expect(tab["#status"]).ToContainTextAsync("come back through the site that invited you");
        await tab.ShouldShowOnlyHumanTextAsync(token);
        tab.ShouldHaveNoConsoleProblems();
        await tab.ScreenshotAsync("play");

        var participant = await ParticipantAsync(campaign, "visitor-1");
        participant.GetProperty("accepted").GetInt32().ShouldBe(1);
        participant.GetProperty("remaining").GetInt32().ShouldBe(2);
        participant.GetProperty("participations").EnumerateArray().ShouldHaveSingleItem().GetProperty("jti").GetString().ShouldBe(jti);
    }

    [Fact]
    public async Task AfterTheLastParticipationANewInvitationAndAReloadSayTheLimitIsReached()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        await tab.Page.GotoAsync(PlayUrl(campaign, Token(campaign, "visitor-2")));
        await Expect(tab["#status"]).ToHaveTextAsync("You can take part: this is your last participation.");
        await Expect(tab["#remaining-label"]).ToHaveTextAsync("participation left");
        await tab["#take-part"].ClickAsync();
        await Expect(tab["#result"]).ToHaveTextAsync("You are in! This is your participation #1.");
        await Expect(tab["#remaining"]).ToHaveTextAsync("0");
        await Expect(tab["#status"]).ToHaveTextAsync("That was your last participation. Thank you for taking part!");

        // The partner invites the same person again, with a new token: the page says why not, before any click.
        var second = Token(campaign, "visitor-2");
        await tab.Page.GotoAsync(PlayUrl(campaign, second));
        await Expect(tab["#status"]).ToHaveTextAsync("You have used all your participations in this campaign. Thank you for taking part!");
        await Expect(tab["#remaining"]).ToHaveTextAsync("0");
        await Expect(tab["#take-part"]).ToBeDisabledAsync();
        await tab.ShouldShowOnlyHumanTextAsync(second);

        // A reload keeps the invitation (session storage, not the address bar) and the answer.
        await tab.Page.ReloadAsync();
        await Expect(tab["#status"]).ToHaveTextAsync("You have used all your participations in this campaign. Thank you for taking part!");
        await Expect(tab["#take-part"]).ToBeDisabledAsync();
        await tab.ShouldShowOnlyHumanTextAsync(second);
        tab.ShouldHaveNoConsoleProblems();

        (await ParticipantAsync(campaign, "visitor-2")).GetProperty("accepted").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task ASecondTabOpenedBeforeTheLastParticipationIsRefusedOnItsClick()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        var other = await tab.NewPageAsync();
        var otherToken = Token(campaign, "visitor-3");
        await tab.Page.GotoAsync(PlayUrl(campaign, Token(campaign, "visitor-3")));
        await other.GotoAsync(PlayUrl(campaign, otherToken));
        await Expect(tab["#take-part"]).ToBeEnabledAsync();
        await Expect(other.Locator("#take-part")).ToBeEnabledAsync();

        await tab["#take-part"].ClickAsync();
        await Expect(tab["#result"]).ToHaveTextAsync("You are in! This is your participation #1.");
        await other.Locator("#take-part").ClickAsync();

        // The refusal replaces "You can take part", it does not sit under it.
        await Expect(other.Locator("#status")).ToHaveTextAsync("You have used all your participations in this campaign. Thank you for taking part!");
        await Expect(other.Locator("#result")).ToBeHiddenAsync();
        await Expect(other.Locator("#remaining")).ToHaveTextAsync("0");
        await Expect(other.Locator("#take-part")).ToBeDisabledAsync();
        await tab.ShouldShowOnlyHumanTextAsync(otherToken, other);
        tab.ShouldHaveNoConsoleProblems();

        (await ParticipantAsync(campaign, "visitor-3")).GetProperty("accepted").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task AnInvitationAlreadyUsedSaysSoWhetherReopenedOrReloaded()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 5);
        var token = Token(campaign, "visitor-4");
        using (var client = app.KestrelClient())
        {
            (await client.PostAsync($"/v1/campaigns/{campaign}/participations?qual_token={token}", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        }

        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        await tab.Page.GotoAsync(PlayUrl(campaign, token));

        await Expect(tab["#status"]).ToContainTextAsync("This invitation has already been used: your participation is recorded.");
        await Expect(tab["#remaining"]).ToHaveTextAsync("4");
        await Expect(tab["#take-part"]).ToBeDisabledAsync();
        await tab.ShouldShowOnlyHumanTextAsync(token);

        // The same after taking part on the page itself and reloading it.
        var fresh = Token(campaign, "visitor-4");
        await tab.Page.GotoAsync(PlayUrl(campaign, fresh));
        await Expect(tab["#take-part"]).ToBeEnabledAsync();
        await tab["#take-part"].ClickAsync();
        await Expect(tab["#result"]).ToHaveTextAsync("You are in! This is your participation #2.");
        await tab.Page.ReloadAsync();
        await Expect(tab["#status"]).ToContainTextAsync("This invitation has already been used: your participation is recorded.");
        await Expect(tab["#remaining"]).ToHaveTextAsync("3");
        await Expect(tab["#take-part"]).ToBeDisabledAsync();
        await tab.ShouldShowOnlyHumanTextAsync(fresh);
        tab.ShouldHaveNoConsoleProblems();

        (await ParticipantAsync(campaign, "visitor-4")).GetProperty("accepted").GetInt32().ShouldBe(2);
    }

    [Theory]
    [InlineData("expired", "This invitation has expired. Please go back to the site that invited you to get a new one.")]
    [InlineData("forged", "This invitation could not be verified. Please open the campaign again from the site that sent you here.")]
    [InlineData("damaged", "This invitation link is damaged or incomplete. Please open the campaign again from the site that sent you here.")]
    [InlineData("other campaign", "This invitation is for another campaign.")]
    [InlineData("none", "This link has no invitation in it. Please open the campaign again from the site that sent you here.")]
    public async Task AnInvitationThatCannotBeUsedGetsASentence(string kind, string sentence)
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        string? token = kind switch
        {
            "expired" => Token(campaign, "visitor-5", exp: DateTimeOffset.UtcNow.AddHours(-1)),
            "forged" => Token(campaign, "visitor-5", secret: TestTokens.Secret.ToUpperInvariant()),
            "damaged" => Token(campaign, "visitor-5")[..40],
            "other campaign" => Token(await _given.CampaignAsync(account), "visitor-5"),
            _ => null,
        };
        await using var tab = await BrowserTab.OpenAsync(chromium, app);

        await tab.Page.GotoAsync(token is null ? $"/play/{campaign}" : PlayUrl(campaign, token));

        await Expect(tab["#status"]).ToHaveTextAsync(sentence);
        await Expect(tab["#take-part"]).ToBeDisabledAsync();
        await Expect(tab["#remaining"]).ToHaveTextAsync("–");
        await tab.ShouldShowOnlyHumanTextAsync(token);
        tab.ShouldHaveNoConsoleProblems();
        (await ParticipantAsync(campaign, "visitor-5")).GetProperty("accepted").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task AnUnknownCampaignGetsASentenceAndTheInvitationLeavesTheAddressBar()
    {
        var campaign = Given.NewId("gone");
        var token = Token(campaign, "visitor-6");
        await using var tab = await BrowserTab.OpenAsync(chromium, app);

        var response = await tab.Page.GotoAsync(PlayUrl(campaign, token));

        response!.Status.ShouldBe(404);
        await Expect(tab.Page.Locator("h1")).ToHaveTextAsync("Campaign not found");
        await Expect(tab["#status"]).ToHaveTextAsync("This campaign does not exist (any more). Please go back to the site that sent you here.");
        await Expect(tab.Page).Not.ToHaveURLAsync(new System.Text.RegularExpressions.Regex("qual_token"));
        await tab.ShouldShowOnlyHumanTextAsync(token);
        tab.ShouldHaveNoConsoleProblems();
    }
}

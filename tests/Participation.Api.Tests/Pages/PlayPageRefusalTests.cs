using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Participation.Api.Tests.Pages;

/// <summary>
/// Every refusal the play page can meet gets a sentence a visitor understands: each code of DESIGN.md (and the
/// service's 429, 500 and 503), in a real headless Chromium. The campaign rules' refusals are produced by the service
/// itself; the sentence table is checked code by code with the API's answers played to the page.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class PlayPageRefusalTests(AppFixture app, HeadlessChromium chromium)
{
    private const string Fallback = "This participation is not possible right now";

    private static readonly string[] ServiceCodes = ["rate_limited", "internal_error", "service_unavailable"];

    private static readonly HashSet<string> RuleCodes = new(StringComparer.Ordinal)
    {
        "participant_not_allowed", "participation_limit_reached", "period_limit_reached", "cooldown_active", "campaign_full", "campaign_not_open",
        "campaign_closed", "token_replayed",
    };

    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> EveryCode()
    {
        var data = new TheoryData<string>();
        foreach (var code in DesignContract.AllCodes.Concat(ServiceCodes))
        {
            data.Add(code);
        }

        return data;
    }

    private static int StatusOf(string code) =>
        code switch
        {
            "rate_limited" => 429,
            "internal_error" => 500,
            "service_unavailable" => 503,
            _ => DesignContract.ParticipationCodes.Single(c => c.Codes.Contains(code)).Status,
        };

    private static string Token(string campaign, string sub, object? limit = null)
    {
        var claims = TestTokens.Claims(sub, campaign, jti: TestTokens.NewJti());
        if (limit is not null)
        {
            claims["limit"] = limit;
        }

        return TestTokens.Hs256(TestTokens.Secret, claims);
    }

    private static string PlayUrl(string campaign, string token) => $"/play/{campaign}?qual_token={Uri.EscapeDataString(token)}";

    private async Task ParticipateAsync(string campaign, string token)
    {
        using var client = app.KestrelClient();
        ((int)(await client.PostAsync($"/v1/campaigns/{campaign}/participations?qual_token={token}", null, Ct)).StatusCode).ShouldBe(201);
    }

    [Fact]
    public void The_pages_sentence_table_names_every_code_of_the_contract()
    {
        var script = RepositoryFiles.Read("src", "Participation.Api", "Pages", "Assets", "play.js");
        var table = script[script.IndexOf("const SENTENCES = {", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("};", StringComparison.Ordinal)];
        var keys = SentenceKey().Matches(table).Select(m => m.Groups[1].Value).ToList();

        keys.ShouldBeUnique();
        foreach (var code in DesignContract.AllCodes.Concat(ServiceCodes))
        {
            keys.ShouldContain(code, $"play.js has no sentence for {code}");
        }
    }

    /// <summary>The page is opened with the API's answer for <paramref name="code"/>, first when it checks the invitation, then on the click.</summary>
    [Theory]
    [MemberData(nameof(EveryCode))]
    public async Task Each_code_gets_a_sentence_when_the_invitation_is_checked_and_when_taking_part(string code)
    {
        var campaign = await _given.CampaignAsync(await _given.HmacAccountAsync(), perParticipant: 3);
        var token = Token(campaign, "sentences");
        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        var status = StatusOf(code);
        var problem = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["type"] = "urn:participation:problem:" + code,
            ["title"] = "Refused",
            ["status"] = status,
            ["detail"] = "A sentence for developers.",
            ["code"] = code,
            ["limit"] = 3,
            ["remaining"] = 1,
            ["participationId"] = "0193a5b2-7c1e-7d3f-9a4b-2c5d6e7f8a9b",
            ["number"] = 2,
        });

        // 1. The check on load: rule outcomes are a 200 verdict, every other code its own problem answer.
        await tab.Page.RouteAsync("**/v1/campaigns/*/eligibility", route => RuleCodes.Contains(code)
            ? route.FulfillAsync(new RouteFulfillOptions
            {
                Status = 200,
                ContentType = "application/json",
                Body = JsonSerializer.Serialize(new { eligible = false, remaining = 1, limit = 3, code }),
            })
            : route.FulfillAsync(new RouteFulfillOptions { Status = status, ContentType = "application/problem+json", Body = problem }));
        await tab.Page.GotoAsync(PlayUrl(campaign, token));

        await Expect(tab["#status"]).Not.ToHaveTextAsync(new Regex("^Checking"));
        var onLoad = await tab["#status"].InnerTextAsync();
        onLoad.ShouldNotContain(Fallback);
        onLoad.Length.ShouldBeGreaterThan(20, onLoad);
        (await tab["#status"].GetAttributeAsync("data-kind")).ShouldBeOneOf("refused", "wait");
        await Expect(tab["#take-part"]).ToBeDisabledAsync();
        await tab.ShouldShowOnlyHumanTextAsync(token);

        // 2. The click: the check said yes, the participation answers the code.
        await tab.Page.UnrouteAllAsync();
        await tab.Page.RouteAsync("**/v1/campaigns/*/participations", route => route.FulfillAsync(
            new RouteFulfillOptions { Status = status, ContentType = "application/problem+json", Body = problem }));
        await tab.Page.GotoAsync(PlayUrl(campaign, Token(campaign, "sentences-click")));
        await Expect(tab["#take-part"]).ToBeEnabledAsync();
        await tab["#take-part"].ClickAsync();

        var answer = code == "token_replayed" ? tab["#result"] : status >= 500 || code == "rate_limited" ? tab["#result"] : tab["#status"];
        // The result element starts empty: wait for the answer's sentence, not just for the absence of the old one.
        await Expect(answer).ToHaveTextAsync(new Regex(@"^(?!You can take part|Checking)\S"));
        var onClick = await answer.InnerTextAsync();
        onClick.ShouldNotContain(Fallback);
        onClick.Length.ShouldBeGreaterThan(20, onClick);
        await tab.ShouldShowOnlyHumanTextAsync();
        tab.ShouldHaveNoConsoleProblems();
    }

    public static TheoryData<string> RuleRefusals() =>
        new() { "participant_not_allowed", "period_limit_reached", "cooldown_active", "campaign_full", "campaign_not_open", "campaign_closed" };

    /// <summary>The campaign's own rules, set up for real and answered by the service: what the visitor reads before any click.</summary>
    [Theory]
    [MemberData(nameof(RuleRefusals))]
    public async Task A_refusal_of_the_campaigns_rules_is_explained_before_any_click(string code)
    {
        var account = await _given.HmacAccountAsync();
        var now = DateTimeOffset.UtcNow;
        object settings = code switch
        {
            "period_limit_reached" => new { limits = new { perParticipant = 5, perParticipantPerDay = 1 } },
            "cooldown_active" => new { limits = new { perParticipant = 5, cooldownSeconds = 3600 } },
            "campaign_full" => new { limits = new { perParticipant = 5, maxParticipations = 1 } },
            "campaign_not_open" => new { startsAt = now.AddDays(2).ToString("O"), limits = new { perParticipant = 5 } },
            "campaign_closed" => new { startsAt = now.AddDays(-10).ToString("O"), endsAt = now.AddDays(-1).ToString("O"), limits = new { perParticipant = 5 } },
            _ => new { limits = new { perParticipant = 5 } },
        };
        var campaign = await _given.CampaignWithAsync(account, settings);
        if (code is "period_limit_reached" or "cooldown_active")
        {
            await ParticipateAsync(campaign, Token(campaign, "ruled"));
        }
        else if (code == "campaign_full")
        {
            await ParticipateAsync(campaign, Token(campaign, "someone-else"));
        }

        var token = code == "participant_not_allowed" ? Token(campaign, "ruled", limit: new { canPlay = false }) : Token(campaign, "ruled");
        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        await tab.Page.GotoAsync(PlayUrl(campaign, token));

        var expected = code switch
        {
            "participant_not_allowed" => "Sorry, your account cannot take part in this campaign.",
            "period_limit_reached" => "You have used all your participations for today. You can take part again in ",
            "cooldown_active" => "You took part a moment ago: please wait a little before taking part again. You can take part again in ",
            "campaign_full" => "This campaign has reached its maximum number of participations. Thank you for your interest!",
            "campaign_not_open" => "This campaign has not started yet. It opens in 2 days.",
            _ => "This campaign has ended. Thank you for your interest!",
        };
        await Expect(tab["#status"]).ToContainTextAsync(expected);
        if (code == "cooldown_active")
        {
            // Retry-After of a one-hour cooldown that started a moment ago.
            await Expect(tab["#status"]).ToHaveTextAsync(new Regex(@"again in (59|60) minutes\.$"));
        }

        (await tab["#status"].GetAttributeAsync("data-kind")).ShouldBe(code is "period_limit_reached" or "cooldown_active" or "campaign_not_open" ? "wait" : "refused");
        await Expect(tab["#take-part"]).ToBeDisabledAsync();
        await tab.ShouldShowOnlyHumanTextAsync(token);
        tab.ShouldHaveNoConsoleProblems();

        // Nothing was consumed by the page: the participant's history has no refusal and no participation from it.
        using var admin = app.AdminClient(kestrel: true);
        var history = JsonDocument.Parse(await admin.GetStringAsync($"/v1/campaigns/{campaign}/participants/ruled", Ct)).RootElement;
        history.GetProperty("rejections").GetArrayLength().ShouldBe(0);
        history.GetProperty("accepted").GetInt32().ShouldBe(code is "period_limit_reached" or "cooldown_active" ? 1 : 0);
    }

    [GeneratedRegex(@"^\s*([a-z_]+):", RegexOptions.Multiline)]
    private static partial Regex SentenceKey();
}

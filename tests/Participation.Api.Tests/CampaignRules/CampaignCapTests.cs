using System.Net;
using Marten;
using Participation.Api.Tests.Infrastructure;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.CampaignRules;

/// <summary><c>limits.maxParticipations</c>: exact under concurrency, across participants and hosts.</summary>
public sealed class CampaignCapTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Token(string campaign, string sub) =>
        TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(sub, campaign, jti: TestTokens.NewJti()));

    private static async Task<ApiAnswer> Post(HttpClient client, string campaign, string token) =>
        await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct));

    /// <summary>Every request waits for one signal, then all go at once; clients are used round-robin.</summary>
    private static async Task<ApiAnswer[]> Race(string campaign, IReadOnlyList<string> tokens, params HttpClient[] clients)
    {
        using var start = new SemaphoreSlim(0);
        var requests = tokens.Select(async (token, i) =>
        {
            await start.WaitAsync(Ct);
            return await Post(clients[i % clients.Length], campaign, token);
        }).ToList();
        start.Release(tokens.Count);
        return await Task.WhenAll(requests);
    }

    private async Task<(long Accepted, long Full, int Places)> CountInDatabaseAsync(string campaign)
    {
        await using var session = app.Store.QuerySession();
        var accepted = await session.Events.QueryRawEventDataOnly<ParticipationAccepted>().CountAsync(e => e.CampaignId == campaign, Ct);
        var full = await session.Events.QueryRawEventDataOnly<ParticipationRejected>()
            .CountAsync(e => e.CampaignId == campaign && e.Code == "campaign_full", Ct);
        var places = await Domain.Campaigns.CampaignPlaces.ReadAsync(session, campaign, Ct);
        return (accepted, full, places?.Accepted ?? 0);
    }

    [Fact]
    public async Task TheCapRefusesOncePlacesAreTakenAndRaisingItAppliesToTheNextRequest()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 5, maxParticipations = 3 } });
        using var client = app.Client();

        (await Post(client, campaign, Token(campaign, "ann"))).Status.ShouldBe(HttpStatusCode.Created);
        (await Post(client, campaign, Token(campaign, "ann"))).Status.ShouldBe(HttpStatusCode.Created);
        (await Post(client, campaign, Token(campaign, "ben"))).Status.ShouldBe(HttpStatusCode.Created);
        var lateToken = Token(campaign, "cid");
        var full = (await Post(client, campaign, lateToken)).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_full");
        full.Json.GetProperty("remaining").GetInt32().ShouldBe(0);
        full.Response.Headers.RetryAfter.ShouldBeNull();

        // A refusal takes no place: raising the cap by one lets exactly one more in, the refused token included.
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 5, maxParticipations = 4 } }, campaign);
        (await Post(client, campaign, lateToken)).Status.ShouldBe(HttpStatusCode.Created);
        (await Post(client, campaign, Token(campaign, "dee"))).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_full");

        // Lowered below what was taken: nobody more.
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 5, maxParticipations = 2 } }, campaign);
        (await Post(client, campaign, Token(campaign, "ann"))).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_full");

        (await CountInDatabaseAsync(campaign)).ShouldBe((4, 3, 4));
    }

    [Fact]
    public async Task ACapSetOnARunningCampaignCountsWhatItAcceptedBefore()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 5 } });
        using var client = app.Client();
        foreach (var sub in new[] { "eve", "eve", "fay" })
        {
            (await Post(client, campaign, Token(campaign, sub))).Status.ShouldBe(HttpStatusCode.Created);
        }

        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 5, maxParticipations = 4 } }, campaign);
        (await Post(client, campaign, Token(campaign, "gus"))).Status.ShouldBe(HttpStatusCode.Created);
        (await Post(client, campaign, Token(campaign, "gus"))).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_full");

        // Removed, used, then set again: counted again from the facts.
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 5 } }, campaign);
        (await Post(client, campaign, Token(campaign, "gus"))).Status.ShouldBe(HttpStatusCode.Created);
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 5, maxParticipations = 6 } }, campaign);
        (await Post(client, campaign, Token(campaign, "hal"))).Status.ShouldBe(HttpStatusCode.Created);
        (await Post(client, campaign, Token(campaign, "hal"))).ShouldBeProblem(HttpStatusCode.Forbidden, "campaign_full");
    }

    [Fact]
    public async Task LoweringAndRaisingTheCapAfterARaceCountsWhatTheRaceAccepted()
    {
        // Racing acceptances are decided in batches that each take their places; a new cap applies to what the whole
        // campaign accepted, whatever batch took it.
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 1, maxParticipations = 1000 } });
        using var client = app.Client();
        var early = await Race(campaign, [.. Enumerable.Range(0, 40).Select(i => Token(campaign, $"early-{i}"))], client);
        early.Where(a => a.Status != HttpStatusCode.Created).Select(a => $"{(int)a.Status} {a.Body}").ShouldBeEmpty();
        (await CountInDatabaseAsync(campaign)).ShouldBe((40, 0, 40));

        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 1, maxParticipations = 45 } }, campaign);
        var late = await Race(campaign, [.. Enumerable.Range(0, 30).Select(i => Token(campaign, $"late-{i}"))], client);

        late.Count(a => a.Status == HttpStatusCode.Created).ShouldBe(5);
        late.Where(a => a.Status != HttpStatusCode.Created).ShouldAllBe(a => a.Code == "campaign_full");
        (await CountInDatabaseAsync(campaign)).ShouldBe((45, 25, 45));

        // Raised again: exactly the difference.
        await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 1, maxParticipations = 48 } }, campaign);
        var last = await Race(campaign, [.. Enumerable.Range(0, 10).Select(i => Token(campaign, $"last-{i}"))], client);
        last.Count(a => a.Status == HttpStatusCode.Created).ShouldBe(3);
        (await CountInDatabaseAsync(campaign)).ShouldBe((48, 32, 48));
    }

    [Fact]
    public async Task TwoHundredParticipantsRacingForFiftyPlacesGiveExactlyFifty()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 1, maxParticipations = 50 } });
        var tokens = Enumerable.Range(0, 200).Select(i => Token(campaign, $"racer-{i}")).ToList();
        using var client = app.Client();

        var answers = await Race(campaign, tokens, client);

        answers.Where(a => a.Status != HttpStatusCode.Created && a.Status != HttpStatusCode.Forbidden)
            .Select(a => $"{(int)a.Status} {a.Body}").ShouldBeEmpty();
        answers.Count(a => a.Status == HttpStatusCode.Created).ShouldBe(50);
        answers.Where(a => a.Status == HttpStatusCode.Forbidden).ShouldAllBe(a => a.Code == "campaign_full");
        answers.Count(a => a.Status == HttpStatusCode.Forbidden).ShouldBe(150);
        (await CountInDatabaseAsync(campaign)).ShouldBe((50, 150, 50));
    }

    [Fact]
    public async Task TheCapHoldsAcrossTwoHostsOnOneDatabaseWithLostStreamRacesRolledBack()
    {
        // Half the requests go to the in-memory host, half to the Kestrel host (another Marten store, other
        // connections): the count is only in PostgreSQL. Each participant sends two tokens at once, so first
        // participations collide on the stream's creation and the losers are rolled back, places included, and retried.
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 2, maxParticipations = 50 } });
        var tokens = Enumerable.Range(0, 100).SelectMany(i => new[] { Token(campaign, $"p-{i}"), Token(campaign, $"p-{i}") }).ToList();
        using var alba = app.Client();
        using var kestrel = app.KestrelClient();

        var answers = await Race(campaign, tokens, alba, kestrel);

        answers.Where(a => a.Status != HttpStatusCode.Created && a.Status != HttpStatusCode.Forbidden)
            .Select(a => $"{(int)a.Status} {a.Body}").ShouldBeEmpty();
        answers.Count(a => a.Status == HttpStatusCode.Created).ShouldBe(50);
        answers.Where(a => a.Status == HttpStatusCode.Forbidden).ShouldAllBe(a => a.Code == "campaign_full");
        (await CountInDatabaseAsync(campaign)).ShouldBe((50, 150, 50));
    }
}

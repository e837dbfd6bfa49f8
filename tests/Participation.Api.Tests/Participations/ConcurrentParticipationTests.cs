using System.Net;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Participations;

/// <summary>Invariants 1 and 2 of DESIGN.md with real concurrency against PostgreSQL.</summary>
public sealed class ConcurrentParticipationTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<ApiAnswer[]> Race(string campaign, IReadOnlyList<string> tokens)
    {
        using var client = app.Client();
        using var start = new SemaphoreSlim(0);
        var requests = tokens.Select(async token =>
        {
            await start.WaitAsync(Ct);
            return await ApiAnswer.From(await client.PostAsync(
                $"/v1/campaigns/{campaign}/participations",
                new FormUrlEncodedContent([new("qual_token", token)]),
                Ct));
        }).ToList();
        start.Release(tokens.Count);
        return await Task.WhenAll(requests);
    }

    [Fact]
    public async Task FortyDistinctTokensForOneParticipantWithLimitThreeGiveExactlyThreeAcceptances()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 3);
        var tokens = Enumerable.Range(0, 40)
            .Select(_ => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("racer", campaign, jti: TestTokens.NewJti())))
            .ToList();

        var answers = await Race(campaign, tokens);

        answers.ShouldAllBe(a => a.Status == HttpStatusCode.Created || a.Status == HttpStatusCode.Forbidden);
        var accepted = answers.Where(a => a.Status == HttpStatusCode.Created).ToList();
        accepted.Count.ShouldBe(3);
        accepted.Select(a => a.Json.GetProperty("number").GetInt32()).Order().ShouldBe([1, 2, 3]);
        answers.Where(a => a.Status == HttpStatusCode.Forbidden).ShouldAllBe(a => a.Code == "participation_limit_reached");

        await using var session = app.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync($"participation:{campaign}:racer", token: Ct);
        events.Count(e => e.Data is Domain.Participations.ParticipationAccepted).ShouldBe(3);
    }

    [Fact]
    public async Task TwentyCopiesOfOneTokenGiveExactlyOneAcceptanceAndNineteenReplays()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 10);
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("copier", campaign, jti: TestTokens.NewJti()));

        var answers = await Race(campaign, Enumerable.Repeat(token, 20).ToList());

        answers.Count(a => a.Status == HttpStatusCode.Created).ShouldBe(1);
        var replays = answers.Where(a => a.Status == HttpStatusCode.Conflict).ToList();
        replays.Count.ShouldBe(19);
        var participationId = answers.Single(a => a.Status == HttpStatusCode.Created).Json.GetProperty("participationId").GetString();
        replays.ShouldAllBe(r => r.Code == "token_replayed" && r.Json.GetProperty("participationId").GetString() == participationId);
    }

    [Fact]
    public async Task ManyParticipantsRacingAtOnceAreEachCountedExactly()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        var tokens = Enumerable.Range(0, 30)
            .SelectMany(i => Enumerable.Range(0, 3).Select(_ =>
                TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"p{i}", campaign, jti: TestTokens.NewJti()))))
            .ToList();

        var answers = await Race(campaign, tokens);

        answers.ShouldAllBe(a => a.Status == HttpStatusCode.Created || a.Status == HttpStatusCode.Forbidden);
        answers.Count(a => a.Status == HttpStatusCode.Created).ShouldBe(60);
        answers.Where(a => a.Status == HttpStatusCode.Created)
            .GroupBy(a => a.Json.GetProperty("sub").GetString())
            .ShouldAllBe(g => g.Count() == 2);
    }
}

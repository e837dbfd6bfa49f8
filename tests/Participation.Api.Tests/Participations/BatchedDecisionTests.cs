using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Participation.Api.Hosting;
using Participation.Api.Participations;
using Participation.Api.Tests.Infrastructure;
using Rules = Participation.Domain.Campaigns.CampaignRules;
using TokenLimitPolicy = Participation.Domain.Campaigns.TokenLimitPolicy;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Participations;

/// <summary>
/// The participation writer's batches (<see cref="ParticipationBatch"/>), driven directly so that what is decided
/// together is known: against the real database of the fixture, as the HTTP path uses them.
/// </summary>
public sealed class BatchedDecisionTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ParticipationBatch Batch() =>
        new(app.Store, app.Host.Services.GetRequiredService<ParticipationMetrics>(), NullLogger.Instance);

    private static ParticipationRequested Request(string campaign, string sub, Rules rules, PersonalData? personalData = null)
    {
        var jti = TestTokens.NewJti();
        return new ParticipationRequested(
            ParticipationStreamKey.For(campaign, sub), Guid.CreateVersion7(), campaign, sub, $"jti:{jti}", jti, null, null, null,
            personalData ?? PersonalData.None, rules, DateTimeOffset.UtcNow);
    }

    private static async Task<object[]> Outcomes(IEnumerable<PendingParticipation> batch)
    {
        var outcomes = new List<object>();
        foreach (var pending in batch)
        {
            try
            {
#pragma warning disable VSTHRD003 // completed by the batch before this reads it
                outcomes.Add(await pending.Decision);
#pragma warning restore VSTHRD003
            }
            catch (Exception e)
            {
                outcomes.Add(e);
            }
        }

        return [.. outcomes];
    }

    [Fact]
    public async Task RequestsOfOneParticipantInOneBatchAreDecidedOneAfterTheOther()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        var rules = new Rules(2, TokenLimitPolicy.Allow, null);
        var first = Request(campaign, "ann", rules);
        var batch = new[] { first, Request(campaign, "ann", rules), Request(campaign, "bob", rules), Request(campaign, "ann", rules), first with { ParticipationId = Guid.CreateVersion7() } }
            .Select(c => new PendingParticipation(c)).ToList();

        await Batch().RunAsync(batch, Ct);

        var outcomes = await Outcomes(batch);
        outcomes[0].ShouldBeOfType<ParticipationGranted>().Number.ShouldBe(1);
        outcomes[1].ShouldBeOfType<ParticipationGranted>().Number.ShouldBe(2);
        outcomes[2].ShouldBeOfType<ParticipationGranted>().Number.ShouldBe(1);
        outcomes[3].ShouldBeOfType<ParticipationRefused>().Code.ShouldBe("participation_limit_reached");
        var replay = outcomes[4].ShouldBeOfType<ParticipationReplayed>();
        replay.ParticipationId.ShouldBe(first.ParticipationId);

        await using var session = app.Store.QuerySession();
        var ann = await session.LoadAsync<Participant>(ParticipationStreamKey.For(campaign, "ann"), Ct);
        ann.ShouldNotBeNull();
        ann.Accepted.ShouldBe(2);
        ann.Rejections.Select(r => r.Code).ShouldBe(["participation_limit_reached"]);
        ann.Version.ShouldBe(3);
        (await session.Events.FetchStreamStateAsync(ann.Id, Ct))!.Version.ShouldBe(3);
    }

    [Fact]
    public async Task ARequestTheDatabaseRefusesFailsAloneAndTheRestOfItsBatchIsCommitted()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        var rules = new Rules(1, TokenLimitPolicy.Allow, null);

        // A participant id far beyond what a btree index row holds (the token validator caps a sub at 256 bytes, so
        // only a request built past it can carry one): PostgreSQL refuses the stream's row while executing the batch.
        // It stands for whatever one request could carry that the database refuses.
        var huge = string.Concat(Enumerable.Range(0, 1_000).Select(_ => Guid.NewGuid().ToString("N")));
        var poison = Request(campaign, huge, rules);
        var batch = Enumerable.Range(0, 6).Select(i => Request(campaign, $"fine-{i}", rules)).Prepend(poison)
            .Select(c => new PendingParticipation(c)).ToList();

        await Batch().RunAsync(batch, Ct);

        var outcomes = await Outcomes(batch);
        outcomes[0].ShouldBeAssignableTo<Exception>().ShouldSatisfyAllConditions(
            e => FindPostgresState(e).ShouldNotBeNull().ShouldStartWith("54"));
        outcomes.Skip(1).ShouldAllBe(o => o is ParticipationGranted);
        await using var session = app.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync(ParticipationStreamKey.For(campaign, huge), Ct)).ShouldBeNull();
        (await session.Query<Participant>().CountAsync(p => p.CampaignId == campaign, Ct)).ShouldBe(6);

        // The failed statement is logged without the data it carried (Marten's own logger writes every parameter).
        var logged = app.Logs.Entries.Where(e => e.Line.Contains("A database command failed", StringComparison.Ordinal)).ToList();
        logged.ShouldNotBeEmpty();
        var hugePrefix = huge[..32];
        logged.ShouldAllBe(e => !e.Line.Contains(hugePrefix, StringComparison.Ordinal) && !e.Line.Contains(poison.Jti!, StringComparison.Ordinal));
        app.Logs.Lines.ShouldAllBe(line => !line.Contains(poison.Jti!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARequestCarryingTextJsonbCannotHoldFailsAloneBeforeTheDatabase()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        var rules = new Rules(1, TokenLimitPolicy.Allow, null);

        // PostgreSQL's jsonb cannot hold U+0000, and refusing it while binding parameters puts Npgsql 10.0.3 out of
        // step on connections other requests use: such a request must never reach the database.
        using var nul = JsonDocument.Parse("""{"comment": ["a\u0000b"]}""");
        var poison = Request(campaign, "nul", rules, new PersonalData(nul.RootElement.Clone(), null, null));
        var batch = new[] { Request(campaign, "fine-a", rules), poison, Request(campaign, "fine-b", rules) }
            .Select(c => new PendingParticipation(c)).ToList();

        await Batch().RunAsync(batch, Ct);

        var outcomes = await Outcomes(batch);
        outcomes[1].ShouldBeOfType<UnstorableRequestException>();
        outcomes[0].ShouldBeOfType<ParticipationGranted>();
        outcomes[2].ShouldBeOfType<ParticipationGranted>();
        await using var session = app.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync(ParticipationStreamKey.For(campaign, "nul"), Ct)).ShouldBeNull();
        app.Logs.Lines.ShouldAllBe(line => !line.Contains(poison.Jti!, StringComparison.Ordinal));
    }

    private static string? FindPostgresState(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException postgres)
            {
                return postgres.SqlState;
            }
        }

        return null;
    }

    [Fact]
    public async Task ARequestVerifiedWithAnOlderConfigurationIsNotDecided()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        var rules = new Rules(1, TokenLimitPolicy.Allow, null);
        var stale = Request(campaign, "cid", rules) with { VerifiedWith = new ConfigurationVersion(Guid.NewGuid(), 1) };
        var batch = new[] { stale, Request(campaign, "dan", rules) }.Select(c => new PendingParticipation(c)).ToList();

        await Batch().RunAsync(batch, Ct);

        var outcomes = await Outcomes(batch);
        outcomes[0].ShouldBe(ConfigurationChanged.Instance);
        outcomes[1].ShouldBeOfType<ParticipationGranted>();
        await using var session = app.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync(ParticipationStreamKey.For(campaign, "cid"), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task AStreamWhoseSnapshotIsMissingIsRebuiltBeforeItIsDecided()
    {
        // A database written before the snapshot existed, or a snapshot deleted by hand: the events are the truth.
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        using var client = app.Client();
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("eve", campaign, jti: TestTokens.NewJti()));
        (await Participate(client, campaign, token)).Status.ShouldBe(HttpStatusCode.Created);
        await using (var session = app.Store.LightweightSession())
        {
            session.Delete<Participant>(ParticipationStreamKey.For(campaign, "eve"));
            await session.SaveChangesAsync(Ct);
        }

        (await Participate(client, campaign, token)).ShouldBeProblem(HttpStatusCode.Conflict, "token_replayed");
        (await Participate(client, campaign, TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("eve", campaign, jti: TestTokens.NewJti()))))
            .Json.GetProperty("number").GetInt32().ShouldBe(2);
        (await Participate(client, campaign, TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("eve", campaign, jti: TestTokens.NewJti()))))
            .ShouldBeProblem(HttpStatusCode.Forbidden, "participation_limit_reached");
    }

    [Fact]
    public async Task AChangeMadeThroughAnotherProcessAppliesToTheNextRequestOfThisOne()
    {
        // The Kestrel host of the fixture is another Marten store with its own configuration in memory: a change
        // made through one is not announced to the other, and must apply to its next request all the same.
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        using var client = app.Client();
        using var other = app.AdminClient(kestrel: true);
        string Token(string sub) => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(sub, campaign, jti: TestTokens.NewJti()));

        (await Participate(client, campaign, Token("fay"))).Status.ShouldBe(HttpStatusCode.Created);
        (await Participate(client, campaign, Token("fay"))).ShouldBeProblem(HttpStatusCode.Forbidden, "participation_limit_reached");

        (await other.PutAsJsonAsync($"/v1/campaigns/{campaign}", new { accountId = account, name = "raised", limits = new { perParticipant = 2 } }, Ct))
            .EnsureSuccessStatusCode();
        (await Participate(client, campaign, Token("fay"))).Json.GetProperty("number").GetInt32().ShouldBe(2);

        // A new secret set through the other process: tokens signed with it are accepted here at once, the old
        // secret's are refused at once.
        const string rotated = "a-rotated-secret-of-at-least-thirty-two-bytes!";
        (await other.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", new { method = "hmac", algorithms = new[] { "HS256" }, secret = rotated }, Ct))
            .EnsureSuccessStatusCode();
        (await Participate(client, campaign, TestTokens.Hs256(rotated, TestTokens.Claims("gil", campaign, jti: TestTokens.NewJti()))))
            .Status.ShouldBe(HttpStatusCode.Created);
        (await Participate(client, campaign, Token("hal"))).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_invalid_signature");
    }

    private static async Task<ApiAnswer> Participate(HttpClient client, string campaign, string token) =>
        await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct));
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using JasperFx;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Reports;

/// <summary>
/// Reports against the facts: after the API stops in the middle of a burst of writes and starts again, and after a
/// rebuild with the documented command, the report equals the counts taken straight from the event table.
/// Runs its own API processes (in-process Kestrel hosts) on its own database.
/// </summary>
public sealed class RebuildAndRestartTests(AppFixture app)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<WebApplication> StartAsync(string connectionString) =>
        (await KestrelHost.StartAsync(connectionString, Ct)).Host;

    private static HttpClient ClientOf(WebApplication host, bool admin = true)
    {
        var address = host.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var client = new HttpClient { BaseAddress = new Uri(address) };
        if (admin)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
        }

        return client;
    }

    private static async Task<(long Accepted, long Rejected, long Rows)> FactsAsync(IDocumentStore store, string campaign)
    {
        await using var session = store.QuerySession();
        var accepted = (await session.QueryAsync<long>(
            "select count(*) from participation.mt_events where type = 'participation_accepted' and data ->> 'campaignId' = ?", Ct, campaign)).Single();
        var rejected = (await session.QueryAsync<long>(
            "select count(*) from participation.mt_events where type = 'participation_rejected' and data ->> 'campaignId' = ?", Ct, campaign)).Single();
        var rows = (await session.QueryAsync<long>(
            "select count(*) from participation.participation_rows where campaign_id = ?", Ct, campaign)).Single();
        return (accepted, rejected, rows);
    }

    private static async Task<JsonElement> CaughtUpReportAsync(HttpClient admin, string campaign)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var report = JsonDocument.Parse(await admin.GetStringAsync($"/v1/campaigns/{campaign}/report", Ct)).RootElement;
            var asOf = report.GetProperty("asOf");
            if (asOf.GetProperty("sequence").GetInt64() >= asOf.GetProperty("storeSequence").GetInt64() || DateTime.UtcNow > deadline)
            {
                return report;
            }

            await Task.Delay(100, Ct);
        }
    }

    private static string WithoutAsOf(JsonElement report) =>
        JsonSerializer.Serialize(report.EnumerateObject().Where(p => p.Name != "asOf").ToDictionary(p => p.Name, p => p.Value));

    [Fact(Timeout = 240_000)]
    public async Task AStopMidBurstThenARebuildLeaveTheReportEqualToTheEventTable()
    {
        var ct = TestContext.Current.CancellationToken;
        var connectionString = await app.CreateDatabaseAsync("participation_rebuild_tests");
        const string campaign = "restart-campaign";
        var created = new List<Guid>();

        var first = await StartAsync(connectionString);
        using (var admin = ClientOf(first))
        {
            (await admin.PutAsJsonAsync("/v1/accounts/acc", new { name = "A" }, Ct)).EnsureSuccessStatusCode();
            (await admin.PutAsJsonAsync("/v1/accounts/acc/secure-token", new { method = "hmac", secret = TestTokens.Secret }, Ct)).EnsureSuccessStatusCode();
            (await admin.PutAsJsonAsync($"/v1/campaigns/{campaign}", new { accountId = "acc", name = "Restart", limits = new { perParticipant = 2 } }, Ct)).EnsureSuccessStatusCode();

            // A burst of writes (three tokens for each of 100 participants: two accepted, one refused); the host
            // stops while it is still under way.
            using var client = ClientOf(first, admin: false);
            var tokens = Enumerable.Range(0, 300)
                .Select(i => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"p{i % 100}", campaign, jti: TestTokens.NewJti())))
                .ToList();
            var queue = new System.Collections.Concurrent.ConcurrentQueue<string>(tokens);
            var failures = 0;
            var burst = Enumerable.Range(0, 16).Select(async _ =>
            {
                while (queue.TryDequeue(out var token))
                {
                    try
                    {
                        var response = await client.PostAsync(
                            $"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), ct);
                        if (response.StatusCode == HttpStatusCode.Created)
                        {
                            var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
                            lock (created)
                            {
                                created.Add(body.GetProperty("participationId").GetGuid());
                            }
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // The host went away under this request: its outcome is whatever the event store says.
                        Interlocked.Increment(ref failures);
                    }
                }
            }).ToList();

            var waitUntil = DateTime.UtcNow.AddSeconds(30);
            while (created.Count < 40 && DateTime.UtcNow < waitUntil)
            {
                await Task.Delay(5, ct);
            }

            created.Count.ShouldBeGreaterThanOrEqualTo(40, "the burst should be accepted while the host runs");

            // Not a graceful stop: in-flight requests are cut off, the rest find no server.
            using (var abrupt = new CancellationTokenSource())
            {
                await abrupt.CancelAsync();
                await first.StopAsync(abrupt.Token);
            }

            await Task.WhenAll(burst);
            failures.ShouldBeGreaterThan(0, "the stop should interrupt the burst");
        }

        await first.DisposeAsync();

        string live;
        var second = await StartAsync(connectionString);
        using (var admin = ClientOf(second))
        {
            var store = second.Services.GetRequiredService<IDocumentStore>();

            // Every 201 the clients saw is in the event store exactly once.
            await using (var session = store.QuerySession())
            {
                foreach (var id in created)
                {
                    (await session.QueryAsync<long>(
                        "select count(*) from participation.mt_events where type = 'participation_accepted' and (data ->> 'participationId')::uuid = ?", Ct, id))
                        .Single().ShouldBe(1);
                }
            }

            var report = await CaughtUpReportAsync(admin, campaign);
            var facts = await FactsAsync(store, campaign);
            report.GetProperty("accepted").GetInt64().ShouldBe(facts.Accepted);
            report.GetProperty("rejected").EnumerateObject().Sum(p => p.Value.GetInt64()).ShouldBe(facts.Rejected);
            facts.Rows.ShouldBe(facts.Accepted + facts.Rejected);
            facts.Accepted.ShouldBeGreaterThanOrEqualTo(created.Count);
            live = WithoutAsOf(report);
        }

        await second.StopAsync(Ct);
        await second.DisposeAsync();

        // The documented rebuild command, run as the CLI runs it.
        var rebuilder = await KestrelHost.CreateAsync(connectionString);
        (await rebuilder.RunJasperFxCommands(["projections", "rebuild", "-p", "Reporting"])).ShouldBe(0);

        var third = await StartAsync(connectionString);
        using (var admin = ClientOf(third))
        {
            var rebuilt = await CaughtUpReportAsync(admin, campaign);
            WithoutAsOf(rebuilt).ShouldBe(live);
            var facts = await FactsAsync(third.Services.GetRequiredService<IDocumentStore>(), campaign);
            facts.Rows.ShouldBe(facts.Accepted + facts.Rejected);
        }

        await third.StopAsync(Ct);
        await third.DisposeAsync();

        // A database as the versions before the composite projection left it: the same read models, but the
        // progressions of two separate projections, none of the composite. Starting on it, the reports must catch up
        // with the events and count each one once (without the upgrade, the composite never caught up).
        await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(Ct);
            await using var command = new Npgsql.NpgsqlCommand(
                """
                delete from participation.mt_event_progression where name = 'Reporting:All'
                """, connection);
            (await command.ExecuteNonQueryAsync(Ct)).ShouldBe(1);
        }

        var upgraded = await StartAsync(connectionString);
        using (var admin = ClientOf(upgraded))
        {
            // New participations after the upgrade are counted once, on top of the old ones.
            using var client = ClientOf(upgraded, admin: false);
            for (var i = 0; i < 3; i++)
            {
                var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"after-upgrade-{i}", campaign, jti: TestTokens.NewJti()));
                (await client.PostAsync($"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct))
                    .StatusCode.ShouldBe(HttpStatusCode.Created);
            }

            // The composite's own progression reaches the last event: whatever it folds, it has folded.
            await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync(Ct);
                await using var caughtUp = new Npgsql.NpgsqlCommand(
                    """
                    select coalesce((select last_seq_id from participation.mt_event_progression where name = 'Reporting:All'), -1)
                           >= (select max(seq_id) from participation.mt_events)
                    """, connection);
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!(bool)(await caughtUp.ExecuteScalarAsync(Ct))!)
                {
                    DateTime.UtcNow.ShouldBeLessThan(deadline, "the composite projection should catch up");
                    await Task.Delay(100, Ct);
                }
            }

            var report = await CaughtUpReportAsync(admin, campaign);
            var facts = await FactsAsync(upgraded.Services.GetRequiredService<IDocumentStore>(), campaign);
            report.GetProperty("accepted").GetInt64().ShouldBe(facts.Accepted);
            report.GetProperty("rejected").EnumerateObject().Sum(p => p.Value.GetInt64()).ShouldBe(facts.Rejected);
            report.GetProperty("uniqueParticipants").GetInt64().ShouldBe(JsonDocument.Parse(live).RootElement.GetProperty("uniqueParticipants").GetInt64() + 3);
            facts.Rows.ShouldBe(facts.Accepted + facts.Rejected);
        }

        await upgraded.StopAsync(Ct);
        await upgraded.DisposeAsync();
    }
}

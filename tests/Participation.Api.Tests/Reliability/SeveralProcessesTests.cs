using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Marten;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Reliability;

/// <summary>
/// Invariants 1, 2 and 5 across three API processes on one database: exact counts, exactly-once tokens, and no
/// accepted participation lost or doubled when one process is killed under load.
/// </summary>
public sealed class SeveralProcessesTests(AppFixture app)
{
    private const string Campaign = "multi";

    private static async Task<(ApiProcess[] Apis, string ConnectionString)> StartThreeAsync(AppFixture app, string database, CancellationToken ct)
    {
        var connectionString = await app.CreateDatabaseAsync(database);
        var first = await ApiProcess.StartAsync(connectionString, ct);
        var others = await Task.WhenAll(ApiProcess.StartAsync(connectionString, ct), ApiProcess.StartAsync(connectionString, ct));
        using var admin = first.Client();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
        (await admin.PutAsJsonAsync("/v1/accounts/acc", new { name = "A" }, ct)).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/v1/accounts/acc/secure-token", new { method = "hmac", secret = TestTokens.Secret }, ct)).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync($"/v1/campaigns/{Campaign}", new { accountId = "acc", name = "Multi", limits = new { perParticipant = 3 } }, ct)).EnsureSuccessStatusCode();
        return ([first, .. others], connectionString);
    }

    // At most 48 requests in flight across the three processes: real races on every participant, without turning a
    // shared 2-core CI machine into a test of its own saturation.
    private static readonly SemaphoreSlim InFlight = new(48);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient client, string token, CancellationToken ct)
    {
        await InFlight.WaitAsync(ct);
        try
        {
            return await SendAsync(client, token, ct);
        }
        finally
        {
            InFlight.Release();
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpClient client, string token, CancellationToken ct)
    {
        var response = await client.PostAsync($"/v1/campaigns/{Campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), ct);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>(ct));
    }

    [Fact(Timeout = 900_000)]
    public async Task ThreeProcessesKeepLimitsAndTokensExact()
    {
        var ct = TestContext.Current.CancellationToken;
        var (apis, _) = await StartThreeAsync(app, "participation_three_processes", ct);
        try
        {
            var clients = apis.Select(a => a.Client()).ToArray();

            // 20 participants with limit 3, each sending 8 distinct tokens, round-robin over the processes; and
            // every one of 20 extra tokens sent to all three processes at once.
            var distinct = Enumerable.Range(0, 20)
                .SelectMany(p => Enumerable.Range(0, 8).Select(_ => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"p{p}", Campaign, jti: TestTokens.NewJti()))))
                .Select((token, i) => PostAsync(clients[i % 3], token, ct));
            var copies = Enumerable.Range(0, 20)
                .Select(i => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"copy{i}", Campaign, jti: TestTokens.NewJti())))
                .SelectMany(token => clients.Select(c => PostAsync(c, token, ct)));

            var answers = await Task.WhenAll(distinct.Concat(copies));

            answers.ShouldAllBe(
                a => a.Status == HttpStatusCode.Created || a.Status == HttpStatusCode.Forbidden || a.Status == HttpStatusCode.Conflict,
                string.Join(Environment.NewLine, apis.Select(api => api.RecentOutput)));
            var distinctAnswers = answers.Take(160).ToList();
            distinctAnswers.Count(a => a.Status == HttpStatusCode.Created).ShouldBe(60);
            distinctAnswers.Where(a => a.Status == HttpStatusCode.Created)
                .GroupBy(a => a.Body.GetProperty("sub").GetString())
                .ShouldAllBe(g => g.Count() == 3);
            var copyAnswers = answers.Skip(160).Chunk(3).ToList();
            copyAnswers.ShouldAllBe(triple => triple.Count(a => a.Status == HttpStatusCode.Created) == 1 && triple.Count(a => a.Status == HttpStatusCode.Conflict) == 2);

            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
        finally
        {
            foreach (var api in apis)
            {
                await api.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 900_000)]
    public async Task KillingOneProcessUnderLoadLosesAndDoublesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var (apis, connectionString) = await StartThreeAsync(app, "participation_kill_process", ct);
        var accepted = new System.Collections.Concurrent.ConcurrentBag<(string Token, Guid Id)>();
        var unknown = new System.Collections.Concurrent.ConcurrentBag<string>();
        try
        {
            var clients = apis.Select(a => a.Client()).ToArray();
            var tokens = new System.Collections.Concurrent.ConcurrentQueue<string>(Enumerable.Range(0, 600)
                .Select(i => TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"k{i % 200}", Campaign, jti: TestTokens.NewJti()))));
            var workers = Enumerable.Range(0, 12).Select(async w =>
            {
                var client = clients[w % 3];
                while (tokens.TryDequeue(out var token))
                {
                    try
                    {
                        var (status, body) = await PostAsync(client, token, ct);
                        if (status == HttpStatusCode.Created)
                        {
                            accepted.Add((token, body.GetProperty("participationId").GetGuid()));
                        }
                        else if (status != HttpStatusCode.Forbidden)
                        {
                            unknown.Add(token);
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // The process died under this request: outcome unknown, retried below elsewhere.
                        unknown.Add(token);
                        client = clients[(w + 1) % 3];
                    }
                }
            }).ToList();

            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (accepted.Count < 100 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5, ct);
            }

            apis[0].Kill();
            await Task.WhenAll(workers);
            accepted.Count.ShouldBeGreaterThan(100);

            // Retrying an unknown outcome with the same token on a live process: a 201, or the 409 carrying the
            // original participation; never a second acceptance.
            foreach (var token in unknown)
            {
                var (status, body) = await PostAsync(clients[1], token, ct);
                if (status == HttpStatusCode.Created)
                {
                    accepted.Add((token, body.GetProperty("participationId").GetGuid()));
                }
                else
                {
                    ((int)status).ShouldBeOneOf(403, 409);
                }
            }

            await using var store = DocumentStore.For(options => options.Connection(connectionString));
            await using var session = store.QuerySession();
            var ids = (await session.QueryAsync<Guid>(
                "select (data ->> 'participationId')::uuid from participation.mt_events where type = 'participation_accepted'", ct)).ToList();
            ids.Count.ShouldBe(ids.Distinct().Count());
            accepted.Select(a => a.Id).ShouldBeSubsetOf(ids);
            ids.Count.ShouldBe(600, "200 participants with limit 3 and 3 tokens each: every token ends up accepted exactly once");
            var perParticipant = await session.QueryAsync<long>(
                "select count(*) from participation.mt_events where type = 'participation_accepted' group by stream_id", ct);
            perParticipant.ShouldAllBe(n => n <= 3);

            // The async projections ran on exactly one of the processes, and on a survivor after the kill: the
            // report ends up counting every acceptance exactly once.
            using var admin = clients[1];
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
            var reported = 0L;
            var rows = 0L;
            var reportDeadline = DateTime.UtcNow.AddSeconds(180);
            while (DateTime.UtcNow < reportDeadline)
            {
                reported = JsonDocument.Parse(await admin.GetStringAsync($"/v1/campaigns/{Campaign}/report", ct)).RootElement.GetProperty("accepted").GetInt64();
                rows = (await session.QueryAsync<long>("select count(*) from participation.participation_rows where outcome = 'accepted'", ct)).Single();
                if (reported >= ids.Count && rows >= ids.Count)
                {
                    break;
                }

                await Task.Delay(250, ct);
            }

            reported.ShouldBe(ids.Count);
            rows.ShouldBe(ids.Count);

            foreach (var client in clients.Where(c => c != admin))
            {
                client.Dispose();
            }
        }
        finally
        {
            foreach (var api in apis)
            {
                await api.DisposeAsync();
            }
        }
    }
}

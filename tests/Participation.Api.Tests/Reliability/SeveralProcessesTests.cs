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
        var (apis, connectionString) = await StartThreeAsync(app, "participation_three_processes", ct);
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

            // Each 409 names the participation its copy got on another process.
            foreach (var triple in copyAnswers)
            {
                var id = triple.Single(a => a.Status == HttpStatusCode.Created).Body.GetProperty("participationId").GetGuid();
                triple.Where(a => a.Status == HttpStatusCode.Conflict).ShouldAllBe(a =>
                    a.Body.GetProperty("code").GetString() == "token_replayed" && a.Body.GetProperty("participationId").GetGuid() == id);
            }

            // The event store holds exactly the 80 participations answered 201: 3 per participant, each token once.
            var stored = await DatabaseRestartTests.AcceptedByJtiAsync(connectionString, ct);
            stored.Count.ShouldBe(80);
            stored.Values.ShouldAllBe(ids => ids.Count == 1);
            stored.Values.Select(ids => ids.Single()).Order().ShouldBe(
                answers.Where(a => a.Status == HttpStatusCode.Created).Select(a => a.Body.GetProperty("participationId").GetGuid()).Order());
            await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync(ct);
                await using var command = new Npgsql.NpgsqlCommand(
                    "select count(*) from participation.mt_events where type = 'participation_accepted' group by stream_id", connection);
                var perStream = new List<long>();
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    perStream.Add(reader.GetInt64(0));
                }

                perStream.Count.ShouldBe(40);
                perStream.Where(n => n != 1).ShouldAllBe(n => n == 3, "the 20 participants with 8 tokens: exactly their limit");
                perStream.Count(n => n == 3).ShouldBe(20);
            }

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
        var learned = new System.Collections.Concurrent.ConcurrentDictionary<string, Guid>(StringComparer.Ordinal);
        var unknown = new System.Collections.Concurrent.ConcurrentBag<(string Token, string Jti, string Why)>();
        var wrong = new System.Collections.Concurrent.ConcurrentBag<string>();
        try
        {
            var clients = apis.Select(a => a.Client()).ToArray();
            var tokens = new System.Collections.Concurrent.ConcurrentQueue<(string Token, string Jti)>(Enumerable.Range(0, 600).Select(i =>
            {
                var jti = TestTokens.NewJti();
                return (TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"k{i % 200}", Campaign, jti: jti)), jti);
            }));
            var killed = 0;
            var workers = Enumerable.Range(0, 12).Select(async w =>
            {
                var process = w % 3;
                while (tokens.TryDequeue(out var item))
                {
                    try
                    {
                        var (status, body) = await PostAsync(clients[process], item.Token, ct);
                        switch (status)
                        {
                            case HttpStatusCode.Created:
                                learned[item.Jti] = body.GetProperty("participationId").GetGuid();
                                break;
                            case HttpStatusCode.ServiceUnavailable when body.GetProperty("code").GetString() == "service_unavailable":
                                unknown.Add((item.Token, item.Jti, "503"));
                                break;
                            default:
                                // 3 tokens per participant with limit 3: no 403; every token is new: no 409; never a 500.
                                wrong.Add($"{(int)status} {body} from process {process} (killed: {Volatile.Read(ref killed) == 1})");
                                break;
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException && process == 0 && Volatile.Read(ref killed) == 1)
                    {
                        // The process died under this request: outcome unknown, retried below on a live one.
                        unknown.Add((item.Token, item.Jti, ex.Message));
                        process = 1 + (w % 2);
                    }
                }
            }).ToList();

            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (learned.Count < 100 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5, ct);
            }

            Volatile.Write(ref killed, 1);
            apis[0].Kill();
            await Task.WhenAll(workers);
            wrong.ShouldBeEmpty(string.Join(Environment.NewLine, apis.Skip(1).Select(api => api.RecentOutput)));
            learned.Count.ShouldBeGreaterThan(100);
            apis[1].HasExited.ShouldBeFalse();
            apis[2].HasExited.ShouldBeFalse();

            // Retrying an unknown outcome with the same token on a live process: a 201, or the 409 naming the
            // participation the dead process committed; never a second acceptance.
            var committedByTheDead = 0;
            foreach (var (token, jti, why) in unknown)
            {
                var (status, body) = await PostAsync(clients[1], token, ct);
                status.ShouldBeOneOf([HttpStatusCode.Created, HttpStatusCode.Conflict], $"{why}: {body}");
                if (status == HttpStatusCode.Conflict)
                {
                    body.GetProperty("code").GetString().ShouldBe("token_replayed");
                    committedByTheDead++;
                }

                learned.TryAdd(jti, body.GetProperty("participationId").GetGuid()).ShouldBeTrue();
            }

            // Every token accepted exactly once, as the participation its client learned; 3 per participant.
            var stored = await DatabaseRestartTests.AcceptedByJtiAsync(connectionString, ct);
            stored.Count.ShouldBe(600, "200 participants with limit 3 and 3 tokens each: every token ends up accepted exactly once");
            stored.Values.ShouldAllBe(ids => ids.Count == 1);
            stored.Keys.Order().ShouldBe(learned.Keys.Order());
            foreach (var (jti, id) in learned)
            {
                stored[jti].Single().ShouldBe(id);
            }

            await using var store = DocumentStore.For(options => options.Connection(connectionString));
            await using var session = store.QuerySession();
            var ids = (await session.QueryAsync<Guid>(
                "select (data ->> 'participationId')::uuid from participation.mt_events where type = 'participation_accepted'", ct)).ToList();
            var perParticipant = await session.QueryAsync<long>(
                "select count(*) from participation.mt_events where type = 'participation_accepted' group by stream_id", ct);
            perParticipant.Count.ShouldBe(200);
            perParticipant.ShouldAllBe(n => n == 3);
            TestContext.Current.SendDiagnosticMessage(
                $"process killed: {unknown.Count} requests cut off or unanswered, {committedByTheDead} of them committed (retried into their 409)");

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

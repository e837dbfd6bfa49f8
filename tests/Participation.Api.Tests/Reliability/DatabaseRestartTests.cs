using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Participation.Api.Hosting.Database;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Reliability;

/// <summary>
/// Invariant 5: PostgreSQL restarted under sustained traffic. Requests during the outage fail fast with a 503
/// problem (never a hang, never a 500), the service recovers by itself (same process), every 201 is in the event
/// store exactly once, and retrying a request whose outcome was unknown with the same token gives a 201 or the 409
/// carrying the original participation, never a second acceptance. Then the one case a restart rarely produces on
/// demand: a commit that happened but whose answer the service never got (<see cref="PostgresFaultProxy"/>).
/// </summary>
public sealed class DatabaseRestartTests(AppFixture app)
{
    private const string Campaign = "restart";

    /// <summary>
    /// A request not answered within this bound counts as hung. It is not a speed measure: a database that refuses
    /// connections is answered in milliseconds; the bound is only there so that a hang fails the test instead of
    /// stalling it, and is generous for a loaded 2-core machine.
    /// </summary>
    private static readonly TimeSpan HangBound = TimeSpan.FromSeconds(60);

    private sealed record Answer(string Token, string Jti, int Phase, HttpStatusCode? Status, string ContentType, string? Code, string? RetryAfter, Guid? ParticipationId, TimeSpan Took, string? Failure);

    [Fact(Timeout = 900_000)]
    public async Task RestartingPostgresUnderTrafficLosesAndDoublesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "participation-restart-" + Guid.NewGuid().ToString("N")[..12]);
        var postgres = await LocalPostgres.StartPersistentAsync(dataDirectory, "participation", NullLogger.Instance, ct);
        var connectionString = postgres.ConnectionString;
        var answers = new ConcurrentQueue<Answer>();
        var readiness = new ConcurrentQueue<(int Phase, HttpStatusCode Status)>();
        var phase = 0; // 0: database up, 1: database stopped, 2: database restarted
        var created = new int[3];
        var unavailable = new int[3];
        ApiProcess? api = null;
        try
        {
            api = await ApiProcess.StartAsync(connectionString, ct);
            using var client = api.Client();
            client.Timeout = HangBound;
            using (var admin = api.Client())
            {
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
                (await admin.PutAsJsonAsync("/v1/accounts/acc", new { name = "A" }, ct)).EnsureSuccessStatusCode();
                (await admin.PutAsJsonAsync("/v1/accounts/acc/secure-token", new { method = "hmac", secret = TestTokens.Secret }, ct)).EnsureSuccessStatusCode();
                (await admin.PutAsJsonAsync($"/v1/campaigns/{Campaign}", new { accountId = "acc", name = "R", limits = new { perParticipant = 1000 } }, ct)).EnsureSuccessStatusCode();
            }

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(400));
            var sent = 0;
            // Eight senders, 200 participants shared by all of them (several requests of one participant in flight).
            var workers = Enumerable.Range(0, 8).Select(async w =>
            {
                while (!stop.IsCancellationRequested && Interlocked.Increment(ref sent) is var n && n <= 20_000)
                {
                    var jti = TestTokens.NewJti();
                    var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"p{n % 200}", Campaign, jti: jti));
                    var answer = await SendAsync(client, token, jti, Volatile.Read(ref phase), ct);
                    answers.Enqueue(answer);
                    if (answer.Status == HttpStatusCode.Created)
                    {
                        Interlocked.Increment(ref created[answer.Phase]);
                    }
                    else if (answer.Status == HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref unavailable[answer.Phase]);
                    }
                }
            }).ToList();
            var prober = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var p = Volatile.Read(ref phase);
                    try
                    {
                        readiness.Enqueue((p, (await client.GetAsync("/health/ready", ct)).StatusCode));
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                    {
                        readiness.Enqueue((p, (HttpStatusCode)0));
                    }

                    await Task.Delay(100, ct);
                }
            }, ct);

            await WaitUntil(() => Volatile.Read(ref created[0]) >= 100, ct);
            Volatile.Write(ref phase, 1);
            await postgres.DisposeAsync();
            await WaitUntil(() => Volatile.Read(ref unavailable[1]) >= 20 && readiness.Any(r => r.Phase == 1 && r.Status == HttpStatusCode.ServiceUnavailable), ct);

            postgres = await LocalPostgres.StartPersistentAsync(dataDirectory, "participation", NullLogger.Instance, ct);
            postgres.ConnectionString.ShouldBe(connectionString, "the restarted server must come back on the same port");
            Volatile.Write(ref phase, 2);
            await WaitUntil(() => Volatile.Read(ref created[2]) >= 100 && readiness.Any(r => r.Phase == 2 && r.Status == HttpStatusCode.OK), ct);
            await stop.CancelAsync();
            await Task.WhenAll(workers);
            await prober;
            var all = answers.ToList();
            var context = $"{all.Count} requests; API output:\n{api.RecentOutput}";

            // No request hung, none reached a dead API, none got a 500: each one is a 201 or a 503 problem+json with
            // its code and Retry-After, whatever the phase.
            all.Where(a => a.Failure is not null).Select(a => $"{a.Failure} (phase {a.Phase}, {a.Took.TotalSeconds:F1} s)").ShouldBeEmpty(context);
            all.Where(a => a.Status is not (HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable))
                .Select(a => $"{(int?)a.Status} {a.Code} (phase {a.Phase})").ShouldBeEmpty(context);
            all.Where(a => a.Status == HttpStatusCode.ServiceUnavailable)
                .ShouldAllBe(a => a.ContentType == "application/problem+json" && a.Code == "service_unavailable" && a.RetryAfter == "1", context);
            all.Count(a => a.Phase == 1 && a.Status == HttpStatusCode.ServiceUnavailable).ShouldBeGreaterThanOrEqualTo(20);

            // It recovered by itself: the same process, ready again, accepting again.
            api.HasExited.ShouldBeFalse();
            readiness.ShouldContain(r => r.Phase == 1 && r.Status == HttpStatusCode.ServiceUnavailable);
            readiness.ShouldContain(r => r.Phase == 2 && r.Status == HttpStatusCode.OK);

            // Retrying each 503 with the same token, now the database is back: a 201, or the 409 that names the
            // participation its first attempt committed although its answer was lost; never anything else.
            var learned = all.Where(a => a.Status == HttpStatusCode.Created).ToDictionary(a => a.Jti, a => a.ParticipationId!.Value);
            var committedDespite503 = 0;
            foreach (var unknown in all.Where(a => a.Status == HttpStatusCode.ServiceUnavailable))
            {
                var retry = await SendAsync(client, unknown.Token, unknown.Jti, 3, ct);
                retry.Status.ShouldBeOneOf([HttpStatusCode.Created, HttpStatusCode.Conflict], $"{retry.Failure} {retry.Code}");
                if (retry.Status == HttpStatusCode.Conflict)
                {
                    retry.Code.ShouldBe("token_replayed");
                    committedDespite503++;
                }

                learned.ShouldNotContainKey(unknown.Jti);
                learned[unknown.Jti] = retry.ParticipationId.ShouldNotBeNull("a 201 and a 409 both name the participation");
            }

            // A token that got its 201 gets the 409 naming that same participation.
            foreach (var accepted in all.Where(a => a.Status == HttpStatusCode.Created).Take(50))
            {
                var retry = await SendAsync(client, accepted.Token, accepted.Jti, 3, ct);
                retry.Status.ShouldBe(HttpStatusCode.Conflict);
                retry.ParticipationId.ShouldBe(accepted.ParticipationId);
            }

            // The event store: every token sent is accepted exactly once, as the participation the client was told.
            var stored = await AcceptedByJtiAsync(connectionString, ct);
            stored.Where(s => s.Value.Count != 1).Select(s => s.Key).ShouldBeEmpty("no token is ever accepted twice");
            stored.Keys.Order().ShouldBe(learned.Keys.Order(), "every 201 is in the store, and nothing else is");
            foreach (var (jti, id) in learned)
            {
                stored[jti].Single().ShouldBe(id);
            }

            TestContext.Current.SendDiagnosticMessage(
                $"database restart: {all.Count} requests, {all.Count(a => a.Status == HttpStatusCode.Created)} × 201, "
                + $"{all.Count(a => a.Status == HttpStatusCode.ServiceUnavailable)} × 503 ({committedDespite503} of them committed: retried into their 409), "
                + $"slowest 503 {all.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).Max(a => a.Took).TotalMilliseconds:F0} ms");
        }
        finally
        {
            if (api is not null)
            {
                await api.DisposeAsync();
            }

            await postgres.DisposeAsync();
            try
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Left for the OS temp cleaner.
            }
            catch (UnauthorizedAccessException)
            {
                // Left for the OS temp cleaner.
            }
        }
    }

    [Fact(Timeout = 900_000)]
    public async Task ACommitWhoseAnswerIsLostIsA503AndItsRetryGivesTheOriginalParticipation()
    {
        var ct = TestContext.Current.CancellationToken;
        var connectionString = await app.CreateDatabaseAsync("participation_lost_commit");
        await using var proxy = PostgresFaultProxy.Start(connectionString, $"participation:{Campaign}:");
        await using var api = await ApiProcess.StartAsync(proxy.ConnectionStringFor(connectionString), ct);
        using var client = api.Client();
        client.Timeout = HangBound;
        using (var admin = api.Client())
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
            (await admin.PutAsJsonAsync("/v1/accounts/acc", new { name = "A" }, ct)).EnsureSuccessStatusCode();
            (await admin.PutAsJsonAsync("/v1/accounts/acc/secure-token", new { method = "hmac", secret = TestTokens.Secret }, ct)).EnsureSuccessStatusCode();
            (await admin.PutAsJsonAsync($"/v1/campaigns/{Campaign}", new { accountId = "acc", name = "R", limits = new { perParticipant = 1000 } }, ct)).EnsureSuccessStatusCode();
        }

        string NewToken(string sub, out string jti)
        {
            jti = TestTokens.NewJti();
            return TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(sub, Campaign, jti: jti));
        }

        var learned = new Dictionary<string, Guid>(StringComparer.Ordinal);
        for (var i = 0; i < 10; i++)
        {
            var token = NewToken($"warm{i}", out var jti);
            var answer = await SendAsync(client, token, jti, 0, ct);
            answer.Status.ShouldBe(HttpStatusCode.Created, answer.Failure + api.RecentOutput);
            learned[jti] = answer.ParticipationId!.Value;
        }

        // One at a time: each request's commit reaches the database, its answer is lost on the way back.
        var lost = new List<Answer>();
        for (var i = 0; i < 5; i++)
        {
            var cutBefore = proxy.CutCommits;
            proxy.Arm(1);
            var token = NewToken($"lost{i}", out var jti);
            var answer = await SendAsync(client, token, jti, 1, ct);
            proxy.CutCommits.ShouldBe(cutBefore + 1, "the proxy cut that request's commit answer");
            answer.Failure.ShouldBeNull();
            answer.Status.ShouldBe(HttpStatusCode.ServiceUnavailable, $"outcome unknown: {answer.Code}\n{api.RecentOutput}");
            answer.ContentType.ShouldBe("application/problem+json");
            answer.Code.ShouldBe("service_unavailable");
            answer.RetryAfter.ShouldBe("1");
            lost.Add(answer);
        }

        // Then under concurrency: 40 participants at once, decided in batches, the answers of some of whose commits
        // are lost. A lost commit answer is a 503 for every request its batch decided (none of them can know).
        var cutBeforeBurst = proxy.CutCommits;
        proxy.Arm(3);
        var burst = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
        {
            var token = NewToken($"burst{i}", out var jti);
            return SendAsync(client, token, jti, 2, ct);
        }));
        proxy.Arm(-proxy.Armed);
        var cutInBurst = proxy.CutCommits - cutBeforeBurst;
        cutInBurst.ShouldBeGreaterThan(0, "the burst committed in batches, at least one of whose answers was lost");
        burst.Where(a => a.Failure is not null || a.Status is not (HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable))
            .Select(a => $"{a.Failure} {(int?)a.Status} {a.Code}").ShouldBeEmpty(api.RecentOutput);
        burst.Count(a => a.Status == HttpStatusCode.ServiceUnavailable).ShouldBeGreaterThanOrEqualTo(cutInBurst);
        burst.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ShouldAllBe(a => a.Code == "service_unavailable" && a.ContentType == "application/problem+json");
        foreach (var answer in burst.Where(a => a.Status == HttpStatusCode.Created))
        {
            learned[answer.Jti] = answer.ParticipationId!.Value;
        }

        lost.AddRange(burst.Where(a => a.Status == HttpStatusCode.ServiceUnavailable));

        // Retrying each with the same token: the committed participation, as a 409 with its id; twice, still the same.
        var stored = await AcceptedByJtiAsync(connectionString, ct);
        foreach (var answer in lost)
        {
            stored.ShouldContainKey(answer.Jti, "the commit whose answer was lost did happen");
            var retry = await SendAsync(client, answer.Token, answer.Jti, 3, ct);
            retry.Status.ShouldBe(HttpStatusCode.Conflict, retry.Failure + retry.Code);
            retry.Code.ShouldBe("token_replayed");
            retry.ParticipationId.ShouldBe(stored[answer.Jti].Single());
            (await SendAsync(client, answer.Token, answer.Jti, 3, ct)).ParticipationId.ShouldBe(retry.ParticipationId);
            learned[answer.Jti] = retry.ParticipationId!.Value;
        }

        // The service went on by itself, and the store holds each token once, as the participation the client learned.
        var after = await SendAsync(client, NewToken("after", out var afterJti), afterJti, 4, ct);
        after.Status.ShouldBe(HttpStatusCode.Created);
        learned[afterJti] = after.ParticipationId!.Value;
        stored = await AcceptedByJtiAsync(connectionString, ct);
        stored.Where(s => s.Value.Count != 1).ShouldBeEmpty();
        stored.Keys.Order().ShouldBe(learned.Keys.Order());
        foreach (var (jti, id) in learned)
        {
            stored[jti].Single().ShouldBe(id);
        }

        TestContext.Current.SendDiagnosticMessage($"lost commits: {proxy.CutCommits} commits whose answers were lost, each answered 503 and retried into its 409");
    }

    private static async Task<Answer> SendAsync(HttpClient client, string token, string jti, int phase, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await client.PostAsync($"/v1/campaigns/{Campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            var json = body.Length > 0 && body[0] == '{' ? JsonDocument.Parse(body).RootElement : default;
            return new Answer(
                token,
                jti,
                phase,
                response.StatusCode,
                response.Content.Headers.ContentType?.MediaType ?? "",
                json.ValueKind == JsonValueKind.Object && json.TryGetProperty("code", out var code) ? code.GetString() : null,
                response.Headers.TryGetValues("Retry-After", out var retryAfter) ? string.Join(",", retryAfter) : null,
                json.ValueKind == JsonValueKind.Object && json.TryGetProperty("participationId", out var id) ? id.GetGuid() : null,
                Stopwatch.GetElapsedTime(started),
                null);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Answer(token, jti, phase, null, "", null, null, null, Stopwatch.GetElapsedTime(started), $"no answer within {HangBound.TotalSeconds:F0} s (hung)");
        }
        catch (HttpRequestException ex)
        {
            return new Answer(token, jti, phase, null, "", null, null, null, Stopwatch.GetElapsedTime(started), "connection to the API failed: " + ex.Message);
        }
    }

    /// <summary>The participation ids of the accepted events of each jti.</summary>
    internal static async Task<Dictionary<string, List<Guid>>> AcceptedByJtiAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "select data ->> 'jti', (data ->> 'participationId')::uuid from participation.mt_events where type = 'participation_accepted'";
        var result = new Dictionary<string, List<Guid>>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var jti = reader.GetString(0);
            if (!result.TryGetValue(jti, out var ids))
            {
                result[jti] = ids = [];
            }

            ids.Add(reader.GetGuid(1));
        }

        return result;
    }

    private static async Task WaitUntil(Func<bool> condition, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition was not met within 180 s.");
            }

            await Task.Delay(10, ct);
        }
    }
}

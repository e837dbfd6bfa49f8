using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Marten;
using Microsoft.Extensions.Logging.Abstractions;
using Participation.Api.Hosting.Database;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Reliability;

/// <summary>
/// Invariant 5: PostgreSQL restarted under sustained traffic. Requests during the outage fail fast with a 503
/// problem, the service recovers by itself, every 201 is in the event store exactly once, and retrying a request
/// whose outcome was unknown gives a 201 or the 409 carrying the original participation.
/// </summary>
public sealed class DatabaseRestartTests
{
    private const string Campaign = "restart";

    [Fact(Timeout = 900_000)]
    public async Task RestartingPostgresUnderTrafficLosesAndDoublesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "participation-restart-" + Guid.NewGuid().ToString("N")[..12]);
        var postgres = await LocalPostgres.StartPersistentAsync(dataDirectory, "participation", NullLogger.Instance, ct);
        var connectionString = postgres.ConnectionString;
        var accepted = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        var unknown = new System.Collections.Concurrent.ConcurrentBag<string>();
        var outageAnswers = new System.Collections.Concurrent.ConcurrentBag<(HttpStatusCode Status, string ContentType, TimeSpan Took)>();
        var outage = 0;
        ApiProcess? api = null;
        try
        {
            api = await ApiProcess.StartAsync(connectionString, ct);
            using var client = api.Client();
            using (var admin = api.Client())
            {
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
                (await admin.PutAsJsonAsync("/v1/accounts/acc", new { name = "A" }, ct)).EnsureSuccessStatusCode();
                (await admin.PutAsJsonAsync("/v1/accounts/acc/secure-token", new { method = "hmac", secret = TestTokens.Secret }, ct)).EnsureSuccessStatusCode();
                (await admin.PutAsJsonAsync($"/v1/campaigns/{Campaign}", new { accountId = "acc", name = "R", limits = new { perParticipant = 1000 } }, ct)).EnsureSuccessStatusCode();
            }

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(400));
            var sent = 0;
            var workers = Enumerable.Range(0, 8).Select(async w =>
            {
                while (!stop.IsCancellationRequested && Interlocked.Increment(ref sent) <= 20_000)
                {
                    var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims($"w{w}", Campaign, jti: TestTokens.NewJti()));
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        var response = await client.PostAsync($"/v1/campaigns/{Campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), ct);
                        if (response.StatusCode == HttpStatusCode.Created)
                        {
                            accepted.Add((await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("participationId").GetGuid());
                        }
                        else
                        {
                            unknown.Add(token);
                            if (Volatile.Read(ref outage) == 1)
                            {
                                outageAnswers.Add((response.StatusCode, response.Content.Headers.ContentType?.MediaType ?? "", Stopwatch.GetElapsedTime(started)));
                            }
                        }
                    }
                    catch (HttpRequestException)
                    {
                        unknown.Add(token);
                    }
                }
            }).ToList();

            await WaitUntil(() => accepted.Count >= 100, ct);
            Volatile.Write(ref outage, 1);
            await postgres.DisposeAsync();
            await WaitUntil(() => outageAnswers.Count >= 20, ct);
            var acceptedBeforeRestart = accepted.Count;

            postgres = await LocalPostgres.StartPersistentAsync(dataDirectory, "participation", NullLogger.Instance, ct);
            postgres.ConnectionString.ShouldBe(connectionString, "the restarted server must come back on the same port");
            Volatile.Write(ref outage, 2);
            await WaitUntil(() => accepted.Count >= acceptedBeforeRestart + 100, ct);
            await stop.CancelAsync();
            await Task.WhenAll(workers);

            // During the outage: problem+json 503s (not hangs, not 500s).
            outageAnswers.ShouldNotBeEmpty();
            outageAnswers.ShouldAllBe(a => a.Status == HttpStatusCode.ServiceUnavailable && a.ContentType == "application/problem+json");
            TestContext.Current.TestOutputHelper?.WriteLine($"outage answers: {outageAnswers.Count}, slowest {outageAnswers.Max(a => a.Took).TotalMilliseconds:F0} ms");

            // The service recovered by itself; retrying each unknown outcome with the same token is safe.
            foreach (var token in unknown)
            {
                var response = await client.PostAsync($"/v1/campaigns/{Campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), ct);
                var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    accepted.Add(body.GetProperty("participationId").GetGuid());
                }
                else
                {
                    // The first attempt was committed although its answer was lost: the 409 tells which participation.
                    response.StatusCode.ShouldBe(HttpStatusCode.Conflict, body.ToString());
                    accepted.Add(body.GetProperty("participationId").GetGuid());
                }
            }

            await using var store = DocumentStore.For(options => options.Connection(connectionString));
            await using var session = store.QuerySession();
            var ids = (await session.QueryAsync<Guid>(
                "select (data ->> 'participationId')::uuid from participation.mt_events where type = 'participation_accepted'", ct)).ToList();
            ids.Count.ShouldBe(ids.Distinct().Count());
            ids.Order().ShouldBe(accepted.Distinct().Order(), "every accepted participation is in the store once, and nothing else is");
            var perToken = await session.QueryAsync<long>(
                "select count(*) from participation.mt_events where type = 'participation_accepted' group by data ->> 'replayKey'", ct);
            perToken.ShouldAllBe(n => n == 1, "no token is ever accepted twice");
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

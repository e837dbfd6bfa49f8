using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Participation.Api.Hosting;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Security;

/// <summary>
/// A second service on its own database, as in production: Production environment (master key required, no developer
/// pages), per-client rate limiting on (1 participation per second, burst of 3), and two routes that throw, to see what
/// an unexpected exception looks like from outside.
/// </summary>
public sealed class LimitedHost(AppFixture app) : IAsyncLifetime
{
    public const int Burst = 3;
    public const string ThrowPath = "/test-only/throw";
    public const string TransientPath = "/test-only/transient";
    public static readonly string Canary = "canary-exception-detail-" + Guid.NewGuid().ToString("N");

    public WebApplication Host { get; private set; } = null!;

    public Uri Address { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var connectionString = await app.CreateDatabaseAsync("participation_abuse_limits");
        Host = await KestrelHost.CreateAsync(
            connectionString,
            "Production",
            new Dictionary<string, string?>
            {
                ["Participation:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                ["Participation:RateLimit:PermitsPerSecond"] = "1",
                ["Participation:RateLimit:Burst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            builder => builder.WebHost.UseUrls("http://127.0.0.1:0"));
        Host.MapGet(ThrowPath, () => Fail());
        Host.MapGet(TransientPath, () => FailTransiently());
        await Host.StartAsync(TestContext.Current.CancellationToken);
        Address = new Uri(Host.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.StopAsync();
            await Host.DisposeAsync();
        }
    }

    /// <summary>A client whose connections come from <paramref name="localAddress"/> (any 127.x.y.z is loopback on Linux).</summary>
    public HttpClient Client(string localAddress = "127.0.0.1")
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = Address };
    }

    private static string Fail() => throw new InvalidOperationException(Canary, new InvalidDataException(Canary + "-inner"));

    private static string FailTransiently() => throw new TimeoutException(Canary);
}

/// <summary>
/// Abuse limits: request sizes (on Kestrel: the in-memory server ignores them), per-client rate limiting of the
/// participation endpoint, security headers on every answer, and no exception detail in Production answers.
/// </summary>
public sealed class AbuseLimitsTests(AppFixture app, LimitedHost limited) : IClassFixture<LimitedHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpRequestMessage Put(string path, string json) => new(HttpMethod.Put, path)
    {
        Content = new StringContent(json, Encoding.UTF8, "application/json"),
        Headers = { ExpectContinue = true },
    };

    private static string AccountBody(int bytes) => "{\"name\":\"" + new string('x', bytes) + "\"}";

    [Fact]
    public async Task ManagementBodiesOverTwoHundredFiftySixKibAreRefusedUnreadWith413()
    {
        using var admin = app.AdminClient(kestrel: true);
        var account = Given.NewId("acc");
        (await admin.PutAsJsonAsync($"/v1/accounts/{account}", new { name = "Big bodies" }, Ct)).EnsureSuccessStatusCode();
        var before = await StateOfAsync(account);

        // Every management route that reads a body. Expect: 100-continue lets Kestrel refuse before the client sends
        // the body (no reset mid-upload); without it (chunked, no length) the limit is hit while reading, so the big
        // value is one of the route's own members (an unknown member would be refused as soon as its name is read).
        foreach (var (method, path, member) in new[]
        {
            (HttpMethod.Put, $"/v1/accounts/{account}", "name"),
            (HttpMethod.Put, $"/v1/accounts/{account}/secure-token", "secret"),
            (HttpMethod.Put, $"/v1/campaigns/{Given.NewId("cmp")}", "name"),
            (HttpMethod.Post, $"/v1/accounts/{account}/encryption-keys", "alg"),
        })
        {
            foreach (var chunked in new[] { false, true })
            {
                using var request = Big(method, path, "{\"" + member + "\":\"" + new string('x', 300 * 1024) + "\"}", "application/json", chunked);
                var answer = await ApiAnswer.From(await admin.SendAsync(request, Ct));
                answer.ShouldBeProblem(HttpStatusCode.RequestEntityTooLarge, "request_invalid");
                ShouldCarrySecurityHeaders(answer.Response);
            }
        }

        // Under the limit, the body is read and validated: the limit is not lower than announced.
        using var under = Put($"/v1/accounts/{account}", AccountBody(200 * 1024));
        var read = await ApiAnswer.From(await admin.SendAsync(under, Ct));
        read.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        read.Json.GetProperty("errors").TryGetProperty("name", out _).ShouldBeTrue(read.Body);
        ParticipationHosting.MaxRequestBodyBytes.ShouldBe(256 * 1024);

        // Nothing was changed by the refused bodies: no new audit event, no encryption key.
        (await StateOfAsync(account)).ShouldBe(before);
    }

    [Fact]
    public async Task ParticipationAndEligibilityBodiesOverSixtyFourKibAreRefusedUnreadWith413()
    {
        using var client = app.KestrelClient();
        var campaign = await new Given(app).CampaignAsync(await new Given(app).HmacAccountAsync());
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("big-body", campaign, jti: TestTokens.NewJti()));

        foreach (var route in new[] { "participations", "eligibility" })
        {
            var path = $"/v1/campaigns/{campaign}/{route}";
            var bodies = new (string Body, string ContentType)[]
            {
                ($"qual_token={token}&padding={new string('p', 70 * 1024)}", "application/x-www-form-urlencoded"),
                ($"{{\"token\":\"{token}{new string('A', 70 * 1024)}\"}}", "application/json"),
                ($"--b\r\nContent-Disposition: form-data; name=\"qual_token\"\r\n\r\n{token}\r\n--b\r\nContent-Disposition: form-data; name=\"pad\"\r\n\r\n{new string('p', 70 * 1024)}\r\n--b--\r\n", "multipart/form-data; boundary=b"),
            };
            foreach (var (body, contentType) in bodies)
            {
                foreach (var chunked in new[] { false, true })
                {
                    using var request = Big(HttpMethod.Post, path, body, contentType, chunked);
                    var answer = await ApiAnswer.From(await client.SendAsync(request, Ct));
                    answer.ShouldBeProblem(HttpStatusCode.RequestEntityTooLarge, "request_invalid");
                    answer.Body.ShouldNotContain(token);
                }
            }
        }

        // Nothing was taken into account for that participant, and the same token still works in a small body.
        using var admin = app.AdminClient();
        (await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}/participants/big-body", Ct))).Json.GetProperty("accepted").GetInt32().ShouldBe(0);
        (await client.PostAsync($"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task ARequestLineOrHeadersOverSixtyFourKibAreRefusedByKestrelAndTheServiceKeepsAnswering()
    {
        // Kestrel refuses these before any middleware runs: a bare 414 / 431 (no body, no problem: no hook exists for
        // them), then closes the connection. Below those limits the service answers itself (token_too_large).
        // Raw sockets: System.Uri caps a URI at 65,519 characters, under the 64 KiB request line.
        var campaign = Given.NewId("none");
        var url = await RawRequestAsync($"POST /v1/campaigns/{campaign}/participations?qual_token={new string('A', 70 * 1024)} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        url.ShouldStartWith("HTTP/1.1 414 ");

        var padding = string.Concat(Enumerable.Range(0, 9).Select(i => $"X-Padding-{i}: {new string('h', 8 * 1024)}\r\n"));
        var headers = await RawRequestAsync($"POST /v1/campaigns/{campaign}/participations HTTP/1.1\r\nHost: x\r\n{padding}Content-Length: 0\r\n\r\n");
        headers.ShouldStartWith("HTTP/1.1 431 ");

        using (var client = app.KestrelClient())
        {
            (await ApiAnswer.From(await client.PostAsync($"/v1/campaigns/{campaign}/participations?qual_token={new string('A', 60 * 1024)}", null, Ct)))
                .ShouldBeProblem(HttpStatusCode.Unauthorized, "token_too_large");
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/campaigns/{campaign}/participations");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + new string('A', 40 * 1024));
            (await ApiAnswer.From(await client.SendAsync(request, Ct))).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_too_large");
            (await client.GetAsync("/health/live", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task ProblemsTheFrameworkWritesCarryACodeToo()
    {
        var account = await new Given(app).HmacAccountAsync();
        using var admin = app.AdminClient(kestrel: true);
        foreach (var (method, path, status, code) in new[]
        {
            (HttpMethod.Get, "/no/such/route", HttpStatusCode.NotFound, "not_found"),
            (HttpMethod.Delete, $"/v1/accounts/{account}/api-keys/", HttpStatusCode.MethodNotAllowed, "method_not_allowed"),
            (HttpMethod.Post, $"/v1/campaigns/{Given.NewId("cmp")}", HttpStatusCode.MethodNotAllowed, "method_not_allowed"),
        })
        {
            using var request = new HttpRequestMessage(method, path);
            var answer = await ApiAnswer.From(await admin.SendAsync(request, Ct));
            answer.ShouldBeProblem(status, code);
            answer.Json.GetProperty("type").GetString().ShouldBe("urn:participation:problem:" + code);
            ShouldCarrySecurityHeaders(answer.Response);
        }

        // A problem the service wrote keeps its own code.
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = 404 };
        problem.Extensions["code"] = "campaign_not_found";
        ProblemCodes.AddCode(problem);
        problem.Extensions["code"].ShouldBe("campaign_not_found");
        ProblemCodes.For(413).ShouldBe("request_invalid");
        ProblemCodes.For(502).ShouldBe("internal_error");
    }

    /// <summary>A request whose body is sent with a Content-Length and Expect: 100-continue, or chunked without a length.</summary>
    private static HttpRequestMessage Big(HttpMethod method, string path, string body, string contentType, bool chunked)
    {
        HttpContent content = chunked
            ? new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)))
            : new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (chunked)
        {
            request.Headers.TransferEncodingChunked = true;
        }
        else
        {
            request.Headers.ExpectContinue = true;
        }

        return request;
    }

    /// <summary>What a refused management body could have changed: the account's audit events, its keys and its document.</summary>
    private async Task<string> StateOfAsync(string account)
    {
        await using var session = app.Store.QuerySession();
        return (await session.QueryAsync<string>(
            """
            select (select count(*) from participation.mt_events where strpos(stream_id, ?) > 0)
              || ',' || (select count(*) from participation.mt_doc_encryptionkeydocument where data ->> 'accountId' = ?)
              || ',' || (select coalesce(max(mt_version::text), '') from participation.mt_doc_account where id = ?)
              || ',' || (select count(*) from participation.mt_doc_campaign where data ->> 'accountId' = ?)
            """,
            Ct,
            account,
            account,
            account,
            account)).Single();
    }

    /// <summary>Sends <paramref name="request"/> as is to the shared Kestrel host and returns the head of its answer.</summary>
    private async Task<string> RawRequestAsync(string request)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, app.KestrelAddress.Port), timeout.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
        }
        catch (IOException)
        {
            // Kestrel may answer and close before the whole request is written: the answer is still there to read.
        }

        var answer = new StringBuilder();
        var buffer = new byte[4096];
        int read;
        while (!answer.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && (read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }

    [Fact]
    public async Task RateLimitingIsOffByDefault()
    {
        RateLimiting.Read(new ConfigurationBuilder().Build()).ShouldBeNull();
        RateLimiting.Read(new ConfigurationBuilder().AddInMemoryCollection([new("Participation:RateLimit:PermitsPerSecond", "0")]).Build()).ShouldBeNull();
        Should.Throw<InvalidOperationException>(() => RateLimiting.Read(new ConfigurationBuilder().AddInMemoryCollection(
        [
            new("Participation:RateLimit:PermitsPerSecond", "10"),
            new("Participation:RateLimit:Burst", "5"),
        ]).Build()));

        // The shared test host has no limit: 30 participations in a row from one client are all answered by the endpoint.
        using var client = app.KestrelClient();
        for (var i = 0; i < 30; i++)
        {
            (await ApiAnswer.From(await client.PostAsync($"/v1/campaigns/{Given.NewId("none")}/participations", null, Ct)))
                .ShouldBeProblem(HttpStatusCode.Unauthorized, "token_missing");
        }
    }

    [Fact]
    public void ClientsArePartitionedByAddressAndIpv6ByItsSlash64()
    {
        RateLimiting.ClientKey(IPAddress.Parse("203.0.113.7")).ShouldBe("203.0.113.7");
        RateLimiting.ClientKey(IPAddress.Parse("::ffff:203.0.113.7")).ShouldBe("203.0.113.7");
        RateLimiting.ClientKey(IPAddress.Parse("2001:db8:1:2:aaaa::1")).ShouldBe("2001:db8:1:2::/64");
        RateLimiting.ClientKey(IPAddress.Parse("2001:db8:1:2:bbbb::9")).ShouldBe(RateLimiting.ClientKey(IPAddress.Parse("2001:db8:1:2:aaaa::1")));
        RateLimiting.ClientKey(IPAddress.Parse("2001:db8:1:3::1")).ShouldNotBe(RateLimiting.ClientKey(IPAddress.Parse("2001:db8:1:2::1")));
        RateLimiting.ClientKey(null).ShouldBe("unknown");
    }

    [Fact]
    public async Task ParticipationsBeyondTheBurstGet429WithRetryAfterPerClientAndNothingElseIsLimited()
    {
        using var mallory = limited.Client("127.0.0.1");
        var path = $"/v1/campaigns/{Given.NewId("any")}/participations";

        // The bucket starts full: the first Burst requests reach the endpoint. Then, well within a second, a 429.
        var answers = new List<ApiAnswer>();
        for (var i = 0; i < 200 && (answers.Count == 0 || answers[^1].Status != HttpStatusCode.TooManyRequests); i++)
        {
            answers.Add(await ApiAnswer.From(await mallory.PostAsync(path, null, Ct)));
        }

        answers.Take(LimitedHost.Burst).ShouldAllBe(a => a.Status == HttpStatusCode.Unauthorized);
        var limitedAnswer = answers[^1].ShouldBeProblem(HttpStatusCode.TooManyRequests, "rate_limited");
        int.Parse(limitedAnswer.Response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThanOrEqualTo(1);
        ShouldCarrySecurityHeaders(limitedAnswer.Response);

        // X-Forwarded-For is not trusted (no forwarded-headers configuration): new values do not open new buckets, and
        // the eligibility dry run draws from the same bucket. Ten fresh buckets, or an unlimited dry run, would let all
        // ten of a kind through; one bucket refills one request per second.
        var spoofed = new List<HttpStatusCode>();
        var eligibility = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, i % 2 == 0 ? path : path.Replace("/participations", "/eligibility", StringComparison.Ordinal));
            request.Headers.Add("X-Forwarded-For", $"198.51.100.{i + 1}");
            (i % 2 == 0 ? spoofed : eligibility).Add((await mallory.SendAsync(request, Ct)).StatusCode);
        }

        spoofed.ShouldContain(HttpStatusCode.TooManyRequests);
        eligibility.ShouldContain(HttpStatusCode.TooManyRequests);

        // Another client has its own bucket; management and health calls are never limited.
        using var alice = limited.Client("127.0.0.2");
        (await ApiAnswer.From(await alice.PostAsync(path, null, Ct))).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_missing");
        (await mallory.GetAsync("/health/live", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        mallory.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
        (await ApiAnswer.From(await mallory.GetAsync($"/v1/campaigns/{Given.NewId("none")}", Ct))).ShouldBeProblem(HttpStatusCode.NotFound, "campaign_not_found");
    }

    [Fact]
    public async Task AnUnexpectedExceptionInProductionAnswersAProblemWithoutAnyDetail()
    {
        using var client = limited.Client();
        var crash = await ApiAnswer.From(await client.GetAsync(LimitedHost.ThrowPath, Ct));
        crash.ShouldBeProblem(HttpStatusCode.InternalServerError, "internal_error");
        ShouldRevealNothing(crash.Body);
        ShouldCarrySecurityHeaders(crash.Response);

        var transient = await ApiAnswer.From(await client.GetAsync(LimitedHost.TransientPath, Ct));
        transient.ShouldBeProblem(HttpStatusCode.ServiceUnavailable, "service_unavailable");
        transient.Response.Headers.GetValues("Retry-After").ShouldBe(["1"]);
        ShouldRevealNothing(transient.Body);
    }

    [Fact]
    public async Task ExceptionProblemsWritesNoExceptionDetailWhateverTheException()
    {
        await using var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var handler = new ExceptionProblems(NullLogger<ExceptionProblems>.Instance, services.GetRequiredService<Microsoft.AspNetCore.Http.IProblemDetailsService>());

        foreach (var (exception, status, code) in new (Exception, int, string)[]
        {
            (Thrown(() => throw new InvalidOperationException(LimitedHost.Canary)), 500, "internal_error"),
            (Thrown(() => throw new NullReferenceException(LimitedHost.Canary)), 500, "internal_error"),
            (Thrown(() => throw new AggregateException(LimitedHost.Canary, new TimeoutException(LimitedHost.Canary))), 503, "service_unavailable"),
            (Thrown(() => throw new BadHttpRequestException(LimitedHost.Canary, 413)), 413, "request_invalid"),
        })
        {
            var context = new DefaultHttpContext { RequestServices = services };
            context.Response.Body = new MemoryStream();

            (await handler.TryHandleAsync(context, exception, Ct)).ShouldBeTrue();

            context.Response.StatusCode.ShouldBe(status);
            context.Response.ContentType.ShouldBe("application/problem+json");
            var body = Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());
            body.ShouldContain($"\"code\":\"{code}\"");
            exception.StackTrace.ShouldNotBeNullOrEmpty();
            ShouldRevealNothing(body);
        }

        static Exception Thrown(Action action)
        {
            try
            {
                action();
            }
            catch (Exception ex)
            {
                return ex;
            }

            throw new InvalidOperationException("The action did not throw.");
        }
    }

    [Fact]
    public async Task SecurityHeadersAreDefaultsThatAnEndpointsOwnHeadersOverride()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        await using var page = builder.Build();
        page.UseSecurityHeaders();
        page.MapGet("/play/page", (HttpContext http) =>
        {
            http.Response.Headers["X-Frame-Options"] = "SAMEORIGIN";
            http.Response.Headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'self'";
            http.Response.Headers.CacheControl = "public, max-age=60";
            return Results.Content("<!doctype html><title>page</title>", "text/html");
        });
        page.MapGet("/v1/thing", () => Results.Ok(new { ok = true }));
        await page.StartAsync(Ct);
        using var client = page.GetTestClient();

        var html = await client.GetAsync("/play/page", Ct);
        html.Headers.GetValues("X-Frame-Options").ShouldBe(["SAMEORIGIN"]);
        html.Headers.GetValues("Content-Security-Policy").ShouldBe(["default-src 'self'; frame-ancestors 'self'"]);
        html.Headers.CacheControl!.Public.ShouldBeTrue();
        html.Headers.GetValues("X-Content-Type-Options").ShouldBe(["nosniff"]);
        html.Headers.GetValues("Referrer-Policy").ShouldBe(["no-referrer"]);

        var api = await client.GetAsync("/v1/thing", Ct);
        ShouldCarrySecurityHeaders(api);
        api.Headers.CacheControl!.NoStore.ShouldBeTrue();
        api.Headers.Contains("Content-Security-Policy").ShouldBeFalse("no CSP is imposed globally: pages bring their own");
        await page.StopAsync(Ct);
    }

    [Fact]
    public async Task ProblemAnswersCarryTheSecurityHeadersToo()
    {
        using var client = app.KestrelClient();
        var token = new string('A', 9000);
        foreach (var response in new[]
        {
            await client.PostAsync($"/v1/campaigns/{Given.NewId("none")}/participations?qual_token={token}", null, Ct),
            await client.GetAsync("/v1/campaigns/x", Ct),
            await client.GetAsync("/no/such/route", Ct),
        })
        {
            ((int)response.StatusCode).ShouldBeInRange(400, 499);
            ShouldCarrySecurityHeaders(response);
        }
    }

    [Fact]
    public async Task EveryKindOfAnswerOfTheRealServiceCarriesTheSecurityHeaders()
    {
        var given = new Given(app);
        var account = await given.HmacAccountAsync();
        var campaign = await given.CampaignAsync(account);
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("headers", campaign, jti: TestTokens.NewJti()));
        using var client = app.KestrelClient();
        using var admin = app.AdminClient(kestrel: true);

        var answers = new List<(string What, HttpResponseMessage Response)>
        {
            ("API reference page", await client.GetAsync("/docs", Ct)),
            ("OpenAPI document", await client.GetAsync("/openapi/v1.json", Ct)),
            ("dashboard page", await client.GetAsync($"/dashboard/{campaign}", Ct)),
            ("page script", await client.GetAsync("/assets/play.js", Ct)),
            ("page style sheet", await client.GetAsync("/assets/pages.css", Ct)),
            ("liveness", await client.GetAsync("/health/live", Ct)),
            ("readiness", await client.GetAsync("/health/ready", Ct)),
            ("public JWKS", await client.GetAsync($"/v1/accounts/{account}/jwks.json", Ct)),
            ("201 participation", await client.PostAsync($"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct)),
            ("409 replay", await client.PostAsync($"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct)),
            ("401 no token", await client.PostAsync($"/v1/campaigns/{campaign}/participations", null, Ct)),
            ("404 campaign", await client.PostAsync($"/v1/campaigns/{Given.NewId("none")}/participations", null, Ct)),
            ("401 no api key", await client.GetAsync($"/v1/campaigns/{campaign}", Ct)),
            ("200 management", await admin.GetAsync($"/v1/campaigns/{campaign}", Ct)),
            ("unknown route", await client.GetAsync("/no/such/route", Ct)),
        };

        answers.Select(a => (a.What, (int)a.Response.StatusCode)).ShouldContain(a => a.What == "201 participation" && a.Item2 == 201);
        answers.Select(a => (a.What, (int)a.Response.StatusCode)).ShouldContain(a => a.What == "409 replay" && a.Item2 == 409);
        foreach (var (what, response) in answers)
        {
            ((int)response.StatusCode).ShouldBeLessThan(500, what);
            ShouldCarrySecurityHeaders(response, what);
        }

        // The play page may be framed by partners (its CSP says by whom): no X-Frame-Options, nosniff and no referrer still.
        var play = await client.GetAsync($"/play/{campaign}", Ct);
        play.StatusCode.ShouldBe(HttpStatusCode.OK);
        play.Headers.GetValues("X-Content-Type-Options").ShouldBe(["nosniff"]);
        play.Headers.GetValues("Referrer-Policy").ShouldBe(["no-referrer"]);
        play.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("frame-ancestors");
        play.Headers.Contains("X-Frame-Options").ShouldBeFalse();
        play.Headers.Contains("Server").ShouldBeFalse();

        // API answers are never cached.
        foreach (var (what, response) in answers.Where(a => a.What is "201 participation" or "409 replay" or "401 no token" or "200 management"))
        {
            response.Headers.CacheControl!.NoStore.ShouldBeTrue(what);
        }
    }

    private static void ShouldCarrySecurityHeaders(HttpResponseMessage response, string? what = null)
    {
        response.Headers.GetValues("X-Content-Type-Options").ShouldBe(["nosniff"], what);
        response.Headers.GetValues("Referrer-Policy").ShouldBe(["no-referrer"], what);
        response.Headers.GetValues("X-Frame-Options").ShouldBe(["DENY"], what);
        response.Headers.Contains("Server").ShouldBeFalse(what);
    }

    private static void ShouldRevealNothing(string body)
    {
        body.ShouldNotContain(LimitedHost.Canary);
        foreach (var detail in new[] { "Exception", " at ", ".cs:line", "StackTrace", "stackTrace", "InvalidData", "Participation.Api.Tests" })
        {
            body.ShouldNotContain(detail, Case.Sensitive);
        }
    }
}

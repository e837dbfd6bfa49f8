using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

/// <summary>
/// <c>method: jwks</c> against a real JWKS endpoint on loopback (<see cref="JwksServer"/>), with the service's own
/// HTTP fetcher and a fake clock for cache lifetimes and cooldowns: rotation, unknown kid refetch and cooldown,
/// single-flight, outages with last known good keys, slow, oversized and malformed documents, ignored keys.
/// </summary>
public sealed class JwksTests : IAsyncLifetime
{
    private const string AccountId = "jwks-account";

    private static readonly AsymmetricTestKey Rsa1 = TestTokens.NewRsa();
    private static readonly AsymmetricTestKey Rsa2 = TestTokens.NewRsa();
    private static readonly AsymmetricTestKey Rsa3 = TestTokens.NewRsa();

    private readonly FakeTimeProvider time = new(ValidatorHarness.Now);
    private readonly RecordingLogger<JwksKeySource> log = new();
    private readonly ServiceProvider metricsServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly List<(string Outcome, string Reason)> fetchMeasurements = [];
    private readonly MeterListener listener = new();
    private readonly JwksOptions options = new()
    {
        AllowHttp = true,
        AllowPrivateNetworks = true,
        RequestTimeout = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    };

    private JwksServer server = null!;
    private HttpClient client = null!;
    private SecureTokenValidator validator = null!;
    private long settingsVersion = 1;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        server = await JwksServer.StartAsync(Ct);
        var meterFactory = metricsServices.GetRequiredService<IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meterFactory && instrument.Name == JwksKeySource.FetchCounterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? outcome = null, reason = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome") outcome = tag.Value as string;
                if (tag.Key == "reason") reason = tag.Value as string;
            }

            lock (fetchMeasurements)
            {
                fetchMeasurements.Add((outcome!, reason!));
            }
        });
        listener.Start();
        Rebuild(meterFactory);
    }

    public async ValueTask DisposeAsync()
    {
        listener.Dispose();
        client.Dispose();
        await metricsServices.DisposeAsync();
        await server.DisposeAsync();
    }

    private void Rebuild(IMeterFactory? meterFactory = null)
    {
        client?.Dispose();
        client = JwksFetcher.CreateClient(options);
        var source = new JwksKeySource(
            (uri, ct) => new JwksFetcher(client, options).FetchAsync(uri, ct),
            options,
            time,
            log,
            meterFactory ?? metricsServices.GetRequiredService<IMeterFactory>());
        validator = new SecureTokenValidator(time, new RecordingLogger<SecureTokenValidator>(), source);
    }

    private SecureTokenSettings Settings(params string[] algorithms) => new()
    {
        Method = TokenMethod.Jwks,
        Algorithms = algorithms.Length == 0 ? [.. TestTokens.AllAlgorithms.Where(a => !a.StartsWith("HS", StringComparison.Ordinal))] : algorithms,
        JwksUri = server.Uri.AbsoluteUri,
    };

    private ValueTask<(SecureToken? Token, TokenError? Error)> Validate(string token, SecureTokenSettings? settings = null) =>
        validator.ValidateAsync(token, AccountId, settingsVersion, settings ?? Settings(), Ct);

    private static string Token(AsymmetricTestKey key, string? kid, string alg = "RS256", string sub = "alice") =>
        TestTokens.Sign(alg, key.SigningKey, TestTokens.Claims(sub, "camp-1"), kid is null ? null : new { kid });

    private IReadOnlyList<(string Outcome, string Reason)> Fetches()
    {
        lock (fetchMeasurements)
        {
            return [.. fetchMeasurements];
        }
    }

    /// <summary>Waits (bounded) for a background fetch to be counted.</summary>
    private async Task WaitForFetchesAsync(int count)
    {
        var watch = Stopwatch.StartNew();
        while (Fetches().Count < count && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10, Ct);
        }

        Fetches().Count.ShouldBe(count);
    }

    public static TheoryData<string> AsymmetricAlgorithms => [.. TestTokens.AllAlgorithms.Where(a => !a.StartsWith("HS", StringComparison.Ordinal))];

    [Theory]
    [MemberData(nameof(AsymmetricAlgorithms))]
    public async Task Each_asymmetric_algorithm_verifies_with_a_key_from_the_jwks(string alg)
    {
        var key = TestTokens.KeyFor(alg);
        server.Publish(TestJwk.Of(TestTokens.NewRsa(), "other"), TestJwk.Of(key, "the-key"));

        (await Validate(Token(key, "the-key", alg))).ShouldBeAccepted().Sub.ShouldBe("alice");
        server.Requests.ShouldBe(1);
    }

    [Fact]
    public async Task A_token_without_kid_is_refused_without_fetching()
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));

        var error = (await Validate(Token(Rsa1, kid: null))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        error.Detail.ShouldContain("kid");
        server.Requests.ShouldBe(0);
    }

    [Fact]
    public async Task An_algorithm_outside_the_allow_list_is_refused_without_fetching()
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));

        (await Validate(Token(Rsa1, "k1", "PS256"), Settings("RS256"))).ShouldBeRefused(TokenErrorCodes.AlgorithmNotAllowed);
        server.Requests.ShouldBe(0);
    }

    [Fact]
    public async Task Keys_for_encryption_of_unknown_types_or_outside_the_allow_list_are_ignored()
    {
        var ec = TestTokens.EcP256;
        server.Publish(
            TestJwk.Of(Rsa1, "enc-key", use: "enc"),
            TestJwk.Of(Rsa1, "odd-use", use: "other"),
            new Dictionary<string, object>(TestJwk.Of(Rsa1, "decrypt-only")) { ["key_ops"] = new[] { "decrypt" } },
            TestJwk.Of(Rsa1, "ps-only", alg: "PS256"),
            TestJwk.Of(Rsa1, "rsa-as-es", alg: "ES256"),
            TestJwk.Of(Rsa1, "weird-alg", alg: "RSA-OAEP"),
            TestJwk.Of(ec, "ec-as-es384", alg: "ES384"),
            TestJwk.Of(TestTokens.NewRsa(1024), "short-rsa"),
            new { kty = "oct", kid = "symmetric", k = TestTokens.Base64Url(TestTokens.Secret), alg = "HS256" },
            new { kty = "OKP", kid = "ed", crv = "Ed25519", x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
            new Dictionary<string, object>(TestJwk.Of(Rsa1, "x")) { ["kid"] = 42 },
            new { kty = "RSA", kid = "broken", n = "not base64url!", e = "AQAB" },
            TestJwk.Of(Rsa2, "good", alg: "RS256"),
            TestJwk.Of(ec, "good-ec", use: null));
        var settings = Settings("RS256", "ES256");

        foreach (var kid in new[] { "enc-key", "odd-use", "decrypt-only", "ps-only", "rsa-as-es", "weird-alg", "short-rsa", "symmetric", "ed", "broken" })
        {
            (await Validate(Token(Rsa1, kid), settings)).ShouldBeRefused(TokenErrorCodes.KeyNotFound, kid);
        }

        (await Validate(Token(ec, "ec-as-es384", "ES256"), settings)).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        (await Validate(Token(Rsa2, "good"), settings)).ShouldBeAccepted();
        (await Validate(Token(ec, "good-ec", "ES256"), settings)).ShouldBeAccepted();
        log.Entries.ShouldContain(e => e.Message.Contains("3 usable keys, 11 ignored", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rotation_adding_then_removing_a_key_never_refuses_a_token_of_a_published_key()
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();

        // The partner publishes k2 next to k1 and starts signing with it: the unknown kid triggers one refetch.
        server.Publish(TestJwk.Of(Rsa1, "k1"), TestJwk.Of(Rsa2, "k2"));
        time.Advance(TimeSpan.FromSeconds(5));
        (await Validate(Token(Rsa2, "k2"))).ShouldBeAccepted();
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        server.Requests.ShouldBe(2);

        // Later k1 is withdrawn: it keeps working until the cached set expires, then the refreshed set has k2 only.
        server.Publish(TestJwk.Of(Rsa2, "k2"));
        time.Advance(TimeSpan.FromMinutes(30));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        (await Validate(Token(Rsa2, "k2"))).ShouldBeAccepted();
        server.Requests.ShouldBe(2);

        time.Advance(TimeSpan.FromMinutes(31));
        (await Validate(Token(Rsa2, "k2"))).ShouldBeAccepted(); // serves the cached set, refreshes in the background
        await WaitForFetchesAsync(3);
        (await Validate(Token(Rsa2, "k2"))).ShouldBeAccepted();
        (await Validate(Token(Rsa1, "k1"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
    }

    [Fact]
    public async Task An_unknown_kid_refetches_at_most_once_per_cooldown()
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        server.Requests.ShouldBe(1);

        // Unknown kid: one refetch (the first since the cooldown), which does not have it.
        (await Validate(Token(Rsa2, "k2"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        server.Requests.ShouldBe(2);

        // Within the cooldown: refused at once, whatever the kid, even though the endpoint now has it.
        server.Publish(TestJwk.Of(Rsa1, "k1"), TestJwk.Of(Rsa2, "k2"));
        for (var i = 0; i < 20; i++)
        {
            time.Advance(TimeSpan.FromSeconds(2));
            (await Validate(Token(Rsa2, "k2"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
            (await Validate(Token(Rsa3, "k3-" + i))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        }

        server.Requests.ShouldBe(2);

        // Cooldown over (60 s by default): the next unknown kid refetches and the new key works.
        time.Advance(TimeSpan.FromSeconds(21));
        (await Validate(Token(Rsa2, "k2"))).ShouldBeAccepted();
        server.Requests.ShouldBe(3);
    }

    [Fact]
    public async Task The_cooldown_is_configurable()
    {
        options.RefreshCooldown = TimeSpan.FromSeconds(5);
        Rebuild();
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        (await Validate(Token(Rsa2, "k2"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);

        server.Publish(TestJwk.Of(Rsa1, "k1"), TestJwk.Of(Rsa2, "k2"));
        time.Advance(TimeSpan.FromSeconds(4));
        (await Validate(Token(Rsa2, "k2"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        time.Advance(TimeSpan.FromSeconds(1));
        (await Validate(Token(Rsa2, "k2"))).ShouldBeAccepted();
        server.Requests.ShouldBe(3);
    }

    [Fact]
    public async Task A_burst_of_a_thousand_tokens_makes_one_request_to_the_endpoint()
    {
        // Cold cache: a thousand tokens arrive while the only fetch is under way.
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        server.Delay = TimeSpan.FromMilliseconds(300);
        var token1 = Token(Rsa1, "k1");
        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Validate(token1).AsTask()));
        results.ShouldAllBe(r => r.Error == null);
        server.Requests.ShouldBe(1);

        // Rotation after the cooldown: a thousand tokens with the new kid share one refetch.
        time.Advance(TimeSpan.FromMinutes(2));
        server.Publish(TestJwk.Of(Rsa1, "k1"), TestJwk.Of(Rsa2, "k2"));
        server.Delay = TimeSpan.FromMilliseconds(300);
        var token2 = Token(Rsa2, "k2");
        results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Validate(token2).AsTask()));
        results.ShouldAllBe(r => r.Error == null);
        server.Requests.ShouldBe(2);

        // An attacker's thousand unknown kids within the cooldown: no request at all.
        var forged = Enumerable.Range(0, 1000).Select(i => Token(Rsa3, "forged-" + i)).ToList();
        results = await Task.WhenAll(forged.Select(t => Validate(t).AsTask()));
        results.ShouldAllBe(r => r.Error != null && r.Error.Code == TokenErrorCodes.KeyNotFound);
        server.Requests.ShouldBe(2);
    }

    [Fact]
    public async Task During_an_outage_the_last_known_good_keys_keep_working_and_the_failure_is_logged_and_counted()
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        await WaitForFetchesAsync(1);

        server.Status = 503;
        time.Advance(TimeSpan.FromHours(2));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        await WaitForFetchesAsync(2);
        Fetches()[1].ShouldBe(("failure", "http_503"));
        log.Entries.ShouldContain(e => e.Level == LogLevel.Warning && e.Message.Contains("(http_503", StringComparison.Ordinal)
            && e.Message.Contains("the 1 last known good keys stay in use", StringComparison.Ordinal));

        // An unknown kid while the failure cools down: no new attempt, the known key still works.
        (await Validate(Token(Rsa2, "k2"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();

        // Endpoint back: the next refresh (after the failure's cooldown) picks up the current set.
        server.Publish(TestJwk.Of(Rsa2, "k2"));
        time.Advance(TimeSpan.FromMinutes(2));
        (await Validate(Token(Rsa2, "k2"))).ShouldBeAccepted();
    }

    [Fact]
    public async Task The_endpoint_down_at_first_use_refuses_with_key_not_found_then_recovers()
    {
        await server.DisposeAsync();
        var deadUri = server.Uri;
        server = await JwksServer.StartAsync(Ct);
        var settings = Settings() with { JwksUri = deadUri.AbsoluteUri };

        (await Validate(Token(Rsa1, "k1"), settings)).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        await WaitForFetchesAsync(1);
        Fetches()[0].ShouldBe(("failure", "network"));

        // Another settings version points at a live endpoint: a new URI starts afresh.
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        settingsVersion++;
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
    }

    [Fact]
    public async Task A_slow_endpoint_holds_no_token_whose_key_is_known()
    {
        // A timeout far beyond the test: the refresh below can only end when the endpoint answers.
        options.RequestTimeout = TimeSpan.FromMinutes(5);
        Rebuild();
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        await WaitForFetchesAsync(1);

        // The cached set has expired and the endpoint hangs: the token is answered from the known keys while the
        // refresh is still under way (it has reached the endpoint and is not counted as done).
        server.Hold();
        time.Advance(TimeSpan.FromHours(2));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        await WaitUntilAsync(() => server.Requests == 2);
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        Fetches().Count.ShouldBe(1);
        server.Requests.ShouldBe(2);

        server.Release();
        await WaitForFetchesAsync(2);
        Fetches()[1].ShouldBe(("success", "ok"));
    }

    [Fact]
    public async Task A_slow_endpoint_times_out_the_failure_is_counted_and_the_known_keys_keep_working()
    {
        options.RequestTimeout = TimeSpan.FromMilliseconds(300);
        Rebuild();
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();

        // From here on the endpoint never answers.
        server.Hold();
        time.Advance(TimeSpan.FromHours(2));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        await WaitForFetchesAsync(2);
        Fetches()[1].ShouldBe(("failure", "timeout"));
        log.Entries.ShouldContain(e => e.Level == LogLevel.Warning && e.Message.Contains("(timeout", StringComparison.Ordinal));

        // A token that must wait for a fetch (an unknown kid, once the failure's cooldown is over) is answered when
        // the fetch times out: the endpoint is still hanging, so nothing else could have ended the wait.
        time.Advance(TimeSpan.FromMinutes(2));
        (await Validate(Token(Rsa2, "k2"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        Fetches().Count.ShouldBe(3);
        Fetches()[2].ShouldBe(("failure", "timeout"));
        server.Requests.ShouldBe(3);
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_connect_that_never_completes_ends_at_the_connect_timeout_as_a_timeout()
    {
        var ct = TestContext.Current.CancellationToken;

        // Only the connect timeout can end this fetch: the request timeout is far beyond the test's own bound.
        options.ConnectTimeout = TimeSpan.FromMilliseconds(300);
        options.RequestTimeout = TimeSpan.FromMinutes(10);

        // A listener that never accepts, its accept queue filled: the kernel then drops the next SYNs, so a connect
        // to it neither succeeds nor fails (a host that is down or firewalled looks the same from here).
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen(0);
        var port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 64; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(TimeSpan.FromMilliseconds(500));
                try
                {
                    await filler.ConnectAsync(IPAddress.Loopback, port, attempt.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    break;
                }
            }

            fillers.Count.ShouldBeLessThan(64, "the accept queue should fill up");
            using var client = JwksFetcher.CreateClient(options);
            var fetch = await new JwksFetcher(client, options).FetchAsync(new Uri($"http://127.0.0.1:{port}/jwks.json"), ct);

            fetch.Failure.ShouldBe("timeout");
            fetch.Body.ShouldBeNull();
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Theory]
    [InlineData("Production", false)]
    [InlineData("Staging", false)]
    [InlineData("Development", true)]
    [InlineData("Testing", true)]
    public void Http_and_private_addresses_are_allowed_by_default_in_development_and_testing_only(string environment, bool allowed)
    {
        var defaults = HostOptions(environment);
        defaults.AllowHttp.ShouldBe(allowed);
        defaults.AllowPrivateNetworks.ShouldBe(allowed);
        defaults.RefreshCooldown.ShouldBe(TimeSpan.FromSeconds(60));

        // An operator's explicit setting wins in any environment.
        var configured = HostOptions(environment, new()
        {
            ["Participation:Jwks:AllowHttp"] = (!allowed).ToString(),
            ["Participation:Jwks:AllowPrivateNetworks"] = (!allowed).ToString(),
            ["Participation:Jwks:RefreshCooldown"] = "00:00:10",
        });
        configured.AllowHttp.ShouldBe(!allowed);
        configured.AllowPrivateNetworks.ShouldBe(!allowed);
        configured.RefreshCooldown.ShouldBe(TimeSpan.FromSeconds(10));

        static JwksOptions HostOptions(string environment, Dictionary<string, string?>? settings = null)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = environment });
            builder.Configuration.AddInMemoryCollection(settings ?? []);
            builder.AddKeySources();
            using var services = builder.Services.BuildServiceProvider();
            return services.GetRequiredService<IOptions<JwksOptions>>().Value;
        }
    }

    /// <summary>Waits (bounded) for a condition on the endpoint.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition() && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10, Ct);
        }

        condition().ShouldBeTrue();
    }

    public static TheoryData<string, string, bool> BadDocuments => new()
    {
        { "not JSON", "<html>Service Unavailable</html>", false },
        { "truncated", """{"keys":[{"kty":"RSA",""", false },
        { "array", "[]", false },
        { "no keys", """{"jwks":[]}""", false },
        { "keys not an array", """{"keys":{}}""", false },
        { "duplicated member", """{"keys":[],"keys":[]}""", false },
        { "no usable key", """{"keys":[{"kty":"oct","kid":"x","k":"AAAA"}]}""", false },
        { "too many keys", "{\"keys\":[" + string.Join(",", Enumerable.Repeat("{}", 101)) + "]}", false },
        { "oversized", "{\"keys\":[],\"pad\":\"" + new string('x', 300 * 1024) + "\"}", false },
        { "oversized chunked", "{\"keys\":[],\"pad\":\"" + new string('x', 300 * 1024) + "\"}", true },
    };

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public async Task A_malformed_or_oversized_document_keeps_the_last_known_good_keys(string name, string body, bool chunked)
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();

        server.Serve(body, chunked: chunked);
        time.Advance(TimeSpan.FromHours(2));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        await WaitForFetchesAsync(2);
        Fetches()[1].Outcome.ShouldBe("failure", name);
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
    }

    [Fact]
    public async Task Oversized_and_malformed_documents_are_counted_with_their_reason()
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();

        string[] expected = ["too_large", "too_large", "not_json", "not_a_jwk_set", "too_many_keys", "no_usable_key", "http_302"];
        server.Serve("{\"keys\":[],\"pad\":\"" + new string('x', 300 * 1024) + "\"}");
        await RefreshAsync();
        server.Serve("{\"keys\":[],\"pad\":\"" + new string('x', 300 * 1024) + "\"}", chunked: true);
        await RefreshAsync();
        server.Serve("nope");
        await RefreshAsync();
        server.Serve("""{"keys":"x"}""");
        await RefreshAsync();
        server.Serve("{\"keys\":[" + string.Join(",", Enumerable.Repeat("{}", 101)) + "]}");
        await RefreshAsync();
        server.Serve("""{"keys":[]}""");
        await RefreshAsync();
        server.Serve("", status: 302); // redirects are not followed
        await RefreshAsync();

        Fetches().Skip(1).Select(f => f.Reason).ShouldBe(expected);
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();

        async Task RefreshAsync()
        {
            var before = Fetches().Count;
            time.Advance(TimeSpan.FromHours(2));
            (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
            await WaitForFetchesAsync(before + 1);
        }
    }

    [Theory]
    [InlineData("max-age=600", 600)]
    [InlineData("public, max-age=86400", 3600)] // capped at 1 h
    [InlineData("max-age=5", 300)] // at least 5 min
    [InlineData("no-cache", 300)]
    [InlineData("no-store", 300)]
    [InlineData(null, 3600)] // default 1 h
    public async Task Cache_control_sets_the_cache_lifetime_within_bounds(string? cacheControl, int expectedSeconds)
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        server.CacheControl = cacheControl;
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();

        time.Advance(TimeSpan.FromSeconds(expectedSeconds - 1));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        await Task.Delay(50, Ct);
        server.Requests.ShouldBe(1);

        time.Advance(TimeSpan.FromSeconds(2));
        (await Validate(Token(Rsa1, "k1"))).ShouldBeAccepted();
        await WaitForFetchesAsync(2);
        server.Requests.ShouldBe(2);
    }

    [Fact]
    public async Task Http_is_refused_unless_allowed()
    {
        options.AllowHttp = false;
        Rebuild();
        server.Publish(TestJwk.Of(Rsa1, "k1"));

        (await Validate(Token(Rsa1, "k1"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        server.Requests.ShouldBe(0);
        await WaitForFetchesAsync(1);
        Fetches()[0].ShouldBe(("failure", "scheme_not_allowed"));
    }

    [Fact]
    public async Task Private_addresses_are_refused_unless_allowed()
    {
        options.AllowPrivateNetworks = false;
        Rebuild();
        server.Publish(TestJwk.Of(Rsa1, "k1"));

        (await Validate(Token(Rsa1, "k1"))).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        server.Requests.ShouldBe(0);
        await WaitForFetchesAsync(1);
        Fetches()[0].ShouldBe(("failure", "network"));

        // "localhost" resolves to loopback: refused after resolution too.
        var byName = Settings() with { JwksUri = $"http://localhost:{server.Uri.Port}/jwks.json" };
        settingsVersion++;
        time.Advance(TimeSpan.FromMinutes(2));
        (await Validate(Token(Rsa1, "k1"), byName)).ShouldBeRefused(TokenErrorCodes.KeyNotFound);
        server.Requests.ShouldBe(0);
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("::", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("8.8.8.8", true)]
    [InlineData("172.32.0.1", true)]
    [InlineData("2001:4860:4860::8888", true)]
    [InlineData("::ffff:8.8.8.8", true)]
    public void Only_public_addresses_count_as_public(string address, bool isPublic) =>
        JwksFetcher.IsPublic(IPAddress.Parse(address)).ShouldBe(isPublic);

    [Fact]
    public async Task Fetch_logs_name_the_host_only_never_the_path_or_query()
    {
        server.Publish(TestJwk.Of(Rsa1, "k1"));
        var settings = Settings() with { JwksUri = server.Uri.AbsoluteUri + "?access=QUERY-CANARY" };
        (await Validate(Token(Rsa1, "k1"), settings)).ShouldBeAccepted();
        server.Status = 500;
        time.Advance(TimeSpan.FromHours(2));
        (await Validate(Token(Rsa1, "k1"), settings)).ShouldBeAccepted();
        await WaitForFetchesAsync(2);

        log.Entries.Count.ShouldBe(2);
        log.Entries.ShouldAllBe(e => e.Message.Contains("127.0.0.1", StringComparison.Ordinal)
            && !e.Message.Contains("QUERY-CANARY", StringComparison.Ordinal)
            && !e.Message.Contains("jwks.json", StringComparison.Ordinal));
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Hosting;

/// <summary>
/// What an operator's log shipper and OpenTelemetry collector receive from a Production process (the built
/// Participation.Api.dll, as the container runs it): one JSON object per console line, and traces, metrics and logs
/// pushed over OTLP as the standard <c>OTEL_*</c> variables say, never carrying a token.
/// </summary>
public sealed class OperatorSignalsTests(AppFixture app)
{
    /// <summary>A loopback OTLP/HTTP collector: keeps every protobuf body it receives, by signal (traces, metrics, logs).</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly WebApplication _site;

        private Collector(WebApplication site, Uri address)
        {
            _site = site;
            Address = address;
        }

        public ConcurrentDictionary<string, ConcurrentQueue<byte[]>> Received { get; } = new(StringComparer.Ordinal);

        public Uri Address { get; }

        public static async Task<Collector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var site = builder.Build();
            Collector? collector = null;
            site.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                collector!.Received.GetOrAdd(signal, _ => new ConcurrentQueue<byte[]>()).Enqueue(body.ToArray());
                // An empty Export*ServiceResponse: success.
                return Results.Bytes([], "application/x-protobuf");
            });
            await site.StartAsync();
            var address = site.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            collector = new Collector(site, new Uri(address));
            return collector;
        }

        /// <summary>Everything received for a signal, as text (protobuf keeps strings as UTF-8).</summary>
        public string Text(string signal) =>
            Received.TryGetValue(signal, out var bodies) ? string.Join("\n", bodies.Select(b => Encoding.UTF8.GetString(b))) : "";

        public async ValueTask DisposeAsync() => await _site.DisposeAsync();
    }

    [Fact(Timeout = 300_000)]
    public async Task A_production_process_logs_json_lines_and_exports_over_otlp_as_the_otel_variables_say()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var collector = await Collector.StartAsync();
        var connectionString = await app.CreateDatabaseAsync("participation_operator_signals");
        await using var api = await ApiProcess.StartAsync(connectionString, ct, new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Participation__MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Logging__LogLevel__Default"] = "Information",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Address.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "participation-signals-test",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=signals-test,team=partner-integrations",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        });

        using var admin = api.Client();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
        (await admin.PutAsJsonAsync("/v1/accounts/signals", new { name = "Signals" }, ct)).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/v1/accounts/signals/secure-token", new { method = "hmac", secret = TestTokens.Secret }, ct)).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/v1/campaigns/signals", new { accountId = "signals", name = "Signals", limits = new { perParticipant = 2 } }, ct)).EnsureSuccessStatusCode();
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("watched", "signals", jti: TestTokens.NewJti()));
        using var client = api.Client();
        (await client.PostAsync($"/v1/campaigns/signals/participations?qual_token={token}", null, ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await client.PostAsync($"/v1/campaigns/signals/participations?qual_token={token}", null, ct)).StatusCode.ShouldBe(HttpStatusCode.Conflict);

        // Bounded wait for the batches (exported every few hundred milliseconds).
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline
            && !(collector.Text("traces").Contains("/v1/campaigns/{campaignId}/participations", StringComparison.Ordinal)
                && collector.Text("metrics").Contains("participation.decisions", StringComparison.Ordinal)
                && collector.Text("logs").Length > 0))
        {
            await Task.Delay(200, ct);
        }

        var traces = collector.Text("traces");
        traces.ShouldContain("/v1/campaigns/{campaignId}/participations", customMessage: api.RecentOutput);
        var metrics = collector.Text("metrics");
        metrics.ShouldContain("participation.decisions", customMessage: api.RecentOutput);
        collector.Text("logs").ShouldNotBeEmpty(api.RecentOutput);
        foreach (var (signal, text) in new[] { ("traces", traces), ("metrics", metrics), ("logs", collector.Text("logs")) })
        {
            // Named by OTEL_SERVICE_NAME, described by OTEL_RESOURCE_ATTRIBUTES.
            text.ShouldContain("participation-signals-test", customMessage: signal);
            text.ShouldContain("signals-test", customMessage: signal);
            text.ShouldContain("partner-integrations", customMessage: signal);
            // The token travelled in the query string: it is in no signal, not even its signature.
            text.ShouldNotContain(token, customMessage: signal);
            text.ShouldNotContain(token.Split('.')[2], customMessage: signal);
            text.ShouldNotContain("qual_token", customMessage: signal);
        }

        // The console: one JSON object per line, as log shippers expect (no banner, no plain line on standard output).
        var lines = api.StandardOutput.Where(line => line.Length > 0).ToList();
        lines.ShouldContain(line => line.Contains("Now listening on", StringComparison.Ordinal));
        foreach (var line in lines)
        {
            JsonElement entry;
            try
            {
                entry = JsonDocument.Parse(line).RootElement;
            }
            catch (JsonException)
            {
                throw new ShouldAssertException($"A console line that is not JSON: {line}");
            }

            entry.ValueKind.ShouldBe(JsonValueKind.Object, line);
            entry.TryGetProperty("Timestamp", out _).ShouldBeTrue(line);
            entry.TryGetProperty("LogLevel", out _).ShouldBeTrue(line);
            entry.TryGetProperty("Category", out _).ShouldBeTrue(line);
            line.ShouldNotContain(token.Split('.')[2]);
        }
    }
}

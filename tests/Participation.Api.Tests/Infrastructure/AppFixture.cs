using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Alba;
using JasperFx.CommandLine;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Participation.Api.Hosting;
using Participation.Api.Tests.Infrastructure;
using Wolverine;
using Xunit;

[assembly: AssemblyFixture(typeof(AppFixture))]

namespace Participation.Api.Tests.Infrastructure;

/// <summary>
/// One API host for the whole test assembly, on a real PostgreSQL (PostgresFixture: Testcontainers where Docker
/// answers, else a throwaway local server). Tests isolate themselves with fresh account, campaign and sub ids.
/// </summary>
public sealed class AppFixture : IAsyncLifetime
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly PostgresFixture _postgres = new();

    public IAlbaHost Host { get; private set; } = null!;

    /// <summary>Everything the Alba host logged, at every level.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>
    /// The same service on a real Kestrel socket (loopback): what TestServer does not reproduce, such as the raw
    /// request target and the request size limits, is tested through <see cref="KestrelClient"/>.
    /// </summary>
    public WebApplication Kestrel { get; private set; } = null!;

    public Uri KestrelAddress { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        await _postgres.InitializeAsync();
        ConnectionString = await _postgres.CreateDatabaseAsync("participation_api_tests");

        JasperFxEnvironment.AutoStartHost = true;
        Host = await AlbaHost.For<Program>(builder =>
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Marten", ConnectionString);
            builder.UseSetting("Participation:AdminApiKey", AdminKey);

            // Everything down to Debug reaches CapturedLogs (the console stays at Warning): tests prove that no
            // token or secret is logged at the levels an operator may turn on.
            builder.UseSetting("Logging:LogLevel:Default", "Debug");
            builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore", "Debug");
            builder.UseSetting("Logging:LogLevel:Wolverine", "Debug");
            builder.UseSetting("Logging:LogLevel:Marten", "Debug");
            builder.UseSetting("Logging:Console:LogLevel:Default", "Warning");
            builder.ConfigureServices(services =>
            {
                services.AddSingleton<ILoggerProvider>(Logs);
                services.RunWolverineInSoloMode();
            });

            // Time-dependent tests move this host's clock for their own requests only (TestClock).
            builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(TestClock.Instance));
        });

        // Requests run in the sending test's execution context, which carries its TestClock travel.
        Host.Server.PreserveExecutionContext = true;

        Kestrel = await ParticipationApp.CreateAsync(
            new WebApplicationOptions { EnvironmentName = "Testing" },
            builder =>
            {
                builder.WebHost.UseUrls("http://127.0.0.1:0");
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["ConnectionStrings:Marten"] = ConnectionString,
                    ["Participation:AdminApiKey"] = AdminKey,
                });
                // A second process on the same database that answers requests but runs no background agent: the Alba
                // host (solo) runs the async projections, exactly once.
                builder.Services.ConfigureWolverine(options => options.Durability.Mode = DurabilityMode.MediatorOnly);
            });
        await Kestrel.StartAsync();
        KestrelAddress = new Uri(Kestrel.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        if (Kestrel is not null)
        {
            await Kestrel.StopAsync();
            await Kestrel.DisposeAsync();
        }

        if (Host is not null)
        {
            await Host.StopAsync();
            await Host.DisposeAsync();
        }

        await _postgres.DisposeAsync();
    }

    /// <summary>A fresh database on the test PostgreSQL server, for tests that need their own hosts.</summary>
    public Task<string> CreateDatabaseAsync(string name) => _postgres.CreateDatabaseAsync(name);

    /// <summary>A client of the in-process server; requests sent on it run concurrently.</summary>
    public HttpClient Client()
    {
        var client = Host.Server.CreateClient();
        return client;
    }

    /// <summary>A client of the Kestrel instance over loopback TCP.</summary>
    public HttpClient KestrelClient() => new() { BaseAddress = KestrelAddress };

    public HttpClient AdminClient(bool kestrel = false)
    {
        var client = kestrel ? KestrelClient() : Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }

    public IDocumentStore Store => Host.Services.GetRequiredService<IDocumentStore>();
}

/// <summary>Creates accounts and campaigns through the management API, with ids unique to the calling test.</summary>
public sealed class Given(AppFixture app)
{
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public async Task<string> HmacAccountAsync(string? secret = null, object? extraSettings = null)
    {
        var accountId = NewId("acc");
        using var admin = app.AdminClient();
        (await admin.PutAsJsonAsync($"/v1/accounts/{accountId}", new { name = "Test partner" }, TestContext.Current.CancellationToken))
            .EnsureSuccessStatusCode();

        var settings = new Dictionary<string, object?>
        {
            ["method"] = "hmac",
            ["algorithms"] = new[] { "HS256" },
            ["secret"] = secret ?? TestTokens.Secret,
        };
        Merge(settings, extraSettings);
        await PutSecureTokenAsync(accountId, settings);
        return accountId;
    }

    public async Task PutSecureTokenAsync(string accountId, object settings)
    {
        using var admin = app.AdminClient();
        var response = await admin.PutAsJsonAsync($"/v1/accounts/{accountId}/secure-token", settings, TestContext.Current.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"secure-token PUT failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async Task<string> CampaignAsync(string accountId, int perParticipant = 1, string? tokenLimit = null, int? maxTokenLimit = null, string? campaignId = null)
    {
        campaignId ??= NewId("cmp");
        using var admin = app.AdminClient();
        var body = new Dictionary<string, object?>
        {
            ["accountId"] = accountId,
            ["name"] = "Test campaign",
            ["limits"] = new { perParticipant },
        };
        if (tokenLimit is not null) body["tokenLimit"] = tokenLimit;
        if (maxTokenLimit is not null) body["maxTokenLimit"] = maxTokenLimit;
        var response = await admin.PutAsJsonAsync($"/v1/campaigns/{campaignId}", body, TestContext.Current.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"campaign PUT failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return campaignId;
    }

    /// <summary>A campaign with any settings of <c>PUT /v1/campaigns</c> (limits, schedule, time zone) merged over its account and name.</summary>
    public async Task<string> CampaignWithAsync(string accountId, object settings, string? campaignId = null)
    {
        campaignId ??= NewId("cmp");
        var body = new Dictionary<string, object?> { ["accountId"] = accountId, ["name"] = "Test campaign" };
        Merge(body, settings);
        using var admin = app.AdminClient();
        var response = await admin.PutAsJsonAsync($"/v1/campaigns/{campaignId}", body, TestContext.Current.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"campaign PUT failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return campaignId;
    }

    private static void Merge(Dictionary<string, object?> target, object? extra)
    {
        if (extra is null) return;
        var json = JsonSerializer.SerializeToElement(extra);
        foreach (var property in json.EnumerateObject())
        {
            target[property.Name] = property.Value;
        }
    }
}

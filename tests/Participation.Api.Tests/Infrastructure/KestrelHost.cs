using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Participation.Api.Hosting;
using Wolverine;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>The whole service in-process on a loopback Kestrel port, for tests that stop, restart or reconfigure it.</summary>
public static class KestrelHost
{
    public static async Task<(WebApplication Host, Uri Address)> StartAsync(
        string connectionString,
        CancellationToken ct,
        string environment = "Testing",
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var host = await CreateAsync(connectionString, environment, settings, builder => builder.WebHost.UseUrls("http://127.0.0.1:0"));
        await host.StartAsync(ct);
        var address = host.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return (host, new Uri(address));
    }

    /// <summary>The service built but not started (to run one of its commands, for instance).</summary>
    public static Task<WebApplication> CreateAsync(
        string connectionString,
        string environment = "Testing",
        IReadOnlyDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null) =>
        ParticipationApp.CreateAsync(new WebApplicationOptions { EnvironmentName = environment }, builder =>
        {
            var all = new Dictionary<string, string?>
            {
                ["ConnectionStrings:Marten"] = connectionString,
                ["Participation:AdminApiKey"] = AppFixture.AdminKey,
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                all[key] = value;
            }

            builder.Configuration.AddInMemoryCollection(all);
            builder.Services.RunWolverineInSoloMode();
            configure?.Invoke(builder);
        });
}

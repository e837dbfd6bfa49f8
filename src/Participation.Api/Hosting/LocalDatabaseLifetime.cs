using Participation.Api.Hosting.Database;

namespace Participation.Api.Hosting;

/// <summary>Stops the embedded PostgreSQL the app started for itself, after everything else has stopped.</summary>
public sealed class LocalDatabaseLifetime(LocalPostgres server, ILoggerFactory loggerFactory) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await server.DisposeAsync();
        loggerFactory.Dispose();
    }
}

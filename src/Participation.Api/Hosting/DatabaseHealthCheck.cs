using Marten;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Participation.Api.Hosting;

/// <summary>Ready when a query reaches PostgreSQL.</summary>
public sealed class DatabaseHealthCheck(IDocumentStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var session = store.QuerySession();
            await session.QueryAsync<int>("select 1", cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ExceptionProblems.IsTransient(ex))
        {
            return HealthCheckResult.Unhealthy("The database does not answer.");
        }
    }
}

using Microsoft.Extensions.Diagnostics.HealthChecks;
using Participation.Domain.Participations;
using Wolverine.Runtime;

namespace Participation.Api.Hosting;

/// <summary>
/// Builds the participation handler as soon as the process starts, instead of on the first participation: with
/// runtime code generation Wolverine writes and compiles the handler with Roslyn when it first sees the message,
/// seconds on these machines. <c>/health/ready</c> waits for it (<see cref="HandlerWarmupHealthCheck"/>), so a load
/// balancer never sends the first users of a new process into that wait.
/// </summary>
public sealed partial class HandlerWarmup(IWolverineRuntime runtime, ILogger<HandlerWarmup> logger) : BackgroundService
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsDone => _done.Task.IsCompletedSuccessfully;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            runtime.FindInvoker(typeof(ParticipationRequested));
            _done.TrySetResult();
            Built(logger, TimeProvider.System.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not fatal: the first participation builds it again (and fails the same way, visibly, if it must).
            _done.TrySetResult();
            Failed(logger, ex);
        }
    }, stoppingToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Participation handler built in {Milliseconds:F0} ms")]
    private static partial void Built(ILogger logger, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Building the participation handler ahead of the first request failed")]
    private static partial void Failed(ILogger logger, Exception exception);
}

/// <summary>Ready once <see cref="HandlerWarmup"/> has built the participation handler.</summary>
public sealed class HandlerWarmupHealthCheck(HandlerWarmup warmup) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(warmup.IsDone
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The participation handler is still being built."));
}

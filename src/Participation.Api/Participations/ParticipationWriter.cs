using System.Threading.Channels;
using Marten;
using Microsoft.Extensions.Options;
using Participation.Api.Hosting;
using Participation.Domain.Participations;

namespace Participation.Api.Participations;

/// <summary>Settings of the participation writer (<c>Participation:Writer</c>).</summary>
public sealed class ParticipationWriterOptions
{
    public const string Section = "Participation:Writer";

    /// <summary>
    /// Batches in flight at once per process. A participant always goes to the same lane, so its requests are decided
    /// one after the other in this process; lanes commit side by side.
    /// </summary>
    public int Lanes { get; set; } = 2;

    /// <summary>The most participations decided and committed in one transaction.</summary>
    public int MaxBatchSize { get; set; } = 128;
}

/// <summary>
/// Decides participations and commits them in batches: every request that arrives while a lane's transaction commits
/// is decided in the next one, together with the others, so that a burst of participations costs PostgreSQL one
/// transaction and three round trips per batch instead of per request (group commit, docs/design.md "The hot path").
/// Each request still gets its own durable decision: its answer is given once its batch has committed, and a batch
/// whose commit fails answers every one of its requests with that failure.
/// </summary>
/// <remarks>
/// There is no waiting for a batch to fill: a lane takes whatever is queued when it is free, so under light traffic a
/// batch is one request and its latency is that of a single transaction. The batch itself is
/// <see cref="ParticipationBatch"/>.
/// </remarks>
public sealed partial class ParticipationWriter : IHostedService
{
    private readonly Channel<PendingParticipation>[] _lanes;
    private readonly Task[] _loops;
    private readonly ParticipationBatch _batch;
    private readonly int _maxBatchSize;
    private readonly ILogger<ParticipationWriter> _logger;
    private readonly CancellationTokenSource _stopping = new();

    public ParticipationWriter(IDocumentStore store, IOptions<ParticipationWriterOptions> options, ParticipationMetrics metrics, ILogger<ParticipationWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        if (settings.Lanes is < 1 or > 64)
        {
            throw new OptionsValidationException(ParticipationWriterOptions.Section, typeof(ParticipationWriterOptions), [$"{ParticipationWriterOptions.Section}:Lanes must be between 1 and 64."]);
        }

        if (settings.MaxBatchSize is < 1 or > 10_000)
        {
            throw new OptionsValidationException(ParticipationWriterOptions.Section, typeof(ParticipationWriterOptions), [$"{ParticipationWriterOptions.Section}:MaxBatchSize must be between 1 and 10000."]);
        }

        _logger = logger;
        _maxBatchSize = settings.MaxBatchSize;
        _batch = new ParticipationBatch(store, metrics, logger);
        _lanes = new Channel<PendingParticipation>[settings.Lanes];
        _loops = new Task[settings.Lanes];
        for (var i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = Channel.CreateUnbounded<PendingParticipation>(new UnboundedChannelOptions { SingleReader = true });
            _loops[i] = Task.CompletedTask;
        }
    }

    /// <summary>
    /// Decides <paramref name="command"/> in the next batch of its participant's lane and returns the decision once it
    /// is committed. Once queued, a request is decided even if its caller goes away (as a request whose client
    /// disconnects after sending it).
    /// </summary>
    public Task<ParticipationDecision> DecideAsync(ParticipationRequested command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var pending = new PendingParticipation(command);
        var lane = _lanes[(int)((uint)StringComparer.Ordinal.GetHashCode(command.ParticipantId) % (uint)_lanes.Length)];
        if (!lane.Writer.TryWrite(pending))
        {
            throw new ParticipationWriterStoppedException();
        }

        return pending.Decision;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        for (var i = 0; i < _lanes.Length; i++)
        {
            var reader = _lanes[i].Reader;
            _loops[i] = Task.Run(() => RunLaneAsync(reader), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    /// <summary>Stops taking requests and lets every lane finish what is queued (bounded by the host's shutdown timeout).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var lane in _lanes)
        {
            lane.Writer.TryComplete();
        }

        try
        {
            await Task.WhenAll(_loops).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Shutdown timed out: what is still queued is answered with a failure (503, safe to retry).
            await _stopping.CancelAsync();
            await Task.WhenAll(_loops);
        }
    }

    private async Task RunLaneAsync(ChannelReader<PendingParticipation> reader)
    {
        var batch = new List<PendingParticipation>(_maxBatchSize);
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _maxBatchSize && reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                await _batch.RunAsync(batch, _stopping.Token);
            }
            catch (Exception e)
            {
                // RunAsync answers every request itself; this is a fault of the writer, never of a request.
                LogLaneFault(e);
                foreach (var pending in batch)
                {
                    pending.Fail(e);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Participation writer lane fault")]
    private partial void LogLaneFault(Exception exception);
}

/// <summary>A request queued for a batch, and the answer its caller awaits.</summary>
internal sealed class PendingParticipation(ParticipationRequested command)
{
    private readonly TaskCompletionSource<ParticipationDecision> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ParticipationRequested Command { get; } = command;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "VSTHRD003", Justification = "Completed by the writer's lane, which never waits on its caller: no deadlock.")]
    public Task<ParticipationDecision> Decision => _decision.Task;

    public void Complete(ParticipationDecision decision) => _decision.TrySetResult(decision);

    public void Fail(Exception exception) => _decision.TrySetException(exception);
}

/// <summary>The service is stopping: no new participation is taken (503, safe to retry).</summary>
public sealed class ParticipationWriterStoppedException() : Exception("The service is stopping and takes no new participation.");

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Participation.Api.Hosting;

/// <summary>
/// The service's own instruments (meter <c>Participation</c>): participation decisions by outcome and code, and how long
/// a decision took from the request reaching the endpoint to the answer. Exported with the other OpenTelemetry metrics.
/// </summary>
public sealed class ParticipationMetrics : IDisposable
{
    public const string MeterName = "Participation";

    private readonly Meter _meter;
    private readonly Counter<long> _decisions;
    private readonly Histogram<double> _duration;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _batchRetries;

    public ParticipationMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _decisions = _meter.CreateCounter<long>(
            "participation.decisions", unit: "{decision}",
            description: "Participation requests answered, by outcome (accepted, rejected) and code.");
        _duration = _meter.CreateHistogram<double>(
            "participation.decision.duration", unit: "ms",
            description: "Time to decide a participation request, from the endpoint to the answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280] });
        _batchSize = _meter.CreateHistogram<int>(
            "participation.batch.size", unit: "{participation}",
            description: "Participation requests decided and committed together in one transaction.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _batchDuration = _meter.CreateHistogram<double>(
            "participation.batch.duration", unit: "ms",
            description: "Time of the transaction that decides and commits one batch (its last attempt).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280] });
        _batchRetries = _meter.CreateCounter<long>(
            "participation.batch.retries", unit: "{attempt}",
            description: "Batches decided again after losing a race on a participant's stream (another process wrote it first).");
    }

    /// <summary>Records a committed batch: its size, the attempts it took and its last attempt's duration.</summary>
    public void RecordBatch(int size, int attempts, TimeSpan elapsed)
    {
        _batchSize.Record(size);
        _batchDuration.Record(elapsed.TotalMilliseconds);
        if (attempts > 1)
        {
            _batchRetries.Add(attempts - 1);
        }
    }

    /// <summary>Records one answer: <paramref name="code"/> is <c>accepted</c> or the refusal's code.</summary>
    public void Record(string code, TimeSpan elapsed)
    {
        var outcome = code == "accepted" ? "accepted" : "rejected";
        var tags = new TagList { { "outcome", outcome }, { "code", code } };
        _decisions.Add(1, tags);
        _duration.Record(elapsed.TotalMilliseconds, tags);
    }

    public void Dispose() => _meter.Dispose();
}

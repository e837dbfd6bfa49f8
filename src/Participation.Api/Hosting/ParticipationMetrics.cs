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

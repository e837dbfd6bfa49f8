using JasperFx.Events;
using Marten.Events.Projections;
using Participation.Domain.Participations;

namespace Participation.Domain.Reports;

/// <summary>Counts of one quarter hour (UTC): local days in any time zone are whole numbers of quarter hours.</summary>
public sealed class ReportBucket
{
    public long Accepted { get; set; }
    public long Rejected { get; set; }
    public long NewParticipants { get; set; }
}

/// <summary>
/// A campaign's figures, folded from the participation events of all its participants by the async daemon.
/// Counts are kept per UTC quarter hour so that the report can show calendar days in the campaign's time zone
/// (every zone's offset is a multiple of 15 minutes) and stays right if that zone changes.
/// </summary>
public sealed class CampaignReport
{
    public const long BucketSeconds = 15 * 60;

    public string Id { get; set; } = "";
    public long Accepted { get; set; }
    public Dictionary<string, long> Rejected { get; set; } = [];

    /// <summary>Participants with at least one accepted participation.</summary>
    public long UniqueParticipants { get; set; }

    /// <summary>Key: start of the quarter hour in Unix seconds divided by <see cref="BucketSeconds"/>.</summary>
    public Dictionary<long, ReportBucket> Buckets { get; set; } = [];

    /// <summary>Sequence of the last event folded in: with <see cref="LastEventAt"/>, how far this report has reached.</summary>
    public long LastSequence { get; set; }

    public DateTimeOffset? LastEventAt { get; set; }

    public ReportBucket BucketOf(DateTimeOffset at)
    {
        var key = Math.DivRem(at.ToUnixTimeSeconds(), BucketSeconds, out var rest) - (rest < 0 ? 1 : 0);
        if (!Buckets.TryGetValue(key, out var bucket))
        {
            Buckets[key] = bucket = new ReportBucket();
        }

        return bucket;
    }
}

/// <summary>The campaign report, run asynchronously: one document per campaign from every participant's stream.</summary>
public sealed partial class CampaignReportProjection : MultiStreamProjection<CampaignReport, string>
{
    public CampaignReportProjection()
    {
        Identity<ParticipationAccepted>(e => e.CampaignId);
        Identity<ParticipationRejected>(e => e.CampaignId);
    }

    public static void Apply(IEvent<ParticipationAccepted> @event, CampaignReport report)
    {
        ArgumentNullException.ThrowIfNull(@event);
        ArgumentNullException.ThrowIfNull(report);
        var accepted = @event.Data;
        report.Id = accepted.CampaignId;
        report.Accepted++;
        var bucket = report.BucketOf(accepted.At);
        bucket.Accepted++;
        if (accepted.Number == 1)
        {
            report.UniqueParticipants++;
            bucket.NewParticipants++;
        }

        Reached(report, @event);
    }

    public static void Apply(IEvent<ParticipationRejected> @event, CampaignReport report)
    {
        ArgumentNullException.ThrowIfNull(@event);
        ArgumentNullException.ThrowIfNull(report);
        var rejected = @event.Data;
        report.Id = rejected.CampaignId;
        report.Rejected[rejected.Code] = report.Rejected.GetValueOrDefault(rejected.Code) + 1;
        report.BucketOf(rejected.At).Rejected++;
        Reached(report, @event);
    }

    private static void Reached(CampaignReport report, IEvent @event)
    {
        report.LastSequence = Math.Max(report.LastSequence, @event.Sequence);
        report.LastEventAt = report.LastEventAt is { } last && last > @event.Timestamp ? last : @event.Timestamp;
    }
}

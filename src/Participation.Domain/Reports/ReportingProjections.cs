namespace Participation.Domain.Reports;

/// <summary>The async projections of campaign reporting, run as one composite by the daemon.</summary>
public static class ReportingProjections
{
    /// <summary>The composite's name: <c>projections rebuild -p Reporting</c> rebuilds both read models.</summary>
    public const string Name = "Reporting";

    /// <summary>The shard names the two projections had before they ran as a composite (their progression rows).</summary>
    public static readonly string[] FormerShards =
    [
        "CampaignReport:All",
        "Participation.Domain.Reports.ParticipationRowsProjection:All",
    ];
}

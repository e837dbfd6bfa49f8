using Marten;
using Marten.Schema;
using Npgsql;
using Participation.Domain.Reports;

namespace Participation.Api.Reports;

/// <summary>
/// A database written before campaign reports and participation rows ran as one composite projection
/// (<see cref="ReportingProjections"/>) has their progressions but not the composite's, and the composite did not
/// catch up on such a database (its own progression never appeared; <c>RebuildAndRestartTests</c>). At start-up,
/// before the daemon runs (Marten applies initial data right after the schema), such a database loses both read
/// models and their progressions, and the composite rebuilds them from the events. Upgrade with one API process
/// first (a second process starting at the same moment could project a batch that this then deletes;
/// `projections rebuild -p Reporting` repairs that).
/// </summary>
public sealed partial class ReportingUpgrade(ILogger<ReportingUpgrade> logger) : IInitialData
{
    public async Task Populate(IDocumentStore store, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(store);
        var schema = store.Options.DatabaseSchemaName;
        await using var session = store.LightweightSession();
        await session.BeginTransactionAsync(cancellation);
        await using var command = new NpgsqlCommand(
            $"""
            with former as (
                delete from {schema}.mt_event_progression
                where name = any($1)
                  and not exists (select 1 from {schema}.mt_event_progression where name = $2)
                returning name)
            select count(*)::int from former
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = ReportingProjections.FormerShards });
        command.Parameters.Add(new NpgsqlParameter { Value = $"{ReportingProjections.Name}:All" });
        int former;
        await using (var reader = await session.ExecuteReaderAsync(command, cancellation))
        {
            former = await reader.ReadAsync(cancellation) ? reader.GetInt32(0) : 0;
        }

        if (former == 0)
        {
            return;
        }

        session.DeleteWhere<CampaignReport>(_ => true);
        session.QueueSqlCommand($"delete from {schema}.{ParticipationRowsProjection.TableName}");
        await session.SaveChangesAsync(cancellation);
        LogUpgraded(logger);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Campaign reports and participation rows now run as one composite projection: both are rebuilt from the events")]
    private static partial void LogUpgraded(ILogger logger);
}

using Marten;
using Participation.Domain.Participations;
using Weasel.Postgresql.Tables;

namespace Participation.Domain.Campaigns;

/// <summary>
/// The campaign-wide cap (<c>limits.maxParticipations</c>): one row per capped campaign counting its accepted
/// participations, <c>campaign_places(campaign_id, accepted)</c>. A participation takes a place with a conditional
/// increment in the transaction that appends its <see cref="ParticipationAccepted"/>, after the participant's own
/// rules granted it: the row lock orders the acceptances of one capped campaign, the condition keeps the count at or
/// below the cap, and a transaction that fails afterwards (a lost stream race retried by Wolverine, a failed commit)
/// gives its place back by rolling back. Campaigns without a cap never touch the table.
/// </summary>
public static class CampaignPlaces
{
    public const string TableName = "campaign_places";

    /// <summary>The table, created with the rest of the schema (<c>ApplyAllDatabaseChangesOnStartup</c>).</summary>
    public static StoreOptions AddCampaignPlaces(this StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var table = new Table($"{options.DatabaseSchemaName}.{TableName}");
        table.AddColumn<string>("campaign_id").AsPrimaryKey();
        table.AddColumn<int>("accepted").NotNull().DefaultValueByExpression("0");
        options.Storage.ExtendedSchemaObjects.Add(table);
        return options;
    }

    /// <summary>
    /// Takes one place in the session's open transaction (the one holding the participant's stream lock): false when
    /// the campaign has <paramref name="max"/> accepted participations already. Rows that do not match the condition
    /// are not locked, so once a campaign is full its refusals do not queue on the row.
    /// </summary>
    public static async Task<bool> TryTakeAsync(IDocumentSession session, string campaignId, int max, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        var table = QualifiedName(session);

        // 1: taken; 0: full; -1: the campaign has no row yet (its cap was set before this table existed).
        var sql = $"""
            with taken as (update {table} set accepted = accepted + 1 where campaign_id = ? and accepted < ? returning 1)
            select case when exists (select 1 from taken) then 1
                        when exists (select 1 from {table} where campaign_id = ?) then 0
                        else -1 end
            """;
        var result = (await session.AdvancedSql.QueryAsync<int>(sql, ct, campaignId, max, campaignId)).Single();
        if (result >= 0)
        {
            return result == 1;
        }

        await session.AdvancedSql.QueryAsync<int>(
            $"insert into {table} (campaign_id, accepted) select ?, ({AcceptedSoFarSql(session)}) on conflict (campaign_id) do nothing returning 0",
            ct, campaignId, campaignId);
        return (await session.AdvancedSql.QueryAsync<int>(sql, ct, campaignId, max, campaignId)).Single() == 1;
    }

    /// <summary>The accepted count of the campaign as the cap sees it (0 without a row): a read, no lock.</summary>
    public static async Task<int> AcceptedAsync(IQuerySession session, string campaignId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        var rows = await session.AdvancedSql.QueryAsync<int>(
            $"select accepted from {QualifiedName(session)} where campaign_id = ?", ct, campaignId);
        return rows.Count == 0 ? 0 : rows[0];
    }

    /// <summary>
    /// Queues, in the session that saves the campaign, the counting of what the campaign accepted so far: when a cap
    /// is set on a campaign that had none, the count starts from the participants' histories (written in the same
    /// transactions as their events), not from a count that stopped while the campaign had no cap.
    /// </summary>
    public static void QueueRecount(IDocumentSession session, string campaignId)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.QueueSqlCommand(
            $"insert into {QualifiedName(session)} (campaign_id, accepted) select ?, ({AcceptedSoFarSql(session)}) " +
            "on conflict (campaign_id) do update set accepted = excluded.accepted",
            campaignId, campaignId);
    }

    private static string QualifiedName(IQuerySession session) => $"{session.DocumentStore.Options.DatabaseSchemaName}.{TableName}";

    private static string AcceptedSoFarSql(IQuerySession session) =>
        $"select coalesce(sum((data ->> 'accepted')::int), 0) from {session.DocumentStore.Options.Schema.For<ParticipantHistory>()} where data ->> 'campaignId' = ?";
}

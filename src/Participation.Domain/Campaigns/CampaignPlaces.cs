using Marten;
using Participation.Domain.Participations;
using Weasel.Postgresql.Tables;

namespace Participation.Domain.Campaigns;

/// <summary>
/// The campaign-wide cap (<c>limits.maxParticipations</c>): one row per capped campaign,
/// <c>campaign_places(campaign_id, accepted, capacity)</c>, where <c>capacity</c> is the cap and <c>accepted</c> the
/// participations it counted. The participation writer locks the rows of the capped campaigns of a batch
/// (<c>for update</c>, in campaign id order) in the transaction that appends the batch's events, decides the batch with
/// <c>capacity - accepted</c> places, and adds what it granted before the commit. The row lock orders the batches of one
/// campaign, so the count is exact across writers and API processes; a batch that fails gives its places back by
/// rolling back. Campaigns without a cap never touch the table.
/// </summary>
/// <remarks>
/// One row per campaign is held by a whole batch at a time, not by each participation: the acceptances of a capped
/// campaign that arrive while a batch commits are decided together in the next one (docs/design.md, "The campaign-wide
/// cap").
/// </remarks>
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
        table.AddColumn<int>("capacity").NotNull();
        options.Storage.ExtendedSchemaObjects.Add(table);
        return options;
    }

    /// <summary>The places of the campaign as the cap counts them, null without a row: a read, no lock.</summary>
    public static async Task<(int Accepted, int Capacity)?> ReadAsync(IQuerySession session, string campaignId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        await using var command = new Npgsql.NpgsqlCommand($"select accepted, capacity from {QualifiedName(session)} where campaign_id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = campaignId });
        await using var reader = await session.ExecuteReaderAsync(command, ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt32(0), reader.GetInt32(1)) : null;
    }

    /// <summary>
    /// Queues, in the session that saves the campaign, a fresh count of its places: when a cap is set on a campaign
    /// that had none (or the row is missing), counting starts from the participants' states, which are written in the
    /// same transactions as their events. The caller holds the campaign's row lock, so no batch decided with the
    /// campaign's earlier rules can commit after the count.
    /// </summary>
    public static void QueueRecount(IDocumentSession session, string campaignId, int max)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.QueueSqlCommand(RecountSql(session), campaignId, max, campaignId);
    }

    /// <summary>Queues a new cap for a campaign that had one: the count goes on, the capacity changes.</summary>
    public static void QueueResize(IDocumentSession session, string campaignId, int max)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.QueueSqlCommand($"update {QualifiedName(session)} set capacity = ? where campaign_id = ?", max, campaignId);
    }

    /// <summary>
    /// Counts the campaign's places from the participants' states, in its own transaction: the repair of a capped
    /// campaign whose row is missing (a cap set before this table existed).
    /// </summary>
    public static async Task RecountAsync(IDocumentStore store, string campaignId, int max, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var session = store.LightweightSession();
        session.QueueSqlCommand(RecountSql(session), campaignId, max, campaignId);
        await session.SaveChangesAsync(ct);
    }

    /// <summary>Locks the rows of a batch's capped campaigns for its transaction (parameter: the campaign ids, a text array).</summary>
    public static string LockSql(IQuerySession session) =>
        $"select campaign_id, accepted, capacity from {QualifiedName(session)} where campaign_id = any(?) order by campaign_id for update";

    /// <summary>Adds a batch's acceptances to a campaign's count (parameters: count, campaign id).</summary>
    public static string TakeSql(IQuerySession session) =>
        $"update {QualifiedName(session)} set accepted = accepted + ? where campaign_id = ?";

    private static string RecountSql(IQuerySession session) => $"""
        insert into {QualifiedName(session)} (campaign_id, accepted, capacity)
        select ?, coalesce(sum((data ->> 'accepted')::int), 0)::int, ?
        from {session.DocumentStore.Options.Schema.For<Participant>()} where data ->> 'campaignId' = ?
        on conflict (campaign_id) do update set accepted = excluded.accepted, capacity = excluded.capacity
        """;

    private static string QualifiedName(IQuerySession session) => $"{session.DocumentStore.Options.DatabaseSchemaName}.{TableName}";
}

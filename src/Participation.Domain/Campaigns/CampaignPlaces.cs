using Marten;
using Participation.Domain.Participations;
using Weasel.Postgresql.Tables;

namespace Participation.Domain.Campaigns;

/// <summary>
/// The campaign-wide cap (<c>limits.maxParticipations</c>), counted in <see cref="Shards"/> rows per capped campaign:
/// <c>campaign_place_shards(campaign_id, shard, accepted, capacity)</c>, whose capacities add up to the cap (or to
/// what was accepted already, when the cap was lowered below it). A participation takes a place with a conditional
/// increment of one shard, in the transaction that appends its <see cref="ParticipationAccepted"/>, after the
/// participant's own rules granted it. Each row's lock orders the acceptances that go through it, its condition keeps
/// it at or below its capacity, so the sum stays at or below the cap; a transaction that fails afterwards (a lost
/// stream race retried by Wolverine, a failed commit) gives its place back by rolling back. Campaigns without a cap
/// never touch the table.
/// </summary>
/// <remarks>
/// Why shards: a place is held locked from its increment to the commit (the append, the commit and its WAL flush).
/// With one row, every acceptance of a capped campaign waited for the previous one's commit: measured at a quarter of
/// an uncapped campaign's throughput (docs/benchmarks.md). With <see cref="Shards"/> rows, a request takes any shard
/// with room that nobody holds (<c>for update skip locked</c>), so up to that many acceptances commit side by side.
/// When every shard with room is held, the request tries again a moment later (never waiting on a lock: see
/// <see cref="TryTakeAsync"/>); <c>campaign_full</c> is answered only when every shard is at its capacity in committed
/// state, never because the places left were momentarily held.
/// </remarks>
public static class CampaignPlaces
{
    public const string TableName = "campaign_place_shards";

    /// <summary>Rows per capped campaign: how many acceptances of one campaign may hold a place at once.</summary>
    public const int Shards = 16;

    /// <summary>The table, created with the rest of the schema (<c>ApplyAllDatabaseChangesOnStartup</c>).</summary>
    public static StoreOptions AddCampaignPlaces(this StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var table = new Table($"{options.DatabaseSchemaName}.{TableName}");
        table.AddColumn<string>("campaign_id").AsPrimaryKey();
        table.AddColumn<int>("shard").AsPrimaryKey();
        table.AddColumn<int>("accepted").NotNull().DefaultValueByExpression("0");
        table.AddColumn<int>("capacity").NotNull().DefaultValueByExpression("0");
        options.Storage.ExtendedSchemaObjects.Add(table);
        return options;
    }

    /// <summary>
    /// Takes one place in the session's open transaction (the one holding the participant's stream lock): false when
    /// every shard of the campaign is at its capacity. Rows that do not match the condition are not locked, so once a
    /// campaign is full its refusals do not queue.
    /// </summary>
    public static async Task<bool> TryTakeAsync(IDocumentSession session, string campaignId, int max, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        var table = QualifiedName(session);

        // Any shard with room that no other transaction holds; the pick is a materialised CTE, run once (as a subquery
        // in FROM the planner may rescan it, locking one more shard each time). Nothing here ever waits for a lock:
        // a row that fails its re-check once locked stays locked until the commit, so transactions that waited for
        // shards while holding others would deadlock. When every shard with room is held, the answer is 2 and the
        // request tries again a moment later; 0 only when, in committed state, no shard has room.
        var sql = $"""
            with s as materialized (
                select shard from {table} where campaign_id = ? and accepted < capacity
                order by random() limit 1 for update skip locked),
            taken as (
                update {table} t set accepted = t.accepted + 1
                from s where t.campaign_id = ? and t.shard = s.shard
                returning 1)
            select case when exists (select 1 from taken) then 1
                        when exists (select 1 from {table} where campaign_id = ? and accepted < capacity) then 2
                        when exists (select 1 from {table} where campaign_id = ?) then 0
                        else -1 end
            """;
        var started = TimeProvider.System.GetTimestamp();
        for (var attempt = 0; ; attempt++)
        {
            var result = (await session.AdvancedSql.QueryAsync<int>(sql, ct, campaignId, campaignId, campaignId, campaignId)).Single();
            switch (result)
            {
                case 1:
                    return true;
                case 0:
                    return false;
                case -1:
                    // No rows: the cap was set before this table existed. Count from the facts, then take as above.
                    await session.AdvancedSql.QueryAsync<int>(
                        $"{InsertShardsSql(session)} on conflict (campaign_id, shard) do nothing returning 0",
                        ct, campaignId, max, campaignId);
                    break;
                default:
                    if (TimeProvider.System.GetElapsedTime(started) > MaxWaitForAPlace)
                    {
                        throw new TimeoutException("Every place left on the campaign stayed held by other participations.");
                    }

                    // Held places are released by a commit or a rollback within milliseconds.
                    await Task.Delay(TimeSpan.FromMilliseconds(1 + Random.Shared.Next(Math.Min(attempt + 1, 10))), ct);
                    break;
            }
        }
    }

    /// <summary>How long a request keeps trying for a place that other participations hold (then 503, retry safe).</summary>
    private static readonly TimeSpan MaxWaitForAPlace = TimeSpan.FromSeconds(10);

    /// <summary>The accepted count of the campaign as the cap sees it (0 without rows): a read, no lock.</summary>
    public static async Task<int> AcceptedAsync(IQuerySession session, string campaignId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        var rows = await session.AdvancedSql.QueryAsync<int>(
            $"select coalesce(sum(accepted), 0)::int from {QualifiedName(session)} where campaign_id = ?", ct, campaignId);
        return rows.Count == 0 ? 0 : rows[0];
    }

    /// <summary>
    /// Queues, in the session that saves the campaign, a fresh start of its places: when a cap is set on a campaign
    /// that had none, the count starts from the participants' histories (written in the same transactions as their
    /// events), not from a count that stopped while the campaign had no cap.
    /// </summary>
    public static void QueueRecount(IDocumentSession session, string campaignId, int max)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.QueueSqlCommand($"delete from {QualifiedName(session)} where campaign_id = ?", campaignId);
        session.QueueSqlCommand(InsertShardsSql(session), campaignId, max, campaignId);
    }

    /// <summary>
    /// Queues, in the session that saves the campaign, the new cap's capacities: each shard keeps what it accepted
    /// and gets a share of the places left (none when the cap is lowered below what was accepted), so the capacities
    /// add up to the new cap. The shards are locked first: acceptances in flight commit (or roll back) before the
    /// shares are computed, and later ones wait for this transaction.
    /// </summary>
    public static void QueueResize(IDocumentSession session, string campaignId, int max)
    {
        ArgumentNullException.ThrowIfNull(session);
        var table = QualifiedName(session);
        session.QueueSqlCommand($"select 1 from {table} where campaign_id = ? order by shard for update", campaignId);
        session.QueueSqlCommand(
            $"""
            update {table} t set capacity = s.accepted + s.left_over / s.k + case when s.rn <= s.left_over % s.k then 1 else 0 end
            from (select shard, accepted, count(*) over () as k, row_number() over (order by shard) as rn,
                         greatest(?::int - sum(accepted) over (), 0) as left_over
                  from {table} where campaign_id = ?) s
            where t.campaign_id = ? and t.shard = s.shard
            """,
            max, campaignId, campaignId);
    }

    /// <summary>
    /// The campaign's <see cref="Shards"/> rows (parameters: campaign id, cap, campaign id): shard 0 holds what the
    /// campaign accepted so far, and the places left are shared out so that the capacities add up to the cap.
    /// </summary>
    private static string InsertShardsSql(IQuerySession session) => $"""
        insert into {QualifiedName(session)} (campaign_id, shard, accepted, capacity)
        select c.id, g.shard, case when g.shard = 0 then c.so_far else 0 end,
               case when g.shard = 0 then c.so_far else 0 end
               + c.left_over / {Shards} + case when g.shard < c.left_over % {Shards} then 1 else 0 end
        from (select ?::text as id, greatest(?::int - so_far.n, 0) as left_over, so_far.n as so_far
              from ({AcceptedSoFarSql(session)}) so_far) c
        cross join generate_series(0, {Shards - 1}) as g(shard)
        """;

    private static string QualifiedName(IQuerySession session) => $"{session.DocumentStore.Options.DatabaseSchemaName}.{TableName}";

    private static string AcceptedSoFarSql(IQuerySession session) =>
        $"select coalesce(sum((data ->> 'accepted')::int), 0)::int as n from {session.DocumentStore.Options.Schema.For<ParticipantHistory>()} where data ->> 'campaignId' = ?";
}

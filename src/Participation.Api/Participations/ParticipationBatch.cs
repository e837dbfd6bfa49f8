using System.Data.Common;
using Marten;
using Marten.Linq.QueryHandlers;
using Npgsql;
using Participation.Api.Hosting;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Weasel.Postgresql;
using Weasel.Storage;

namespace Participation.Api.Participations;

/// <summary>
/// The request was verified with a campaign or token settings that changed since: verify and decide it again with
/// the current ones (never answered to a client).
/// </summary>
public sealed record ConfigurationChanged : ParticipationDecision
{
    public static readonly ConfigurationChanged Instance = new();
}

/// <summary>
/// One transaction deciding a batch of participations (<see cref="ParticipationWriter"/>), in three round trips:
/// <list type="number">
/// <item>read, in one batched query: the participants' states (the inline <see cref="Participant"/> snapshots, one
/// statement for the batch; a snapshot holds its stream's version), the versions of the campaigns and of their
/// accounts' token settings (<c>for key share</c> on the campaign rows, so that a change of a campaign waits for the
/// batches decided with its previous version), and the places of capped campaigns (<c>for update</c>);</item>
/// <item>decide every request in arrival order with the pure <see cref="ParticipationDecider"/>, each participant's
/// state evolving from one of its requests to the next, then append the events (streams in key order, each with the
/// version it was read at: optimistic concurrency), the snapshots and the places taken;</item>
/// <item>commit.</item>
/// </list>
/// A lost race on a stream (another process appended to it, or created it first) rolls the whole batch back, and it
/// is decided again on a fresh read. A request that fails on its own (data the database refuses) is isolated by
/// deciding each request of the batch alone; a database that cannot be reached, or a commit whose outcome is
/// unknown, fails every request of the batch (503: a retry with the same token answers 201 or the 409 that carries
/// the original participation).
/// </summary>
internal sealed partial class ParticipationBatch(IDocumentStore store, ParticipationMetrics metrics, ILogger logger)
{
    /// <summary>Attempts of a batch that keeps losing races before its requests are answered 503.</summary>
    private const int MaxAttempts = 20;

    public async Task RunAsync(IReadOnlyList<PendingParticipation> batch, CancellationToken stopping)
    {
        var unstorable = batch.Where(p => UnstorableText.In(p.Command)).ToList();
        if (unstorable.Count > 0)
        {
            foreach (var pending in unstorable)
            {
                pending.Fail(new UnstorableRequestException());
            }

            batch = [.. batch.Except(unstorable)];
            if (batch.Count == 0)
            {
                return;
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var started = TimeProvider.System.GetTimestamp();
                var decisions = await DecideAndCommitAsync(batch, stopping);
                metrics.RecordBatch(batch.Count, attempt, TimeProvider.System.GetElapsedTime(started));
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Complete(decisions[i]);
                }

                return;
            }
            catch (Exception e) when (ParticipationHosting.IsWriteRace(e) && attempt < MaxAttempts && !stopping.IsCancellationRequested)
            {
                // A race lost twice in a row may be no race at all: a stream whose snapshot is missing or behind.
                if (attempt < 2 || !await RepairSnapshotsAsync(batch, stopping))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(1 + Random.Shared.Next(0, 5 * attempt)), CancellationToken.None);
                }
            }
            catch (PlacesMissingException e) when (attempt < MaxAttempts)
            {
                await CampaignPlaces.RecountAsync(store, e.CampaignId, e.Max, stopping);
            }
            catch (Exception e) when (batch.Count > 1 && IsStatementFault(e))
            {
                // Something in one request the database refused: decide each request alone, so that only its own
                // request fails. Nothing was committed (the statement failed, the transaction rolled back).
                foreach (var pending in batch)
                {
                    await RunAsync([pending], stopping);
                }

                return;
            }
            catch (Exception e)
            {
                foreach (var pending in batch)
                {
                    pending.Fail(e);
                }

                return;
            }
        }
    }

    private async Task<ParticipationDecision[]> DecideAndCommitAsync(IReadOnlyList<PendingParticipation> batch, CancellationToken ct)
    {
        await using var session = store.LightweightSession();

        // The inline projection applies the batch's events to the snapshots read below instead of reading them again.
        session.UseIdentityMapFor<Participant>();
        await session.BeginTransactionAsync(ct);

        // Round trip 1: the participants' snapshots (one statement for the whole batch), the configuration versions
        // and the places.
        var keys = batch.Select(p => p.Command.ParticipantId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var campaigns = new SortedSet<string>(StringComparer.Ordinal);
        var capped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var command in batch.Select(p => p.Command))
        {
            campaigns.Add(command.CampaignId);
            if (command.Rules.MaxParticipations is { } max)
            {
                capped[command.CampaignId] = max;
            }
        }

        var query = session.CreateBatchQuery();
        var snapshotsRead = query.LoadMany<Participant>().ById(keys);
        var configurationRead = query.AddItem(new ConfigurationQuery(store.Options.DatabaseSchemaName, [.. campaigns], [.. capped.Keys]));
        await query.Execute(ct);
        var configuration = await configurationRead;
        var snapshots = (await snapshotsRead).ToDictionary(p => p.Id, StringComparer.Ordinal);
        var states = keys.ToDictionary(key => key, key => new StreamState(snapshots.GetValueOrDefault(key)), StringComparer.Ordinal);

        var places = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (campaignId, max) in capped)
        {
            if (!configuration.Places.TryGetValue(campaignId, out var row))
            {
                throw new PlacesMissingException(campaignId, max);
            }

            places[campaignId] = Math.Max(0, row.Capacity - row.Accepted);
        }

        // Decide in arrival order; each participant's state evolves from one of its requests to the next.
        var decisions = new ParticipationDecision[batch.Count];
        var taken = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Count; i++)
        {
            var command = batch[i].Command;
            if (command.VerifiedWith is { } verifiedWith
                && (!configuration.Versions.TryGetValue(command.CampaignId, out var current) || current != verifiedWith))
            {
                decisions[i] = ConfigurationChanged.Instance;
                continue;
            }

            var isCapped = places.TryGetValue(command.CampaignId, out var left);
            var state = states[command.ParticipantId];
            var outcome = ParticipationDecider.Decide(command, state.Current, campaignFull: isCapped && left == 0);
            if (isCapped && outcome.Decision is ParticipationGranted)
            {
                places[command.CampaignId] = left - 1;
                taken[command.CampaignId] = taken.GetValueOrDefault(command.CampaignId) + 1;
            }

            foreach (var @event in outcome.Events)
            {
                state.Add(@event);
            }

            decisions[i] = outcome.Decision;
        }

        // Round trips 2 and 3: the events (streams in key order, each with the version its snapshot was read at),
        // the snapshots and the places taken in one batch, then the commit.
        foreach (var key in keys)
        {
            var state = states[key];
            if (state.Added.Count == 0)
            {
                continue;
            }

            if (state.Read is null)
            {
                session.Events.StartStream<Participant>(key, state.Added);
            }
            else
            {
                session.Events.Append(key, state.Read.Version + state.Added.Count, state.Added);
            }
        }

        foreach (var (campaignId, count) in taken)
        {
            session.QueueSqlCommand(CampaignPlaces.TakeSql(session), count, campaignId);
        }

        try
        {
            await session.SaveChangesAsync(ct);
        }
        catch (Exception e) when (IsStatementFault(e))
        {
            // A parameter PostgreSQL refuses at bind time (jsonb it cannot store) leaves Npgsql 10.0.3's bookkeeping of
            // auto-prepared statements wrong on this connection: its next batches fail with "unexpected backend
            // message" (reproduced with Npgsql alone; docs/design.md). The connection is closed instead of pooled.
            // Text jsonb cannot hold never gets here (UnstorableText): this is for whatever else the database refuses.
            NpgsqlConnection.ClearPool(session.Connection);
            throw;
        }

        return decisions;
    }

    /// <summary>
    /// The participants of the batch whose stream has events but no snapshot at its version (a database written
    /// before the snapshot existed, a snapshot deleted by hand): their appends can only lose the version check, so
    /// their snapshots are rebuilt from the events before the batch is decided again.
    /// </summary>
    private async Task<bool> RepairSnapshotsAsync(IReadOnlyList<PendingParticipation> batch, CancellationToken ct)
    {
        var keys = batch.Select(p => p.Command.ParticipantId).Distinct(StringComparer.Ordinal).ToArray();
        string[] behind;
        await using (var session = store.QuerySession())
        {
            var schema = store.Options.DatabaseSchemaName;
            await using var command = new NpgsqlCommand(
                $"select s.id from {schema}.mt_streams s left join {schema}.mt_doc_participant p on p.id = s.id " +
                "where s.id = any($1) and (p.id is null or (p.data ->> 'version')::bigint <> s.version)");
            command.Parameters.Add(new NpgsqlParameter { Value = keys });
            await using var reader = await session.ExecuteReaderAsync(command, ct);
            var found = new List<string>();
            while (await reader.ReadAsync(ct))
            {
                found.Add(reader.GetString(0));
            }

            behind = [.. found];
        }

        foreach (var key in behind)
        {
            LogSnapshotRepaired(logger, ParticipationStreamKey.Parse(key).CampaignId);
            await store.Advanced.RebuildSingleStreamAsync<Participant>(key, ct);
        }

        return behind.Length > 0;
    }

    /// <summary>
    /// A failure of one statement caused by the data it carried, after which nothing was committed: data exceptions
    /// (class 22, e.g. a string PostgreSQL cannot store), integrity violations that are not a lost race (class 23),
    /// program limits (class 54), and faults of this process before anything was sent (serialization).
    /// </summary>
    private static bool IsStatementFault(Exception exception)
    {
        if (ParticipationHosting.IsWriteRace(exception))
        {
            return false;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException postgres)
            {
                return postgres.SqlState.StartsWith("22", StringComparison.Ordinal)
                    || postgres.SqlState.StartsWith("23", StringComparison.Ordinal)
                    || postgres.SqlState.StartsWith("54", StringComparison.Ordinal);
            }

            if (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                return false;
            }
        }

        return exception is System.Text.Json.JsonException or NotSupportedException or ArgumentException;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A participant snapshot of campaign {CampaignId} was behind its stream: rebuilt from the events")]
    private static partial void LogSnapshotRepaired(ILogger logger, string campaignId);

    /// <summary>A participant in the batch: its snapshot as read, its state as it evolves, the events to append.</summary>
    private sealed class StreamState(Participant? read)
    {
        public Participant? Read { get; } = read;

        public Participant? Current { get; private set; } = read;

        public List<object> Added { get; } = [];

        public void Add(object @event)
        {
            Current = Participant.Next(Current, @event);
            Added.Add(@event);
        }
    }
}

/// <summary>A capped campaign has no row of places yet (its cap was set before the table existed).</summary>
internal sealed class PlacesMissingException(string campaignId, int max) : Exception("A capped campaign has no places row.")
{
    public string CampaignId { get; } = campaignId;
    public int Max { get; } = max;
}

/// <summary>What the batch reads of its campaigns, in the same round trip as the participants' states.</summary>
internal sealed record BatchConfiguration(
    IReadOnlyDictionary<string, ConfigurationVersion> Versions,
    IReadOnlyDictionary<string, (int Accepted, int Capacity)> Places);

/// <summary>
/// The versions of the batch's campaigns and of their accounts' token settings, the campaign rows held with
/// <c>for key share</c> until the commit (a change of the campaign, an upsert, waits for it); then the rows of the
/// capped campaigns' places, locked <c>for update</c> in campaign id order.
/// </summary>
internal sealed class ConfigurationQuery(string schema, string[] campaignIds, string[] cappedIds) : IQueryHandler<BatchConfiguration>
{
    public void ConfigureCommand(ICommandBuilder builder, IStorageSession session)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Append(
            $"select c.id, c.mt_version, coalesce((a.data ->> 'settingsVersion')::bigint, -1) from {schema}.mt_doc_campaign c left join {schema}.mt_doc_account a on a.id = c.data ->> 'accountId' where c.id = any(");
        builder.AppendParameter(campaignIds);
        builder.Append(") for key share of c");
        if (cappedIds.Length > 0)
        {
            builder.StartNewCommand();
            builder.Append($"select campaign_id, accepted, capacity from {schema}.{CampaignPlaces.TableName} where campaign_id = any(");
            builder.AppendParameter(cappedIds);
            builder.Append(") order by campaign_id for update");
        }
    }

    public async Task<BatchConfiguration> HandleAsync(DbDataReader reader, IStorageSession session, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var versions = new Dictionary<string, ConfigurationVersion>(StringComparer.Ordinal);
        while (await reader.ReadAsync(token))
        {
            versions[reader.GetString(0)] = new ConfigurationVersion(reader.GetGuid(1), reader.GetInt64(2));
        }

        var places = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        if (cappedIds.Length > 0)
        {
            await reader.NextResultAsync(token);
            while (await reader.ReadAsync(token))
            {
                places[reader.GetString(0)] = (reader.GetInt32(1), reader.GetInt32(2));
            }
        }

        return new BatchConfiguration(versions, places);
    }

    public Task<int> StreamJson(Stream stream, DbDataReader reader, CancellationToken token) => throw new NotSupportedException();
}

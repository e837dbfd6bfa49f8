using System.Data.Common;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;
using Participation.Domain.Participations;
using Weasel.Core;
using Weasel.Postgresql.Tables;
using Weasel.Storage;
using ICommandBuilder = Weasel.Postgresql.ICommandBuilder;

namespace Participation.Domain.Reports;

/// <summary>
/// One flat row per participation decision (accepted or refused), for the paged list and the CSV export: keyed by the
/// event's global sequence, so a replay or a rebuild inserts nothing twice, and indexed by (campaign, sequence) for
/// keyset paging. Holds no personal data beyond the sub (the stream key) and the token id, which erasure removes.
/// </summary>
/// <remarks>
/// The daemon hands over a page of events at a time (hundreds under load): its rows go to PostgreSQL as one statement
/// with one typed array per column, instead of a statement and seven untyped parameters per event
/// (docs/benchmarks.md: this projection shares the two cores with the hot path).
/// </remarks>
public sealed class ParticipationRowsProjection : EventProjection, IJasperFxProjection<IDocumentOperations>
{
    public const string TableName = "participation_rows";

    private readonly string _table;

    public ParticipationRowsProjection(string schemaName)
    {
        _table = $"{schemaName}.{TableName}";
        IncludeType<ParticipationAccepted>();
        IncludeType<ParticipationRejected>();
        IncludeType<ParticipantDataErased>();
        Options.DeleteDataInTableOnTeardown(_table);
    }

    /// <summary>
    /// The rows' table. Registered with the store's own schema objects (<see cref="MartenConfiguration"/>): a projection
    /// inside a composite does not have its <c>SchemaObjects</c> created.
    /// </summary>
    public static Table CreateTable(string schemaName)
    {
        var table = new Table($"{schemaName}.{TableName}");
        table.AddColumn<long>("seq").AsPrimaryKey();
        table.AddColumn<string>("campaign_id").NotNull();
        table.AddColumn<string>("sub").NotNull();
        table.AddColumn<string>("outcome").NotNull();
        table.AddColumn<int>("number");
        table.AddColumn<Guid>("participation_id");
        table.AddColumn<DateTimeOffset>("at").NotNull();
        table.AddColumn<string>("jti");
        table.Indexes.Add(new IndexDefinition($"ix_{TableName}_campaign_seq") { Columns = ["campaign_id", "seq"] });
        return table;
    }

    /// <summary>A page of events (how the daemon calls it): the page's rows in one statement.</summary>
    Task IJasperFxProjection<IDocumentOperations>.ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        WriteRows(operations, events);
        return Task.CompletedTask;
    }

    /// <summary>One event at a time (how an inline projection or a caller of the base class would call it).</summary>
    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        WriteRows(operations, [e]);
        return ValueTask.CompletedTask;
    }

    private void WriteRows(IDocumentOperations operations, IReadOnlyList<IEvent> events)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(events);
        RowsInsert? rows = null;
        foreach (var @event in events)
        {
            switch (@event.Data)
            {
                case ParticipationAccepted e:
                    (rows ??= new RowsInsert(_table, events.Count)).Add(@event.Sequence, e.CampaignId, e.Sub, "accepted", e.Number, e.ParticipationId, e.At, e.Jti);
                    break;
                case ParticipationRejected e:
                    (rows ??= new RowsInsert(_table, events.Count)).Add(@event.Sequence, e.CampaignId, e.Sub, e.Code, null, null, e.At, e.Jti);
                    break;
                case ParticipantDataErased e:
                    // Erasure: the token ids of the participant's earlier rows go, so the rows before it are written
                    // first. The daemon projects in sequence order, so every earlier row is then in the table; the
                    // masked events leave the jti out of a rebuild too.
                    if (rows is not null)
                    {
                        operations.QueueOperation(rows);
                        rows = null;
                    }

                    operations.QueueSqlCommand(
                        $"update {_table} set jti = null where campaign_id = ? and sub = ? and seq < ? and jti is not null",
                        e.CampaignId, e.Sub, @event.Sequence);
                    break;
            }
        }

        if (rows is not null)
        {
            operations.QueueOperation(rows);
        }
    }

    /// <summary>The rows of consecutive decision events, inserted by one statement (a rebuild or a replay skips the rows already there).</summary>
    private sealed class RowsInsert(string table, int capacity) : Marten.Internal.Operations.IStorageOperation, NoDataReturnedCall
    {
        private readonly List<long> _seq = new(capacity);
        private readonly List<string> _campaignId = new(capacity);
        private readonly List<string> _sub = new(capacity);
        private readonly List<string> _outcome = new(capacity);
        private readonly List<int?> _number = new(capacity);
        private readonly List<Guid?> _participationId = new(capacity);
        private readonly List<DateTimeOffset> _at = new(capacity);
        private readonly List<string?> _jti = new(capacity);

        public Type DocumentType => typeof(Marten.Storage.StorageFeatures);

        public void Add(long seq, string campaignId, string sub, string outcome, int? number, Guid? participationId, DateTimeOffset at, string? jti)
        {
            _seq.Add(seq);
            _campaignId.Add(campaignId);
            _sub.Add(sub);
            _outcome.Add(outcome);
            _number.Add(number);
            _participationId.Add(participationId);
            _at.Add(at.ToUniversalTime());
            _jti.Add(jti);
        }

        public void ConfigureCommand(ICommandBuilder builder, IStorageSession session)
        {
            ArgumentNullException.ThrowIfNull(builder);
            builder.Append($"insert into {table} (seq, campaign_id, sub, outcome, number, participation_id, at, jti) select * from unnest(");
            Column(builder, _seq, "bigint", ", ");
            Column(builder, _campaignId, "text", ", ");
            Column(builder, _sub, "text", ", ");
            Column(builder, _outcome, "text", ", ");
            Column(builder, _number, "integer", ", ");
            Column(builder, _participationId, "uuid", ", ");
            Column(builder, _at, "timestamptz", ", ");
            Column(builder, _jti, "text", ") on conflict (seq) do nothing");
        }

        /// <summary>One column's values as one typed array parameter, cast to its PostgreSQL array type.</summary>
        private static void Column<T>(ICommandBuilder builder, List<T> values, string type, string then)
        {
            builder.AppendParameter(values.ToArray());
            builder.Append($"::{type}[]{then}");
        }

        public Task PostprocessAsync(DbDataReader reader, IList<Exception> exceptions, CancellationToken token) => Task.CompletedTask;

        public OperationRole Role() => OperationRole.Insert;
    }
}

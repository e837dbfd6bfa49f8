using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Participation.Domain.Participations;
using Weasel.Postgresql.Tables;

namespace Participation.Domain.Reports;

/// <summary>
/// One flat row per participation decision (accepted or refused), for the paged list and the CSV export: keyed by the
/// event's global sequence, so a replay or a rebuild inserts nothing twice, and indexed by (campaign, sequence) for
/// keyset paging. Holds no personal data beyond the sub (the stream key) and the token id, which erasure removes.
/// </summary>
public sealed partial class ParticipationRowsProjection : EventProjection
{
    public const string TableName = "participation_rows";

    private readonly string _table;

    public ParticipationRowsProjection(string schemaName)
    {
        _table = $"{schemaName}.{TableName}";
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

    public string QualifiedTableName => _table;

    public void Project(IEvent<ParticipationAccepted> @event, IDocumentOperations operations)
    {
        ArgumentNullException.ThrowIfNull(@event);
        ArgumentNullException.ThrowIfNull(operations);
        var e = @event.Data;
        operations.QueueSqlCommand(
            $"insert into {_table} (seq, campaign_id, sub, outcome, number, participation_id, at, jti) values (?, ?, ?, 'accepted', ?, ?, ?, ?) on conflict (seq) do nothing",
            @event.Sequence, e.CampaignId, e.Sub, e.Number, e.ParticipationId, e.At, (object?)e.Jti ?? DBNull.Value);
    }

    public void Project(IEvent<ParticipationRejected> @event, IDocumentOperations operations)
    {
        ArgumentNullException.ThrowIfNull(@event);
        ArgumentNullException.ThrowIfNull(operations);
        var e = @event.Data;
        operations.QueueSqlCommand(
            $"insert into {_table} (seq, campaign_id, sub, outcome, at, jti) values (?, ?, ?, ?, ?, ?) on conflict (seq) do nothing",
            @event.Sequence, e.CampaignId, e.Sub, e.Code, e.At, (object?)e.Jti ?? DBNull.Value);
    }

    /// <summary>
    /// Erasure: the token ids of the participant's earlier rows go. The daemon projects in sequence order, so every
    /// row of an event before the erasure is already here; the masked events leave the jti out of a rebuild too.
    /// </summary>
    public void Project(IEvent<ParticipantDataErased> @event, IDocumentOperations operations)
    {
        ArgumentNullException.ThrowIfNull(@event);
        ArgumentNullException.ThrowIfNull(operations);
        var e = @event.Data;
        operations.QueueSqlCommand(
            $"update {_table} set jti = null where campaign_id = ? and sub = ? and seq < ? and jti is not null",
            e.CampaignId, e.Sub, @event.Sequence);
    }
}

using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;
using Participation.Api.Tests.Infrastructure;
using Participation.Domain.Participations;
using Participation.Domain.Reports;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Reports;

/// <summary>
/// The rows projection as the daemon calls it, a page of events at a time, against the real table: the page's rows in
/// one statement, an erasure in the middle of the page applied to the rows before it only, a replayed page adding
/// nothing. (The end-to-end figures, rows = decisions after a stop and a rebuild, are in RebuildAndRestartTests.)
/// </summary>
public sealed class ParticipationRowsProjectionTests(AppFixture app)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly DateTimeOffset At = new(2026, 12, 7, 18, 0, 0, TimeSpan.FromHours(1));

    private static IEvent Decision(long sequence, object data) => new Event<object>(data) { Sequence = sequence };

    private static ParticipationAccepted Accepted(string campaign, string sub, int number, string? jti) =>
        new(Guid.NewGuid(), campaign, sub, number, 5, null, $"replay-{Guid.NewGuid():N}", jti, null, false, null, null, At);

    private async Task ProjectPageAsync(IReadOnlyList<IEvent> page)
    {
        var projection = new ParticipationRowsProjection(app.Store.Options.DatabaseSchemaName);
        await using var session = app.Store.LightweightSession();
        await ((IJasperFxProjection<IDocumentOperations>)projection).ApplyAsync(session, page, Ct);
        await session.SaveChangesAsync(Ct);
    }

    private async Task<List<(long Seq, string Sub, string Outcome, int? Number, DateTimeOffset At, string? Jti)>> RowsAsync(string campaign)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            "select seq, sub, outcome, number, at, jti from participation.participation_rows where campaign_id = $1 order by seq", connection);
        command.Parameters.AddWithValue(campaign);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<(long, string, string, int?, DateTimeOffset, string?)>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2),
                await reader.IsDBNullAsync(3, Ct) ? null : reader.GetInt32(3),
                await reader.GetFieldValueAsync<DateTimeOffset>(4, Ct),
                await reader.IsDBNullAsync(5, Ct) ? null : reader.GetString(5)));
        }

        return rows;
    }

    [Fact]
    public async Task APageIsWrittenWholeWithAnErasureInItAppliedToTheRowsBeforeIt()
    {
        var campaign = $"rows-{Guid.NewGuid():N}"[..24];
        // Sequences far above what the suite's own traffic reaches, so that they cannot collide with real events.
        var first = 9_000_000_000_000L + Random.Shared.NextInt64(0, 1_000_000_000);
        IEvent[] page =
        [
            Decision(first, Accepted(campaign, "hamlet", 1, "jti-h1")),
            Decision(first + 1, new ParticipationRejected(campaign, "hamlet", RejectionCodes.ParticipationLimitReached, "replay-h2", "jti-h2", At)),
            Decision(first + 2, Accepted(campaign, "horatio", 1, "jti-o1")),
            Decision(first + 3, new ParticipantDataErased(campaign, "hamlet", 2, "test", At)),
            Decision(first + 4, Accepted(campaign, "hamlet", 2, "jti-h3")),
        ];

        await ProjectPageAsync(page);
        var rows = await RowsAsync(campaign);

        rows.Select(r => r.Seq).ShouldBe([first, first + 1, first + 2, first + 4]);
        rows.Select(r => r.Outcome).ShouldBe(["accepted", RejectionCodes.ParticipationLimitReached, "accepted", "accepted"]);
        rows.Select(r => r.Number).ShouldBe([1, null, 1, 2]);
        rows.ShouldAllBe(r => r.At == At);
        // The erasure took hamlet's token ids written before it in the same page, not horatio's, not hamlet's later one.
        rows.Select(r => r.Jti).ShouldBe([null, null, "jti-o1", "jti-h3"]);

        // The daemon replays a page after a crash between its write and its progression: nothing is written twice.
        await ProjectPageAsync(page[..3]);
        (await RowsAsync(campaign)).Count.ShouldBe(4);
    }
}

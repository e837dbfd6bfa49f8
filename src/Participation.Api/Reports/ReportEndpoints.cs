using System.Globalization;
using System.Text;
using Marten;
using Npgsql;
using Participation.Api.Campaigns;
using Participation.Api.Hosting;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Participation.Domain.Reports;

namespace Participation.Api.Reports;

public sealed record ReportDay(string Day, long Accepted, long Rejected, long NewParticipants);

/// <summary>How far the report has reached: the async projection's position against the event store's last event.</summary>
/// <param name="Pending">
/// Events of this campaign already in the store but not yet in the report (at most <see cref="ReportEndpoints.MaxPendingCounted"/>):
/// 0 means the report is complete for this campaign, whatever other campaigns' events are still being counted.
/// </param>
public sealed record ReportAsOf(long Sequence, long StoreSequence, DateTimeOffset? LastEventAt, int Pending);

public sealed record CampaignReportResponse(
    string CampaignId,
    string TimeZone,
    long Accepted,
    IReadOnlyDictionary<string, long> Rejected,
    long UniqueParticipants,
    long ParticipantsAtLimit,
    IReadOnlyList<ReportDay> ByDay,
    ReportAsOf AsOf);

public sealed record ParticipationRow(long Sequence, string Sub, string Outcome, int? Number, Guid? ParticipationId, DateTimeOffset At, string? Jti);

public sealed record ParticipationPage(IReadOnlyList<ParticipationRow> Items, string? Next);

public static class ReportEndpoints
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    public static RouteGroupBuilder MapReportEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/campaigns").WithTags("Reports").AddEndpointFilter<RequireApiKey>();
        group.MapGet("/{campaignId}/report", GetReport).WithName("GetCampaignReport");
        group.MapGet("/{campaignId}/participations", ListParticipations).WithName("ListParticipations");
        return group;
    }

    private static async Task<IResult> GetReport(string campaignId, HttpContext http, IQuerySession session, IDocumentStore store, CancellationToken ct)
    {
        var campaign = await CampaignEndpoints.LoadAccessibleAsync(session, campaignId, Caller.Of(http), ct);
        if (campaign is null)
        {
            return CampaignEndpoints.CampaignNotFound();
        }

        var report = await session.LoadAsync<CampaignReport>(campaign.Id, ct) ?? new CampaignReport { Id = campaign.Id };
        var zone = ZoneOf(campaign);
        var byDay = report.Buckets
            .GroupBy(b => LocalDay(b.Key * CampaignReport.BucketSeconds, zone))
            .OrderBy(g => g.Key)
            .Select(g => new ReportDay(
                g.Key.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                g.Sum(b => b.Value.Accepted),
                g.Sum(b => b.Value.Rejected),
                g.Sum(b => b.Value.NewParticipants)))
            .ToList();

        var progress = await store.Advanced.AllProjectionProgress(token: ct);
        var reportShard = progress.FirstOrDefault(p => p.ShardName.StartsWith(nameof(CampaignReport), StringComparison.Ordinal));
        var statistics = await store.Advanced.FetchEventStoreStatistics(token: ct);

        return TypedResults.Ok(new CampaignReportResponse(
            campaign.Id,
            zone.Id,
            report.Accepted,
            new SortedDictionary<string, long>(report.Rejected, StringComparer.Ordinal),
            report.UniqueParticipants,
            await CountAtLimitAsync(session, campaign, ct),
            byDay,
            new ReportAsOf(reportShard?.Sequence ?? 0, statistics.EventSequenceNumber, report.LastEventAt,
                await CountPendingAsync(session, campaign.Id, reportShard?.Sequence ?? 0, ct))));
    }

    /// <summary>The most pending events <see cref="ReportAsOf.Pending"/> counts (a rebuild in progress stays cheap to ask).</summary>
    public const int MaxPendingCounted = 10_000;

    /// <summary>This campaign's events past the report projection's sequence: its participant streams share a key prefix.</summary>
    private static async Task<int> CountPendingAsync(IQuerySession session, string campaignId, long sequence, CancellationToken ct)
    {
        var events = $"{session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_events";
        var rows = await session.AdvancedSql.QueryAsync<int>(
            $"select count(*)::int from (select 1 from {events} where seq_id > ? and starts_with(stream_id, ?) limit {MaxPendingCounted}) pending",
            ct, sequence, ParticipationStreamKey.CampaignPrefix(campaignId));
        return rows.Count == 0 ? 0 : rows[0];
    }

    /// <summary>
    /// Participants whose accepted count has reached their limit under the campaign's current rules, counted from
    /// the participant histories (inline, so always current) with the token limit each last presented.
    /// </summary>
    private static async Task<long> CountAtLimitAsync(IQuerySession session, Campaign campaign, CancellationToken ct)
    {
        var table = session.DocumentStore.Options.Schema.For<Participant>();
        const string nb = "(data ->> 'lastTokenLimit')::int";
        var limit = campaign.TokenLimit switch
        {
            TokenLimitPolicy.Allow => $"coalesce({nb}, ?)",
            TokenLimitPolicy.Capped => $"case when {nb} is null then ? else least({nb}, {campaign.MaxTokenLimit ?? campaign.Limits.PerParticipant}) end",
            _ => "?",
        };
        var counts = await session.QueryAsync<long>(
            $"select count(*) from {table} where data ->> 'campaignId' = ? and (data ->> 'accepted')::int >= {limit}",
            ct,
            campaign.Id,
            campaign.Limits.PerParticipant);
        return counts.Single();
    }

    private static async Task ListParticipations(string campaignId, HttpContext http, IQuerySession session, IDocumentStore store, CancellationToken ct)
    {
        var campaign = await CampaignEndpoints.LoadAccessibleAsync(session, campaignId, Caller.Of(http), ct);
        if (campaign is null)
        {
            await CampaignEndpoints.CampaignNotFound().ExecuteAsync(http);
            return;
        }

        var (filter, problem) = Filter.Parse(http.Request.Query, ZoneOf(campaign));
        if (problem is not null)
        {
            await problem.ExecuteAsync(http);
            return;
        }

        var csv = http.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase));
        var table = $"{store.Options.DatabaseSchemaName}.{ParticipationRowsProjection.TableName}";
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = filter!.Command(connection, table, campaign.Id, csv ? filter.Limit : filter.Limit ?? DefaultPageSize);
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);

        if (csv)
        {
            await WriteCsvAsync(http, campaign.Id, reader, ct);
            return;
        }

        var items = new List<ParticipationRow>();
        while (await reader.ReadAsync(ct))
        {
            items.Add(Read(reader));
        }

        var pageSize = filter.Limit ?? DefaultPageSize;
        var next = items.Count == pageSize ? items[^1].Sequence.ToString(CultureInfo.InvariantCulture) : null;
        await TypedResults.Ok(new ParticipationPage(items, next)).ExecuteAsync(http);
    }

    /// <summary>
    /// Streams every row as it is read: memory stays flat whatever the campaign's size. Fields are escaped by
    /// <see cref="CsvText"/> (quoting, and spreadsheet formulas such as a sub <c>=HYPERLINK(...)</c> kept as text).
    /// </summary>
    private static async Task WriteCsvAsync(HttpContext http, string campaignId, NpgsqlDataReader reader, CancellationToken ct)
    {
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"participations-{campaignId}.csv\"";
        await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false), bufferSize: 64 * 1024);
        await writer.WriteAsync("sequence,sub,outcome,number,participationId,at,jti\r\n");
        var line = new StringBuilder(256);
        var rows = 0;
        while (await reader.ReadAsync(ct))
        {
            var row = Read(reader);
            line.Clear();
            line.Append(row.Sequence).Append(',');
            CsvText.AppendField(line, row.Sub);
            line.Append(',');
            CsvText.AppendField(line, row.Outcome);
            line.Append(',').Append(row.Number).Append(',').Append(row.ParticipationId).Append(',');
            line.Append(row.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)).Append(',');
            CsvText.AppendField(line, row.Jti);
            line.Append("\r\n");
            await writer.WriteAsync(line, ct);
            if (++rows % 5000 == 0)
            {
                await writer.FlushAsync(ct);
            }
        }
    }

    private static ParticipationRow Read(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.IsDBNull(3) ? null : reader.GetInt32(3),
        reader.IsDBNull(4) ? null : reader.GetGuid(4),
        reader.GetFieldValue<DateTimeOffset>(5),
        reader.IsDBNull(6) ? null : reader.GetString(6));

    internal static TimeZoneInfo ZoneOf(Campaign campaign) =>
        campaign.TimeZone is { } id && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;

    private static DateOnly LocalDay(long unixSeconds, TimeZoneInfo zone) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(unixSeconds), zone).DateTime);

    /// <summary>Query filters: <c>after</c> (sequence), <c>limit</c>, <c>day</c> (local yyyy-MM-dd), <c>outcome</c>.</summary>
    private sealed record Filter(long After, int? Limit, DateTimeOffset? From, DateTimeOffset? To, string? Outcome)
    {
        public static (Filter? Filter, Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult? Problem) Parse(IQueryCollection query, TimeZoneInfo zone)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            long after = 0;
            if (query.TryGetValue("after", out var afterText) && (!long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out after)))
            {
                errors["after"] = ["The sequence of the last item seen (the previous page's next)."];
            }

            int? limit = null;
            if (query.TryGetValue("limit", out var limitText))
            {
                if (int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed is >= 1 and <= MaxPageSize)
                {
                    limit = parsed;
                }
                else
                {
                    errors["limit"] = [$"Between 1 and {MaxPageSize}."];
                }
            }

            DateTimeOffset? from = null, to = null;
            if (query.TryGetValue("day", out var dayText))
            {
                if (DateOnly.TryParseExact(dayText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                {
                    from = StartOfDay(day, zone);
                    to = StartOfDay(day.AddDays(1), zone);
                }
                else
                {
                    errors["day"] = ["A calendar day yyyy-MM-dd, in the campaign's time zone."];
                }
            }

            string? outcome = null;
            if (query.TryGetValue("outcome", out var outcomeText))
            {
                outcome = outcomeText.ToString();
                if (outcome.Length is 0 or > 64 || !outcome.All(c => char.IsAsciiLetterLower(c) || c == '_'))
                {
                    errors["outcome"] = ["accepted, rejected, or a refusal code such as participation_limit_reached."];
                }
            }

            return errors.Count > 0 ? (null, Problems.Validation(errors)) : (new Filter(after, limit, from, to, outcome), null);
        }

        public NpgsqlCommand Command(NpgsqlConnection connection, string table, string campaignId, int? limit)
        {
            var sql = new StringBuilder($"select seq, sub, outcome, number, participation_id, at, jti from {table} where campaign_id = $1 and seq > $2");
            var command = new NpgsqlCommand { Connection = connection };
            command.Parameters.Add(new NpgsqlParameter { Value = campaignId });
            command.Parameters.Add(new NpgsqlParameter { Value = After });
            if (From is { } from && To is { } to)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = from });
                command.Parameters.Add(new NpgsqlParameter { Value = to });
                sql.Append(CultureInfo.InvariantCulture, $" and at >= ${command.Parameters.Count - 1} and at < ${command.Parameters.Count}");
            }

            switch (Outcome)
            {
                case null:
                    break;
                case "rejected":
                    sql.Append(" and outcome <> 'accepted'");
                    break;
                default:
                    command.Parameters.Add(new NpgsqlParameter { Value = Outcome });
                    sql.Append(CultureInfo.InvariantCulture, $" and outcome = ${command.Parameters.Count}");
                    break;
            }

            sql.Append(" order by seq");
            if (limit is { } l)
            {
                sql.Append(CultureInfo.InvariantCulture, $" limit {l}");
            }

            command.CommandText = sql.ToString();
            return command;
        }

        private static DateTimeOffset StartOfDay(DateOnly day, TimeZoneInfo zone)
        {
            var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
            while (zone.IsInvalidTime(local))
            {
                local = local.AddMinutes(15);
            }

            return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, zone), TimeSpan.Zero);
        }
    }
}

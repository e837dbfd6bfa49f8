using System.Globalization;
using System.Text.RegularExpressions;
using Marten;
using Participation.Api.Accounts;
using Participation.Api.Audit;
using Participation.Api.Hosting;
using Participation.Domain.Campaigns;

namespace Participation.Api.Campaigns;

public sealed record CampaignLimitsRequest
{
    public int? PerParticipant { get; init; }
    public int? PerParticipantPerDay { get; init; }
    public int? CooldownSeconds { get; init; }
    public int? MaxParticipations { get; init; }
}

/// <summary>Body of <c>PUT /v1/campaigns/{campaignId}</c>.</summary>
public sealed record CampaignRequest
{
    public string? AccountId { get; init; }
    public string? Name { get; init; }

    /// <summary>RFC 3339 date-time with an explicit offset (<c>2026-12-01T00:00:00+01:00</c> or <c>...Z</c>).</summary>
    public string? StartsAt { get; init; }

    /// <summary>RFC 3339 date-time with an explicit offset; later than <see cref="StartsAt"/>.</summary>
    public string? EndsAt { get; init; }
    public string? TimeZone { get; init; }
    public CampaignLimitsRequest? Limits { get; init; }
    public TokenLimitPolicy? TokenLimit { get; init; }
    public int? MaxTokenLimit { get; init; }
}

public sealed record CampaignResponse(
    string Id,
    string AccountId,
    string Name,
    CampaignLimits Limits,
    TokenLimitPolicy TokenLimit,
    int? MaxTokenLimit,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public DateTimeOffset? StartsAt { get; init; }
    public DateTimeOffset? EndsAt { get; init; }
    public string? TimeZone { get; init; }

    public static CampaignResponse From(Campaign c) =>
        new(c.Id, c.AccountId, c.Name, c.Limits, c.TokenLimit, c.MaxTokenLimit, c.CreatedAt, c.UpdatedAt)
        {
            StartsAt = c.StartsAt,
            EndsAt = c.EndsAt,
            TimeZone = c.TimeZone,
        };
}

public static partial class CampaignEndpoints
{
    private const int MaxLimit = 1_000_000;
    private const int MaxCooldownSeconds = 366 * 24 * 3600;
    private const int MaxParticipationsCap = 1_000_000_000;

    public static RouteGroupBuilder MapCampaignEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/campaigns").WithTags("Campaigns").AddEndpointFilter<RequireApiKey>();
        group.MapPut("/{campaignId}", PutCampaign).WithName("PutCampaign");
        group.MapGet("/{campaignId}", GetCampaign).WithName("GetCampaign");
        return group;
    }

    private static async Task<IResult> PutCampaign(
        string campaignId, HttpContext http, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var caller = Caller.Of(http);
        var request = http.Request;
        if (!Identifiers.IsValid(campaignId))
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["campaignId"] = ["Must match [A-Za-z0-9_-]{1,64}."] });
        }

        var (body, problem) = await JsonBody.ReadAsync<CampaignRequest>(request, ct);
        if (problem is not null)
        {
            return problem;
        }

        // The campaign's row, locked until the commit: participation batches hold it with `for key share` while they
        // decide with its current version, so this change waits for them and every batch after it sees the new
        // version (ParticipationBatch); a recount of the places below therefore counts every acceptance made under
        // the previous rules.
        await session.BeginTransactionAsync(ct);
        await session.AdvancedSql.QueryAsync<int>(
            $"select 1 from {session.DocumentStore.Options.Schema.For<Campaign>()} where id = ? for update", ct, campaignId);
        var existing = await session.LoadAsync<Campaign>(campaignId, ct);
        if (existing is not null && !caller.CanAccess(existing.AccountId))
        {
            // Campaign ids are unique across accounts: another account's campaign is simply not found.
            return CampaignNotFound();
        }

        var errors = Validate(body!);
        if (errors.Count == 0)
        {
            // The account's row too (after the campaign's: every path that locks both takes them in that order), so
            // that the writes to the account's audit stream go one after the other (AccountRows).
            if (!caller.CanAccess(body!.AccountId!) || await AccountRows.LoadForUpdateInTransactionAsync(session, body.AccountId!, ct) is null)
            {
                errors["accountId"] = ["No such account."];
            }
            else if (existing is not null && existing.AccountId != body.AccountId)
            {
                errors["accountId"] = ["A campaign cannot move to another account."];
            }
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var now = time.GetUtcNow();
        var campaign = new Campaign
        {
            Id = campaignId,
            AccountId = body!.AccountId!,
            Name = body.Name!,
            Limits = new CampaignLimits
            {
                PerParticipant = body.Limits?.PerParticipant ?? 1,
                PerParticipantPerDay = body.Limits?.PerParticipantPerDay,
                CooldownSeconds = body.Limits?.CooldownSeconds is > 0 ? body.Limits.CooldownSeconds : null,
                MaxParticipations = body.Limits?.MaxParticipations,
            },
            TokenLimit = body.TokenLimit ?? TokenLimitPolicy.Allow,
            MaxTokenLimit = body.MaxTokenLimit,
            StartsAt = ParseInstant(body.StartsAt),
            EndsAt = ParseInstant(body.EndsAt),
            TimeZone = body.TimeZone,
            CreatedAt = existing?.CreatedAt ?? now,
            UpdatedAt = now,
        };
        var response = CampaignResponse.From(campaign);
        session.Store(campaign);

        // A cap on a campaign that had none: its count of places taken starts from what it accepted so far. A cap
        // changed from one value to another keeps counting, with the places left shared out again (CampaignPlaces).
        if (campaign.Limits.MaxParticipations is { } max)
        {
            if (existing?.Limits.MaxParticipations is null)
            {
                CampaignPlaces.QueueRecount(session, campaign.Id, max);
            }
            else if (existing.Limits.MaxParticipations != max)
            {
                CampaignPlaces.QueueResize(session, campaign.Id, max);
            }
        }

        session.Events.Append(
            AuditStream.For(campaign.AccountId),
            new CampaignSaved(campaign.AccountId, campaign.Id, existing is null, response, caller.KeyPrefix, now));
        await session.SaveChangesAsync(ct);

        return existing is null
            ? TypedResults.Created($"/v1/campaigns/{campaignId}", response)
            : TypedResults.Ok(response);
    }

    private static async Task<IResult> GetCampaign(string campaignId, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        var campaign = await LoadAccessibleAsync(session, campaignId, Caller.Of(http), ct);
        return campaign is null ? CampaignNotFound() : TypedResults.Ok(CampaignResponse.From(campaign));
    }

    /// <summary>The campaign if it exists and the caller may see it: another account's campaign is not found (no oracle).</summary>
    internal static async Task<Campaign?> LoadAccessibleAsync(IQuerySession session, string campaignId, Caller caller, CancellationToken ct)
    {
        var campaign = Identifiers.IsValid(campaignId) ? await session.LoadAsync<Campaign>(campaignId, ct) : null;
        return campaign is not null && caller.CanAccess(campaign.AccountId) ? campaign : null;
    }

    internal static IResult CampaignNotFound() =>
        Problems.Create(StatusCodes.Status404NotFound, Problems.CampaignNotFound, "No such campaign.");

    private static Dictionary<string, string[]> Validate(CampaignRequest body)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Identifiers.IsValid(body.AccountId))
        {
            errors["accountId"] = ["Required: an account id ([A-Za-z0-9_-]{1,64})."];
        }

        if (body.Name is not { Length: > 0 and <= 200 } || body.Name.Any(char.IsControl))
        {
            errors["name"] = ["Required: 1 to 200 characters without control characters."];
        }

        var startsAt = ParseInstant(body.StartsAt);
        var endsAt = ParseInstant(body.EndsAt);
        if (body.StartsAt is not null && startsAt is null)
        {
            errors["startsAt"] = [InstantFormat];
        }

        if (body.EndsAt is not null && endsAt is null)
        {
            errors["endsAt"] = [InstantFormat];
        }
        else if (startsAt is not null && endsAt is not null && endsAt <= startsAt)
        {
            errors["endsAt"] = ["Must be later than startsAt."];
        }

        if (body.TimeZone is not null && !CampaignCalendar.TryFindIanaZone(body.TimeZone, out _))
        {
            errors["timeZone"] = ["An IANA time zone id, such as Europe/Paris or UTC."];
        }

        if (body.Limits?.PerParticipantPerDay is < 1 or > MaxLimit)
        {
            errors["limits.perParticipantPerDay"] = [$"Between 1 and {MaxLimit}."];
        }

        if (body.Limits?.CooldownSeconds is < 0 or > MaxCooldownSeconds)
        {
            errors["limits.cooldownSeconds"] = [$"Between 0 (none) and {MaxCooldownSeconds} (366 days)."];
        }

        if (body.Limits?.MaxParticipations is < 1 or > MaxParticipationsCap)
        {
            errors["limits.maxParticipations"] = [$"Between 1 and {MaxParticipationsCap}."];
        }

        if (body.Limits?.PerParticipant is < 1 or > MaxLimit)
        {
            errors["limits.perParticipant"] = [$"Between 1 and {MaxLimit}."];
        }

        if (body.MaxTokenLimit is < 0 or > MaxLimit)
        {
            errors["maxTokenLimit"] = [$"Between 0 and {MaxLimit}."];
        }

        if (body.TokenLimit == TokenLimitPolicy.Capped && body.MaxTokenLimit is null)
        {
            errors["maxTokenLimit"] = ["Required when tokenLimit is capped."];
        }

        return errors;
    }

    private const string InstantFormat = "An RFC 3339 date-time with its offset, such as 2026-12-01T00:00:00+01:00 or 2026-11-30T23:00:00Z.";

    /// <summary>
    /// An instant with an explicit offset: a local time without one would be read in the server's own zone, which
    /// the partner cannot know, so it is refused rather than guessed.
    /// </summary>
    private static DateTimeOffset? ParseInstant(string? text) =>
        text is not null && Rfc3339().IsMatch(text)
        && DateTimeOffset.TryParse(text.ToUpperInvariant(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant)
            ? instant
            : null;

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,7})?([Zz]|[+-]\d{2}:\d{2})\z", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}

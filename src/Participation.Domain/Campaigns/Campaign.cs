using System.Text.Json.Serialization;

namespace Participation.Domain.Campaigns;

/// <summary>The limits of a campaign (DESIGN.md <c>limits</c>).</summary>
public sealed record CampaignLimits
{
    /// <summary>Accepted participations per participant over the whole campaign.</summary>
    public int PerParticipant { get; init; } = 1;

    /// <summary>Accepted participations per participant per calendar day in the campaign's time zone; null: none.</summary>
    public int? PerParticipantPerDay { get; init; }

    /// <summary>Seconds between two accepted participations of one participant; null: none.</summary>
    public int? CooldownSeconds { get; init; }

    /// <summary>Accepted participations over the whole campaign, all participants together; null: no cap.</summary>
    public int? MaxParticipations { get; init; }
}

/// <summary>A campaign as its account configured it. Stored as a document; its id is unique across accounts.</summary>
public sealed record Campaign
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required string Name { get; init; }
    public CampaignLimits Limits { get; init; } = new();
    public TokenLimitPolicy TokenLimit { get; init; } = TokenLimitPolicy.Allow;
    public int? MaxTokenLimit { get; init; }

    /// <summary>First instant participations are accepted; null: open from its creation.</summary>
    public DateTimeOffset? StartsAt { get; init; }

    /// <summary>First instant participations are refused again; null: never closes.</summary>
    public DateTimeOffset? EndsAt { get; init; }

    /// <summary>IANA time zone of the campaign's calendar days (per-day limits, reports); null means UTC.</summary>
    public string? TimeZone { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The rules a request is decided with (computed, never stored).</summary>
    [JsonIgnore]
    public CampaignRules Rules => new(Limits.PerParticipant, TokenLimit, MaxTokenLimit)
    {
        StartsAt = StartsAt,
        EndsAt = EndsAt,
        TimeZone = CampaignCalendar.ZoneOf(TimeZone),
        PerParticipantPerDay = Limits.PerParticipantPerDay,
        CooldownSeconds = Limits.CooldownSeconds,
        MaxParticipations = Limits.MaxParticipations,
    };
}

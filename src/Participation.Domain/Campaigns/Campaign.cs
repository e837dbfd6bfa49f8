namespace Participation.Domain.Campaigns;

/// <summary>Per-participant limits of a campaign (DESIGN.md <c>limits</c>).</summary>
public sealed record CampaignLimits
{
    /// <summary>Accepted participations per participant over the whole campaign.</summary>
    public int PerParticipant { get; init; } = 1;
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

    /// <summary>IANA time zone of the campaign's calendar days (per-day limits, reports); null means UTC.</summary>
    public string? TimeZone { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    public CampaignRules Rules => new(Limits.PerParticipant, TokenLimit, MaxTokenLimit);
}

namespace Participation.Domain.Campaigns;

/// <summary>What the campaign does with the token's <c>limit.nb</c> claim.</summary>
public enum TokenLimitPolicy
{
    /// <summary>The token's <c>nb</c>, when present, is the participant's limit (the partner decides).</summary>
    Allow,

    /// <summary>The token's <c>nb</c> is ignored: the campaign's <c>perParticipant</c> rules.</summary>
    Ignore,

    /// <summary>The token's <c>nb</c>, when present, is used but never above the campaign's <c>maxTokenLimit</c>.</summary>
    Capped,
}

/// <summary>
/// The part of a campaign's configuration that decides a participation, as read for one request: a change of the
/// campaign applies to the next request.
/// </summary>
public sealed record CampaignRules(int PerParticipant, TokenLimitPolicy TokenLimit, int? MaxTokenLimit)
{
    public static readonly CampaignRules Default = new(1, TokenLimitPolicy.Allow, null);

    /// <summary>First instant participations are accepted (inclusive); null: open from the start.</summary>
    public DateTimeOffset? StartsAt { get; init; }

    /// <summary>First instant participations are refused again (exclusive); null: never closes.</summary>
    public DateTimeOffset? EndsAt { get; init; }

    /// <summary>The zone of the campaign's calendar days (<see cref="PerParticipantPerDay"/>).</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    /// <summary>Accepted participations per participant per calendar day in <see cref="TimeZone"/>; null: no daily limit.</summary>
    public int? PerParticipantPerDay { get; init; }

    /// <summary>Seconds between two accepted participations of one participant; null or 0: none.</summary>
    public int? CooldownSeconds { get; init; }

    /// <summary>Accepted participations over the whole campaign, all participants together; null: no cap.</summary>
    public int? MaxParticipations { get; init; }

    /// <summary>The participant's limit for a request carrying the token's <c>limit.nb</c> (or none).</summary>
    public int EffectiveLimit(int? tokenNb) => TokenLimit switch
    {
        TokenLimitPolicy.Allow => tokenNb ?? PerParticipant,
        TokenLimitPolicy.Ignore => PerParticipant,
        TokenLimitPolicy.Capped => tokenNb is { } nb ? Math.Min(nb, MaxTokenLimit ?? PerParticipant) : PerParticipant,
        _ => throw new ArgumentOutOfRangeException(nameof(tokenNb), TokenLimit, "Unknown token limit policy."),
    };
}

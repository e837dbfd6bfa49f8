using Participation.Domain.Campaigns;

namespace Participation.Domain.Participations;

/// <summary>
/// A verified token asks to take part. Built by the HTTP edge once the token is trusted and its campaign matches;
/// handled by appending to the participant's stream <see cref="ParticipantId"/>.
/// </summary>
/// <param name="ParticipantId">The stream key, <see cref="ParticipationStreamKey.For"/>.</param>
/// <param name="ParticipationId">The id the participation gets if it is accepted.</param>
/// <param name="Rules">The campaign's rules as read for this request.</param>
/// <param name="RequestedAt">When the request arrived: every time-based rule reads this, never the clock.</param>
public sealed record ParticipationRequested(
    string ParticipantId,
    Guid ParticipationId,
    string CampaignId,
    string Sub,
    string ReplayKey,
    string? Jti,
    DateTimeOffset? IssuedAt,
    LimitClaim? Limit,
    GiftClaim? Gift,
    PersonalData PersonalData,
    CampaignRules Rules,
    DateTimeOffset RequestedAt)
{
    /// <summary>
    /// The versions of the campaign and of its account's token settings that <see cref="Rules"/> and the token's
    /// verification were read from: the handler decides only while they are still the current ones, so a change of
    /// either applies to the next request. Null: not checked.
    /// </summary>
    public ConfigurationVersion? VerifiedWith { get; init; }
}

/// <summary>A version of a campaign's configuration: its document's version and its account's token settings version.</summary>
public sealed record ConfigurationVersion(Guid Campaign, long TokenSettings);

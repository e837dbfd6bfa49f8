namespace Participation.Domain.Participations;

/// <summary>What the service answers to a <see cref="ParticipationRequested"/>.</summary>
public abstract record ParticipationDecision;

/// <summary>Accepted: the participant's <see cref="Number"/>-th participation.</summary>
public sealed record ParticipationGranted(
    Guid ParticipationId,
    string CampaignId,
    string Sub,
    int Number,
    int Limit,
    int Remaining,
    bool CanWin,
    GiftClaim? Gift) : ParticipationDecision;

/// <summary>Refused by a rule (a 403 <see cref="Code"/>), with what the participant has left.</summary>
public sealed record ParticipationRefused(string Code, int Limit, int Remaining, TimeSpan? RetryAfter = null) : ParticipationDecision;

/// <summary>The token was accepted before: the original participation, so a client that lost the answer learns it.</summary>
public sealed record ParticipationReplayed(Guid ParticipationId, int Number) : ParticipationDecision;

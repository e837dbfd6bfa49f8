namespace Participation.Domain.Participations;

/// <summary>A participation was accepted: the participant's <see cref="Number"/>-th one in this campaign.</summary>
/// <param name="ParticipationId">A version 7 Guid, unique across the service.</param>
/// <param name="Limit">The participant's effective limit when the decision was made.</param>
/// <param name="TokenLimit">The <c>limit.nb</c> the token carried, whatever the campaign's policy made of it.</param>
/// <param name="ReplayKey">The token's replay key (<c>jti:…</c> or <c>sha256:…</c>): the same token is never accepted twice.</param>
public sealed record ParticipationAccepted(
    Guid ParticipationId,
    string CampaignId,
    string Sub,
    int Number,
    int Limit,
    int? TokenLimit,
    string ReplayKey,
    string? Jti,
    DateTimeOffset? IssuedAt,
    bool CanWin,
    GiftClaim? Gift,
    PersonalData? PersonalData,
    DateTimeOffset At);

/// <summary>
/// A participation was refused by a campaign rule for a token whose signature was valid (the identity is trusted).
/// Recorded once per token and code: retrying the same refused token changes nothing.
/// </summary>
public sealed record ParticipationRejected(
    string CampaignId,
    string Sub,
    string Code,
    string ReplayKey,
    string? Jti,
    DateTimeOffset At);

/// <summary>
/// The participant's personal data was erased (<c>DELETE /v1/campaigns/{campaignId}/participants/{sub}</c>): every
/// earlier event of the stream was masked (<see cref="PersonalDataMasking"/>). The count, the times and the erased
/// replay keys stay, so the campaign's limits and the replay protection still hold.
/// </summary>
/// <param name="MaskedEvents">How many events of the stream the masking rewrote.</param>
/// <param name="By">The public prefix of the API key that asked for it (<c>admin</c> for the admin key).</param>
public sealed record ParticipantDataErased(
    string CampaignId,
    string Sub,
    int MaskedEvents,
    string By,
    DateTimeOffset At);

namespace Participation.Domain.Participations;

/// <summary>One accepted participation in a participant's history.</summary>
public sealed record ParticipationEntry(int Number, Guid ParticipationId, DateTimeOffset At, string? Jti, DateTimeOffset? IssuedAt);

/// <summary>One recorded refusal in a participant's history.</summary>
public sealed record RejectionEntry(DateTimeOffset At, string Code);

/// <summary>
/// Read model of one participant's stream, kept inline (in the same transaction as the events):
/// what <c>GET /v1/campaigns/{campaignId}/participants/{sub}</c> shows.
/// </summary>
public sealed record ParticipantHistory(
    string Id,
    string CampaignId,
    string Sub,
    int Accepted,
    int? LastTokenLimit,
    IReadOnlyList<ParticipationEntry> Participations,
    IReadOnlyList<RejectionEntry> Rejections)
{
    /// <summary>When the participant's personal data was last erased; null: never.</summary>
    public DateTimeOffset? ErasedAt { get; init; }

    public static ParticipantHistory Create(ParticipationAccepted accepted) =>
        Empty(accepted.CampaignId, accepted.Sub).Apply(accepted);

    public static ParticipantHistory Create(ParticipationRejected rejected) =>
        Empty(rejected.CampaignId, rejected.Sub).Apply(rejected);

    public ParticipantHistory Apply(ParticipationAccepted accepted) => this with
    {
        Accepted = Accepted + 1,
        LastTokenLimit = accepted.TokenLimit,
        Participations = [.. Participations, new ParticipationEntry(accepted.Number, accepted.ParticipationId, accepted.At, accepted.Jti, accepted.IssuedAt)],
    };

    public ParticipantHistory Apply(ParticipationRejected rejected) => this with
    {
        Rejections = [.. Rejections, new RejectionEntry(rejected.At, rejected.Code)],
    };

    /// <summary>Erasure masks the events; the history drops what it copied from them (the token ids).</summary>
    public ParticipantHistory Apply(ParticipantDataErased erased) => this with
    {
        Participations = [.. Participations.Select(p => p with { Jti = null })],
        ErasedAt = erased.At,
    };

    private static ParticipantHistory Empty(string campaignId, string sub) =>
        new(ParticipationStreamKey.For(campaignId, sub), campaignId, sub, 0, null, [], []);
}

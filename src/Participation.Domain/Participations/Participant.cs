using System.Collections.Immutable;

namespace Participation.Domain.Participations;

/// <summary>The outcome kept for a token that was accepted: a replay of it answers with the same participation.</summary>
public sealed record AcceptedToken(Guid ParticipationId, int Number);

/// <summary>
/// One participant of one campaign, folded from its stream. Slim on purpose: only what
/// <see cref="ParticipationDecider.Decide"/> reads.
/// </summary>
public sealed record Participant(
    string Id,
    int Accepted,
    ImmutableDictionary<string, AcceptedToken> AcceptedTokens,
    ImmutableHashSet<string> RejectedTokens)
{
    public static Participant Empty(string id) =>
        new(id, 0, ImmutableDictionary<string, AcceptedToken>.Empty.WithComparers(StringComparer.Ordinal), ImmutableHashSet<string>.Empty.WithComparer(StringComparer.Ordinal));

    public static Participant Create(ParticipationAccepted accepted) =>
        Empty(ParticipationStreamKey.For(accepted.CampaignId, accepted.Sub)).Apply(accepted);

    public static Participant Create(ParticipationRejected rejected) =>
        Empty(ParticipationStreamKey.For(rejected.CampaignId, rejected.Sub)).Apply(rejected);

    public Participant Apply(ParticipationAccepted accepted) => this with
    {
        Accepted = Accepted + 1,
        AcceptedTokens = AcceptedTokens.SetItem(accepted.ReplayKey, new AcceptedToken(accepted.ParticipationId, accepted.Number)),
    };

    public Participant Apply(ParticipationRejected rejected) => this with
    {
        RejectedTokens = RejectedTokens.Add(RejectionKey(rejected.ReplayKey, rejected.Code)),
    };

    public bool HasRecordedRejection(string replayKey, string code) => RejectedTokens.Contains(RejectionKey(replayKey, code));

    private static string RejectionKey(string replayKey, string code) => string.Concat(code, " ", replayKey);
}

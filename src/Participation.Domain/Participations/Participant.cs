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
    /// <summary>When each accepted participation was decided, in stream order: per-day counts and cooldowns read it.</summary>
    public ImmutableList<DateTimeOffset> AcceptedAt { get; init; } = [];

    /// <summary>The latest of <see cref="AcceptedAt"/>.</summary>
    public DateTimeOffset? LastAcceptedAt { get; init; }

    /// <summary>
    /// Some replay keys of this stream were erased (<see cref="PersonalDataMasking"/>): a presented token is then also
    /// looked up by its erased form.
    /// </summary>
    public bool HasErasedKeys { get; init; }

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
        AcceptedAt = AcceptedAt.Add(accepted.At),
        LastAcceptedAt = LastAcceptedAt is { } last && last > accepted.At ? last : accepted.At,
        HasErasedKeys = HasErasedKeys || PersonalDataMasking.IsErased(accepted.ReplayKey),
    };

    public Participant Apply(ParticipationRejected rejected) => this with
    {
        RejectedTokens = RejectedTokens.Add(RejectionKey(rejected.ReplayKey, rejected.Code)),
        HasErasedKeys = HasErasedKeys || PersonalDataMasking.IsErased(rejected.ReplayKey),
    };

    public Participant Apply(ParticipantDataErased erased)
    {
        ArgumentNullException.ThrowIfNull(erased);
        return this with { HasErasedKeys = true };
    }

    /// <summary>The original participation of a token accepted before, whether its replay key was erased or not.</summary>
    public bool TryGetAcceptedToken(string replayKey, out AcceptedToken accepted)
    {
        if (AcceptedTokens.TryGetValue(replayKey, out accepted!))
        {
            return true;
        }

        return HasErasedKeys && AcceptedTokens.TryGetValue(PersonalDataMasking.ErasedReplayKey(Id, replayKey), out accepted!);
    }

    public bool HasRecordedRejection(string replayKey, string code) =>
        RejectedTokens.Contains(RejectionKey(replayKey, code))
        || (HasErasedKeys && RejectedTokens.Contains(RejectionKey(PersonalDataMasking.ErasedReplayKey(Id, replayKey), code)));

    /// <summary>Accepted participations whose local day (in <paramref name="zone"/>) is the one of <paramref name="now"/>.</summary>
    public int AcceptedOnDayOf(DateTimeOffset now, TimeZoneInfo zone)
    {
        var today = Campaigns.CampaignCalendar.LocalDay(now, zone);

        // No local day lasts 26 hours: older acceptances cannot be today's. Acceptances are in stream order, which
        // follows decision time up to the milliseconds two racing requests may swap, hence the margin.
        var horizon = now.AddHours(-50);
        var count = 0;
        for (var i = AcceptedAt.Count - 1; i >= 0; i--)
        {
            var at = AcceptedAt[i];
            if (at < horizon)
            {
                break;
            }

            if (Campaigns.CampaignCalendar.LocalDay(at, zone) == today)
            {
                count++;
            }
        }

        return count;
    }

    private static string RejectionKey(string replayKey, string code) => string.Concat(code, " ", replayKey);
}

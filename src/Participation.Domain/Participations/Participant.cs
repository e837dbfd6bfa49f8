namespace Participation.Domain.Participations;

/// <summary>The outcome kept for a token that was accepted: a replay of it answers with the same participation.</summary>
public sealed record AcceptedToken(Guid ParticipationId, int Number);

/// <summary>One accepted participation of a participant, in stream order.</summary>
/// <param name="ReplayKey">The token's replay key (<c>jti:…</c> or <c>sha256:…</c>), or its erased form after an erasure.</param>
/// <param name="TokenLimit">The <c>limit.nb</c> the token carried.</param>
public sealed record ParticipationEntry(
    int Number,
    Guid ParticipationId,
    DateTimeOffset At,
    string ReplayKey,
    string? Jti,
    DateTimeOffset? IssuedAt,
    int? TokenLimit);

/// <summary>One recorded refusal of a participant: once per token and code.</summary>
public sealed record RejectionEntry(DateTimeOffset At, string Code, string ReplayKey);

/// <summary>
/// One participant of one campaign, folded from its stream <c>participation:{campaignId}:{sub}</c>: what
/// <see cref="ParticipationDecider.Decide"/> reads (the accepted tokens and when they were accepted, the refusals already
/// recorded) and what the participant's history shows, which are the same facts.
/// </summary>
/// <remarks>
/// Stored as Marten's inline snapshot of the stream, written in the transaction that appends its events, so it is
/// always exactly at the stream's <see cref="Version"/>: a participation reads this one document instead of folding
/// the stream's events, and the history endpoint reads the same document. It grows with the participant's
/// participations and recorded refusals, which the campaign's limits bound.
/// </remarks>
public sealed record Participant(
    string Id,
    string CampaignId,
    string Sub,
    IReadOnlyList<ParticipationEntry> Participations,
    IReadOnlyList<RejectionEntry> Rejections)
{
    /// <summary>The stream version this state is at (set by Marten from the stream; 0 for a state not stored yet).</summary>
    public long Version { get; set; }

    /// <summary>When the participant's personal data was last erased; null: never.</summary>
    public DateTimeOffset? ErasedAt { get; init; }

    /// <summary>Accepted participations so far.</summary>
    public int Accepted => Participations.Count;

    /// <summary>When the latest accepted participation was decided; null: none yet.</summary>
    public DateTimeOffset? LastAcceptedAt
    {
        get
        {
            DateTimeOffset? last = null;
            foreach (var p in Participations)
            {
                if (last is null || p.At > last)
                {
                    last = p.At;
                }
            }

            return last;
        }
    }

    /// <summary>
    /// Some replay keys are in their erased form: after an erasure, or when the events were masked but the erasure
    /// was not recorded yet (a failure between the two). A presented token is then also looked up by its erased form.
    /// </summary>
    private bool HasErasedKeys =>
        ErasedAt is not null
        || Participations.Any(p => PersonalDataMasking.IsErased(p.ReplayKey))
        || Rejections.Any(r => PersonalDataMasking.IsErased(r.ReplayKey));

    /// <summary>The <c>limit.nb</c> of the latest accepted token (the participant's limit under a token-limit policy).</summary>
    public int? LastTokenLimit => Participations.Count == 0 ? null : Participations[^1].TokenLimit;

    public static Participant Empty(string campaignId, string sub) =>
        new(ParticipationStreamKey.For(campaignId, sub), campaignId, sub, [], []);

    public static Participant Create(ParticipationAccepted accepted)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        return Empty(accepted.CampaignId, accepted.Sub).Apply(accepted);
    }

    public static Participant Create(ParticipationRejected rejected)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        return Empty(rejected.CampaignId, rejected.Sub).Apply(rejected);
    }

    public Participant Apply(ParticipationAccepted accepted)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        return this with
        {
            Participations =
            [
                .. Participations,
                new ParticipationEntry(
                    accepted.Number, accepted.ParticipationId, accepted.At, accepted.ReplayKey, accepted.Jti,
                    accepted.IssuedAt, accepted.TokenLimit),
            ],
        };
    }

    public Participant Apply(ParticipationRejected rejected)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        return this with { Rejections = [.. Rejections, new RejectionEntry(rejected.At, rejected.Code, rejected.ReplayKey)] };
    }

    /// <summary>
    /// Erasure masked the stream's events (<see cref="PersonalDataMasking"/>): the state keeps the same masked form, so
    /// that it is what a fold of the masked events gives. Replay keys become their erased form (a replayed token is
    /// still recognised) and the token ids go.
    /// </summary>
    public Participant Apply(ParticipantDataErased erased)
    {
        ArgumentNullException.ThrowIfNull(erased);
        return this with
        {
            Participations = [.. Participations.Select(p => p with { ReplayKey = PersonalDataMasking.ErasedReplayKey(Id, p.ReplayKey), Jti = null })],
            Rejections = [.. Rejections.Select(r => r with { ReplayKey = PersonalDataMasking.ErasedReplayKey(Id, r.ReplayKey) })],
            ErasedAt = erased.At,
        };
    }

    /// <summary>The state after <paramref name="event"/>, one of the participant stream's events.</summary>
    public static Participant Next(Participant? state, object @event) => (@event, state) switch
    {
        (ParticipationAccepted e, null) => Create(e),
        (ParticipationAccepted e, { } s) => s.Apply(e),
        (ParticipationRejected e, null) => Create(e),
        (ParticipationRejected e, { } s) => s.Apply(e),
        (ParticipantDataErased e, { } s) => s.Apply(e),
        _ => throw new ArgumentException($"{@event?.GetType().Name ?? "null"} cannot apply to this participant state.", nameof(@event)),
    };

    /// <summary>The original participation of a token accepted before, whether its replay key was erased since or not.</summary>
    public bool TryGetAcceptedToken(string replayKey, out AcceptedToken accepted)
    {
        ArgumentNullException.ThrowIfNull(replayKey);
        var erased = HasErasedKeys ? PersonalDataMasking.ErasedReplayKey(Id, replayKey) : null;
        foreach (var p in Participations)
        {
            if (string.Equals(p.ReplayKey, replayKey, StringComparison.Ordinal)
                || (erased is not null && string.Equals(p.ReplayKey, erased, StringComparison.Ordinal)))
            {
                accepted = new AcceptedToken(p.ParticipationId, p.Number);
                return true;
            }
        }

        accepted = null!;
        return false;
    }

    /// <summary>Whether this token's refusal for <paramref name="code"/> is recorded already.</summary>
    public bool HasRecordedRejection(string replayKey, string code)
    {
        ArgumentNullException.ThrowIfNull(replayKey);
        var erased = HasErasedKeys ? PersonalDataMasking.ErasedReplayKey(Id, replayKey) : null;
        foreach (var r in Rejections)
        {
            if (string.Equals(r.Code, code, StringComparison.Ordinal)
                && (string.Equals(r.ReplayKey, replayKey, StringComparison.Ordinal)
                    || (erased is not null && string.Equals(r.ReplayKey, erased, StringComparison.Ordinal))))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Accepted participations whose local day (in <paramref name="zone"/>) is the one of <paramref name="now"/>.</summary>
    public int AcceptedOnDayOf(DateTimeOffset now, TimeZoneInfo zone)
    {
        var today = Campaigns.CampaignCalendar.LocalDay(now, zone);

        // No local day lasts 26 hours: older acceptances cannot be today's. Acceptances are in stream order, which
        // follows decision time up to the milliseconds two racing requests may swap, hence the margin.
        var horizon = now.AddHours(-50);
        var count = 0;
        for (var i = Participations.Count - 1; i >= 0; i--)
        {
            var at = Participations[i].At;
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
}

namespace Participation.Domain.Participations;

/// <summary>The decision and the events that record it (none for a replay or an already recorded refusal).</summary>
public sealed record ParticipationOutcome(ParticipationDecision Decision, IReadOnlyList<object> Events);

/// <summary>Pure decision: given a participant's folded history and a verified request, what happens.</summary>
/// <remarks>
/// Checks, in order: a replay of an accepted token (whatever the rules say now) → the schedule
/// (<c>campaign_not_open</c>, <c>campaign_closed</c>) → the token's <c>canPlay</c> → the participant's limit → the
/// per-day limit and the cooldown (when both refuse, the one that takes longer to pass) → the campaign-wide cap. The
/// most lasting reason comes first, so a client told to wait is not refused for another reason when it comes back.
/// Every time-based rule reads <see cref="ParticipationRequested.RequestedAt"/>, never a clock.
/// </remarks>
public static class ParticipationDecider
{
    /// <param name="campaignFull">
    /// Whether the campaign-wide cap (<see cref="Campaigns.CampaignRules.MaxParticipations"/>) has no place left for
    /// this participation. The cap is shared by every participant, so it is not in <paramref name="state"/>: the
    /// handler takes a place only once this function granted without it, and decides again with
    /// <c>campaignFull: true</c> when there was none.
    /// </param>
    public static ParticipationOutcome Decide(ParticipationRequested command, Participant? state, bool campaignFull = false)
    {
        ArgumentNullException.ThrowIfNull(command);
        state ??= Participant.Empty(command.CampaignId, command.Sub);
        var rules = command.Rules;
        var now = command.RequestedAt;

        // A token is accepted at most once: its replay answers with the original participation, whatever the rules say now.
        if (state.TryGetAcceptedToken(command.ReplayKey, out var original))
        {
            return new ParticipationOutcome(new ParticipationReplayed(original.ParticipationId, original.Number), []);
        }

        var limit = rules.EffectiveLimit(command.Limit?.Nb);
        var remaining = Math.Max(0, limit - state.Accepted);

        if (rules.StartsAt is { } startsAt && now < startsAt)
        {
            return Refuse(command, state, RejectionCodes.CampaignNotOpen, limit, remaining, startsAt - now);
        }

        if (rules.EndsAt is { } endsAt && now >= endsAt)
        {
            return Refuse(command, state, RejectionCodes.CampaignClosed, limit, 0);
        }

        if (command.Limit?.CanPlay == false)
        {
            return Refuse(command, state, RejectionCodes.ParticipantNotAllowed, limit, 0);
        }

        if (remaining == 0)
        {
            return Refuse(command, state, RejectionCodes.ParticipationLimitReached, limit, 0);
        }

        if (Wait(rules, state, now) is { } wait)
        {
            return Refuse(command, state, wait.Code, limit, remaining, wait.RetryAfter);
        }

        if (campaignFull)
        {
            return Refuse(command, state, RejectionCodes.CampaignFull, limit, 0);
        }

        var number = state.Accepted + 1;
        var canWin = command.Gift?.CanWin ?? true;
        var accepted = new ParticipationAccepted(
            command.ParticipationId,
            command.CampaignId,
            command.Sub,
            number,
            limit,
            command.Limit?.Nb,
            command.ReplayKey,
            command.Jti,
            command.IssuedAt,
            canWin,
            command.Gift,
            command.PersonalData == PersonalData.None ? null : command.PersonalData,
            command.RequestedAt);

        var granted = new ParticipationGranted(
            command.ParticipationId, command.CampaignId, command.Sub, number, limit, remaining - 1, canWin, command.Gift);
        return new ParticipationOutcome(granted, [accepted]);
    }

    /// <summary>
    /// The per-day limit and the cooldown: both pass with time. When both refuse, the longer wait is the answer, so
    /// that a client retrying after <c>Retry-After</c> is not refused again by the other one.
    /// </summary>
    private static (string Code, TimeSpan RetryAfter)? Wait(Campaigns.CampaignRules rules, Participant state, DateTimeOffset now)
    {
        (string Code, TimeSpan RetryAfter)? wait = null;
        if (rules.PerParticipantPerDay is { } perDay && state.AcceptedOnDayOf(now, rules.TimeZone) >= perDay)
        {
            wait = (RejectionCodes.PeriodLimitReached, Campaigns.CampaignCalendar.NextDayStart(now, rules.TimeZone) - now);
        }

        if (rules.CooldownSeconds is { } seconds && seconds > 0 && state.LastAcceptedAt is { } last
            && last.AddSeconds(seconds) - now is { Ticks: > 0 } cooling
            && (wait is null || cooling > wait.Value.RetryAfter))
        {
            wait = (RejectionCodes.CooldownActive, cooling);
        }

        return wait;
    }

    private static ParticipationOutcome Refuse(
        ParticipationRequested command, Participant state, string code, int limit, int remaining, TimeSpan? retryAfter = null)
    {
        var refused = new ParticipationRefused(code, limit, remaining, retryAfter);

        // The identity is trusted (valid signature), so the refusal is recorded, but only once per token and code:
        // retrying a refused token must not grow the stream.
        if (state.HasRecordedRejection(command.ReplayKey, code))
        {
            return new ParticipationOutcome(refused, []);
        }

        var rejected = new ParticipationRejected(
            command.CampaignId, command.Sub, code, command.ReplayKey, command.Jti, command.RequestedAt);
        return new ParticipationOutcome(refused, [rejected]);
    }
}

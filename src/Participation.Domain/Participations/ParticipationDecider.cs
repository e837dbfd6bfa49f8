namespace Participation.Domain.Participations;

/// <summary>The decision and the events that record it (none for a replay or an already recorded refusal).</summary>
public sealed record ParticipationOutcome(ParticipationDecision Decision, IReadOnlyList<object> Events);

/// <summary>Pure decision: given a participant's folded history and a verified request, what happens.</summary>
public static class ParticipationDecider
{
    public static ParticipationOutcome Decide(ParticipationRequested command, Participant? state)
    {
        ArgumentNullException.ThrowIfNull(command);
        state ??= Participant.Empty(command.ParticipantId);

        // A token is accepted at most once: its replay answers with the original participation, whatever the rules say now.
        if (state.AcceptedTokens.TryGetValue(command.ReplayKey, out var original))
        {
            return new ParticipationOutcome(new ParticipationReplayed(original.ParticipationId, original.Number), []);
        }

        var limit = command.Rules.EffectiveLimit(command.Limit?.Nb);
        var remaining = Math.Max(0, limit - state.Accepted);

        if (command.Limit?.CanPlay == false)
        {
            return Refuse(command, state, RejectionCodes.ParticipantNotAllowed, limit, 0);
        }

        if (remaining == 0)
        {
            return Refuse(command, state, RejectionCodes.ParticipationLimitReached, limit, 0);
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

    private static ParticipationOutcome Refuse(ParticipationRequested command, Participant state, string code, int limit, int remaining)
    {
        var refused = new ParticipationRefused(code, limit, remaining);

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

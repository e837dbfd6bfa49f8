using Marten;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Wolverine.Marten;

namespace Participation.Api.Participations;

/// <summary>
/// Decides a participation against the participant's stream, fetched for exclusive writing: the stream's row is locked
/// (<c>select ... for update</c>) from the read to the commit, so racing requests for one participant queue up instead
/// of failing and retrying, and the append is still checked against the version read. Two racing first participations
/// have no row to lock yet: the loser's stream creation collides and the Wolverine policy of
/// <c>ParticipationHosting</c> decides it again on a fresh read, this time behind the lock.
/// </summary>
/// <remarks>
/// A capped campaign (<c>limits.maxParticipations</c>): once the participant's own rules grant, the handler takes a
/// place on the campaign's counter in the same transaction (<see cref="CampaignPlaces.TryTakeAsync"/>), and decides
/// again with <c>campaignFull</c> when there is none. The counter's row lock is taken last and held only for the
/// append and the commit; refusals and uncapped campaigns never touch it. A transaction that fails after taking a
/// place (a lost stream race, a failed commit) rolls the place back with everything else.
/// </remarks>
public static class ParticipationRequestedHandler
{
    public static async Task<(ParticipationDecision, Events)> Handle(
        ParticipationRequested command,
        [WriteAggregate(Required = false, LoadStyle = ConcurrencyStyle.Exclusive)] Participant? participant,
        IDocumentSession session,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(command);
        var outcome = ParticipationDecider.Decide(command, participant);
        if (outcome.Decision is ParticipationGranted && command.Rules.MaxParticipations is { } max
            && !await CampaignPlaces.TryTakeAsync(session, command.CampaignId, max, ct))
        {
            outcome = ParticipationDecider.Decide(command, participant, campaignFull: true);
        }

        var events = new Events();
        events.AddRange(outcome.Events);
        return (outcome.Decision, events);
    }
}

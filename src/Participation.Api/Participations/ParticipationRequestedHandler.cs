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
public static class ParticipationRequestedHandler
{
    public static (ParticipationDecision, Events) Handle(
        ParticipationRequested command,
        [WriteAggregate(Required = false, LoadStyle = ConcurrencyStyle.Exclusive)] Participant? participant)
    {
        var outcome = ParticipationDecider.Decide(command, participant);
        var events = new Events();
        events.AddRange(outcome.Events);
        return (outcome.Decision, events);
    }
}

using Participation.Domain.Participations;

namespace Participation.Api.Participations;

/// <summary>
/// Handles <see cref="ParticipationRequested"/> (Wolverine, <c>IMessageBus.InvokeAsync&lt;ParticipationDecision&gt;</c>):
/// the decision is made by the participation writer, which decides and commits the requests of many participants
/// together, each against its own stream with optimistic concurrency, and retries a batch that lost a race on a
/// stream (<see cref="ParticipationBatch"/>).
/// </summary>
public static class ParticipationRequestedHandler
{
    public static Task<ParticipationDecision> Handle(ParticipationRequested command, ParticipationWriter writer) =>
        writer.DecideAsync(command);
}

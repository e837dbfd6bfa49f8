using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;
using static Participation.Domain.Tests.Participations.DeciderSpecification;

namespace Participation.Domain.Tests.Participations;

/// <summary>
/// <c>limits.maxParticipations</c>: whether a place is left is an input of the decision (the handler takes a place
/// only once the participant's own rules granted, then decides again if there was none).
/// </summary>
public sealed class CampaignCapTests
{
    private static readonly CampaignRules Capped = new(3, TokenLimitPolicy.Allow, null) { MaxParticipations = 50 };

    [Fact]
    public void GivenAPlaceLeft_WhenRequested_ThenAccepted()
    {
        Given()
            .When(Request("jti:a", Capped), campaignFull: false)
            .Then<ParticipationGranted>(Accepted("jti:a", 1, 3));
    }

    [Fact]
    public void GivenNoPlaceLeft_WhenRequested_ThenCampaignFullRecordedWithNothingRemaining()
    {
        var refused = Given(Accepted("jti:a", 1, 3))
            .When(Request("jti:b", Capped), campaignFull: true)
            .Then<ParticipationRefused>(Rejected("jti:b", RejectionCodes.CampaignFull));

        refused.Code.ShouldBe(RejectionCodes.CampaignFull);
        refused.Remaining.ShouldBe(0);
        refused.RetryAfter.ShouldBeNull();
    }

    [Fact]
    public void GivenNoPlaceLeft_WhenAnAcceptedTokenIsReplayed_ThenStillAReplay()
    {
        Given(Accepted("jti:a", 1, 3))
            .When(Request("jti:a", Capped), campaignFull: true)
            .Then<ParticipationReplayed>();
    }

    [Fact]
    public void GivenNoPlaceLeftAndTheParticipantAtItsLimit_WhenRequested_ThenTheParticipantsOwnLimitIsTheAnswer()
    {
        Given(Accepted("jti:a", 1, 1))
            .When(Request("jti:b", Capped with { PerParticipant = 1 }), campaignFull: true)
            .Then<ParticipationRefused>(Rejected("jti:b", RejectionCodes.ParticipationLimitReached));
    }

    [Fact]
    public void GivenACampaignFullRefusalRecorded_WhenRetriedWhileFull_ThenNoNewEvent_AndWhenAPlaceIsBack_ThenAccepted()
    {
        var given = Given(Rejected("jti:a", RejectionCodes.CampaignFull));

        given.When(Request("jti:a", Capped), campaignFull: true).Then<ParticipationRefused>();
        given.When(Request("jti:a", Capped), campaignFull: false).Then<ParticipationGranted>(Accepted("jti:a", 1, 3));
    }
}

using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;
using static Participation.Domain.Tests.Participations.DeciderSpecification;

namespace Participation.Domain.Tests.Participations;

public sealed class RequestingParticipationTests
{
    private static readonly CampaignRules ThreePerParticipant = new(3, TokenLimitPolicy.Allow, null);

    [Fact]
    public void GivenNoHistory_WhenRequested_ThenTheFirstParticipationIsAccepted()
    {
        var granted = Given()
            .When(Request("jti:a", ThreePerParticipant))
            .Then<ParticipationGranted>(Accepted("jti:a", number: 1, limit: 3));

        granted.Number.ShouldBe(1);
        granted.Limit.ShouldBe(3);
        granted.Remaining.ShouldBe(2);
        granted.CanWin.ShouldBeTrue();
        granted.ParticipationId.ShouldBe(IdFor("jti:a"));
    }

    [Fact]
    public void GivenTwoAccepted_WhenRequestedWithLimitThree_ThenTheThirdIsAcceptedWithNothingLeft()
    {
        var granted = Given(Accepted("jti:a", 1, 3), Accepted("jti:b", 2, 3))
            .When(Request("jti:c", ThreePerParticipant))
            .Then<ParticipationGranted>(Accepted("jti:c", number: 3, limit: 3));

        granted.Remaining.ShouldBe(0);
    }

    [Fact]
    public void GivenTheLimitReached_WhenRequestedWithANewToken_ThenRefusedAndTheRefusalRecorded()
    {
        var refused = Given(Accepted("jti:a", 1, 1))
            .When(Request("jti:b"))
            .Then<ParticipationRefused>(Rejected("jti:b", RejectionCodes.ParticipationLimitReached));

        refused.Code.ShouldBe(RejectionCodes.ParticipationLimitReached);
        refused.Limit.ShouldBe(1);
        refused.Remaining.ShouldBe(0);
    }

    [Fact]
    public void GivenARefusalRecordedForAToken_WhenTheSameTokenIsRetried_ThenRefusedAgainWithoutANewEvent()
    {
        Given(Accepted("jti:a", 1, 1), Rejected("jti:b", RejectionCodes.ParticipationLimitReached))
            .When(Request("jti:b"))
            .Then<ParticipationRefused>();
    }

    [Fact]
    public void GivenARefusedToken_WhenTheCampaignLimitWasRaised_ThenTheSameTokenIsAccepted()
    {
        Given(Accepted("jti:a", 1, 1), Rejected("jti:b", RejectionCodes.ParticipationLimitReached))
            .When(Request("jti:b", new CampaignRules(2, TokenLimitPolicy.Allow, null)))
            .Then<ParticipationGranted>(Accepted("jti:b", number: 2, limit: 2));
    }

    [Fact]
    public void GivenMoreAcceptedThanTheLoweredLimit_WhenRequested_ThenRefusedWithNothingRemaining()
    {
        var refused = Given(Accepted("jti:a", 1, 3), Accepted("jti:b", 2, 3))
            .When(Request("jti:c", new CampaignRules(1, TokenLimitPolicy.Allow, null)))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.ParticipationLimitReached));

        refused.Remaining.ShouldBe(0);
    }

    [Fact]
    public void GivenTwoTokensWithSameIdentity_WhenEachIsDecided_ThenTheyCountSeparately()
    {
        // Tokens without jti are told apart by the hash of their signing input.
        Given(Accepted("sha256:aa", 1, 3))
            .When(Request("sha256:bb", ThreePerParticipant))
            .Then<ParticipationGranted>(Accepted("sha256:bb", number: 2, limit: 3));
    }
}

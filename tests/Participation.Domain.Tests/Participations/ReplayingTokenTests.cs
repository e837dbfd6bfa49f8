using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;
using static Participation.Domain.Tests.Participations.DeciderSpecification;

namespace Participation.Domain.Tests.Participations;

public sealed class ReplayingTokenTests
{
    [Fact]
    public void GivenAnAcceptedToken_WhenItIsReplayed_ThenTheOriginalParticipationIsReturnedAndNothingRecorded()
    {
        var replayed = Given(Accepted("jti:a", 1, 5))
            .When(Request("jti:a", new CampaignRules(5, TokenLimitPolicy.Allow, null), participationId: Guid.NewGuid()))
            .Then<ParticipationReplayed>();

        replayed.ParticipationId.ShouldBe(IdFor("jti:a"));
        replayed.Number.ShouldBe(1);
    }

    [Fact]
    public void GivenAnAcceptedTokenAndTheLimitReached_WhenItIsReplayed_ThenItIsAReplayNotALimit()
    {
        Given(Accepted("jti:a", 1, 2), Accepted("jti:b", 2, 2))
            .When(Request("jti:b", new CampaignRules(2, TokenLimitPolicy.Allow, null)))
            .Then<ParticipationReplayed>()
            .Number.ShouldBe(2);
    }

    [Fact]
    public void GivenAnAcceptedTokenAndANotAllowedReplay_WhenReplayed_ThenStillAReplay()
    {
        Given(Accepted("jti:a", 1, 2))
            .When(Request("jti:a", limit: new LimitClaim(null, false)))
            .Then<ParticipationReplayed>();
    }
}

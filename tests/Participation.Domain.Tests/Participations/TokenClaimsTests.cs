using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;
using static Participation.Domain.Tests.Participations.DeciderSpecification;

namespace Participation.Domain.Tests.Participations;

public sealed class TokenClaimsTests
{
    [Fact]
    public void GivenNoHistory_WhenTheTokenSaysCanPlayFalse_ThenTheParticipantIsNotAllowed()
    {
        var refused = Given()
            .When(Request("jti:a", limit: new LimitClaim(null, false)))
            .Then<ParticipationRefused>(Rejected("jti:a", RejectionCodes.ParticipantNotAllowed));

        refused.Code.ShouldBe(RejectionCodes.ParticipantNotAllowed);
        refused.Remaining.ShouldBe(0);
    }

    [Fact]
    public void GivenNoHistory_WhenTheTokenSaysCanPlayTrue_ThenAccepted()
    {
        Given()
            .When(Request("jti:a", limit: new LimitClaim(null, true)))
            .Then<ParticipationGranted>(Accepted("jti:a", 1, 1));
    }

    [Fact]
    public void GivenPolicyAllow_WhenTheTokenCarriesNb_ThenNbIsTheLimit()
    {
        var rules = new CampaignRules(1, TokenLimitPolicy.Allow, null);
        var granted = Given(Accepted("jti:a", 1, 5, tokenLimit: 5))
            .When(Request("jti:b", rules, limit: new LimitClaim(5, null)))
            .Then<ParticipationGranted>(Accepted("jti:b", number: 2, limit: 5, tokenLimit: 5));

        granted.Remaining.ShouldBe(3);
    }

    [Fact]
    public void GivenPolicyAllow_WhenTheTokenCarriesNbZero_ThenRefused()
    {
        Given()
            .When(Request("jti:a", new CampaignRules(3, TokenLimitPolicy.Allow, null), limit: new LimitClaim(0, null)))
            .Then<ParticipationRefused>(Rejected("jti:a", RejectionCodes.ParticipationLimitReached));
    }

    [Fact]
    public void GivenPolicyIgnore_WhenTheTokenCarriesNb_ThenTheCampaignLimitRules()
    {
        var rules = new CampaignRules(1, TokenLimitPolicy.Ignore, null);
        Given(Accepted("jti:a", 1, 1))
            .When(Request("jti:b", rules, limit: new LimitClaim(10, null)))
            .Then<ParticipationRefused>(Rejected("jti:b", RejectionCodes.ParticipationLimitReached))
            .Limit.ShouldBe(1);
    }

    [Fact]
    public void GivenPolicyCapped_WhenTheTokenAsksForMoreThanTheCap_ThenTheCapIsTheLimit()
    {
        var rules = new CampaignRules(1, TokenLimitPolicy.Capped, 3);
        Given(Accepted("jti:a", 1, 3, 10), Accepted("jti:b", 2, 3, 10), Accepted("jti:c", 3, 3, 10))
            .When(Request("jti:d", rules, limit: new LimitClaim(10, null)))
            .Then<ParticipationRefused>(Rejected("jti:d", RejectionCodes.ParticipationLimitReached))
            .Limit.ShouldBe(3);
    }

    [Fact]
    public void GivenPolicyCapped_WhenTheTokenAsksForLessThanTheCap_ThenTheTokenIsTheLimit()
    {
        var rules = new CampaignRules(1, TokenLimitPolicy.Capped, 3);
        Given()
            .When(Request("jti:a", rules, limit: new LimitClaim(2, null)))
            .Then<ParticipationGranted>(Accepted("jti:a", 1, limit: 2, tokenLimit: 2))
            .Remaining.ShouldBe(1);
    }

    [Fact]
    public void GivenPolicyCapped_WhenTheTokenHasNoNb_ThenTheCampaignLimitRules()
    {
        new CampaignRules(2, TokenLimitPolicy.Capped, 5).EffectiveLimit(null).ShouldBe(2);
    }

    [Fact]
    public void GivenNoHistory_WhenTheGiftSaysCannotWin_ThenAcceptedWithCanWinFalseAndTheGiftKept()
    {
        var gift = new GiftClaim("Bike", false);
        var granted = Given()
            .When(Request("jti:a", gift: gift))
            .Then<ParticipationGranted>(Accepted("jti:a", 1, 1, canWin: false, gift: gift));

        granted.CanWin.ShouldBeFalse();
        granted.Gift.ShouldBe(gift);
    }
}

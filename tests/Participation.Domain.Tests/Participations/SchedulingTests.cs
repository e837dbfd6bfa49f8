using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;
using static Participation.Domain.Tests.Participations.DeciderSpecification;

namespace Participation.Domain.Tests.Participations;

public sealed class SchedulingTests
{
    private static readonly CampaignRules Scheduled = new(3, TokenLimitPolicy.Allow, null)
    {
        StartsAt = Now.AddHours(1),
        EndsAt = Now.AddDays(7),
    };

    [Fact]
    public void GivenACampaignThatStartsLater_WhenRequested_ThenNotOpenWithTheWaitUntilTheStart()
    {
        var refused = Given()
            .When(Request("jti:a", Scheduled))
            .Then<ParticipationRefused>(Rejected("jti:a", RejectionCodes.CampaignNotOpen));

        refused.Code.ShouldBe(RejectionCodes.CampaignNotOpen);
        refused.RetryAfter.ShouldBe(TimeSpan.FromHours(1));
        refused.Limit.ShouldBe(3);
        refused.Remaining.ShouldBe(3);
    }

    [Fact]
    public void GivenTheStartInstant_WhenRequested_ThenAccepted()
    {
        Given()
            .When(Request("jti:a", Scheduled, at: Scheduled.StartsAt))
            .Then<ParticipationGranted>(Accepted("jti:a", 1, 3, at: Scheduled.StartsAt));
    }

    [Fact]
    public void GivenTheEndInstant_WhenRequested_ThenClosedWithNothingRemaining()
    {
        var end = Scheduled.EndsAt!.Value;
        Given()
            .When(Request("jti:a", Scheduled, at: end.AddTicks(-1)))
            .Then<ParticipationGranted>(Accepted("jti:a", 1, 3, at: end.AddTicks(-1)));

        var refused = Given()
            .When(Request("jti:a", Scheduled, at: end))
            .Then<ParticipationRefused>(Rejected("jti:a", RejectionCodes.CampaignClosed, at: end));

        refused.Remaining.ShouldBe(0);
        refused.RetryAfter.ShouldBeNull();
    }

    [Fact]
    public void GivenAClosedCampaign_WhenAnAcceptedTokenIsReplayed_ThenStillAReplay()
    {
        var acceptedAt = Scheduled.StartsAt!.Value.AddMinutes(1);
        Given(Accepted("jti:a", 1, 3, at: acceptedAt))
            .When(Request("jti:a", Scheduled, at: Scheduled.EndsAt!.Value.AddDays(1)))
            .Then<ParticipationReplayed>();
    }

    [Fact]
    public void GivenAClosedCampaign_WhenTheLimitIsAlsoReached_ThenClosedComesFirst()
    {
        Given(Accepted("jti:a", 1, 1, at: Now.AddDays(-2)))
            .When(Request("jti:b", new CampaignRules(1, TokenLimitPolicy.Allow, null) { EndsAt = Now.AddDays(-1) }))
            .Then<ParticipationRefused>(Rejected("jti:b", RejectionCodes.CampaignClosed));
    }

    [Fact]
    public void GivenANotOpenRefusalRecorded_WhenTheSameTokenComesAfterTheStart_ThenAccepted()
    {
        Given(Rejected("jti:a", RejectionCodes.CampaignNotOpen))
            .When(Request("jti:a", Scheduled, at: Scheduled.StartsAt!.Value.AddSeconds(1)))
            .Then<ParticipationGranted>(Accepted("jti:a", 1, 3, at: Scheduled.StartsAt!.Value.AddSeconds(1)));
    }

    [Fact]
    public void GivenANotOpenRefusalRecorded_WhenTheSameTokenIsRetriedTooEarly_ThenRefusedWithoutANewEvent()
    {
        Given(Rejected("jti:a", RejectionCodes.CampaignNotOpen))
            .When(Request("jti:a", Scheduled, at: Now.AddMinutes(30)))
            .Then<ParticipationRefused>()
            .RetryAfter.ShouldBe(TimeSpan.FromMinutes(30));
    }
}

using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;
using static Participation.Domain.Tests.Participations.DeciderSpecification;

namespace Participation.Domain.Tests.Participations;

/// <summary><c>limits.cooldownSeconds</c> between two accepted participations of one participant.</summary>
public sealed class CooldownTests
{
    private static readonly CampaignRules TenMinutes = new(10, TokenLimitPolicy.Allow, null) { CooldownSeconds = 600 };

    [Fact]
    public void GivenAnAcceptanceFourMinutesAgo_WhenRequested_ThenCooldownForSixMoreMinutes()
    {
        var refused = Given(Accepted("jti:a", 1, 10, at: Now.AddMinutes(-4)))
            .When(Request("jti:b", TenMinutes))
            .Then<ParticipationRefused>(Rejected("jti:b", RejectionCodes.CooldownActive));

        refused.Code.ShouldBe(RejectionCodes.CooldownActive);
        refused.RetryAfter.ShouldBe(TimeSpan.FromMinutes(6));
        refused.Remaining.ShouldBe(9);
    }

    [Fact]
    public void GivenTheCooldownJustOver_WhenRequested_ThenAccepted()
    {
        Given(Accepted("jti:a", 1, 10, at: Now.AddMinutes(-10)))
            .When(Request("jti:b", TenMinutes))
            .Then<ParticipationGranted>(Accepted("jti:b", 2, 10));
    }

    [Fact]
    public void GivenACooldownRefusalRecorded_WhenTheSameTokenComesBackAfterIt_ThenAccepted()
    {
        var given = Given(Accepted("jti:a", 1, 10, at: Now.AddMinutes(-4)), Rejected("jti:b", RejectionCodes.CooldownActive));

        given.When(Request("jti:b", TenMinutes)).Then<ParticipationRefused>();
        given.When(Request("jti:b", TenMinutes, at: Now.AddMinutes(6)))
            .Then<ParticipationGranted>(Accepted("jti:b", 2, 10, at: Now.AddMinutes(6)));
    }

    [Fact]
    public void GivenTheCooldownRemoved_WhenRequested_ThenAcceptedAtOnce()
    {
        Given(Accepted("jti:a", 1, 10, at: Now.AddSeconds(-1)))
            .When(Request("jti:b", TenMinutes with { CooldownSeconds = null }))
            .Then<ParticipationGranted>(Accepted("jti:b", 2, 10));
    }

    [Fact]
    public void GivenBothTheDailyLimitAndACooldownPastMidnight_WhenRequested_ThenTheLongerWaitIsTheAnswer()
    {
        // 23:00 UTC: the day ends in an hour, the 3-hour cooldown two hours after that.
        var late = new DateTimeOffset(2026, 11, 25, 23, 0, 0, TimeSpan.Zero);
        var rules = new CampaignRules(10, TokenLimitPolicy.Allow, null) { PerParticipantPerDay = 1, CooldownSeconds = 3 * 3600 };

        Given(Accepted("jti:a", 1, 10, at: late))
            .When(Request("jti:b", rules, at: late))
            .Then<ParticipationRefused>(Rejected("jti:b", RejectionCodes.CooldownActive, at: late))
            .RetryAfter.ShouldBe(TimeSpan.FromHours(3));

        // With a short cooldown the day's end is the longer wait.
        Given(Accepted("jti:a", 1, 10, at: late))
            .When(Request("jti:b", rules with { CooldownSeconds = 60 }, at: late))
            .Then<ParticipationRefused>(Rejected("jti:b", RejectionCodes.PeriodLimitReached, at: late))
            .RetryAfter.ShouldBe(TimeSpan.FromHours(1));
    }
}

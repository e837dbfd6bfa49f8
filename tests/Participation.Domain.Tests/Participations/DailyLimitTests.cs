using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;
using static Participation.Domain.Tests.Participations.DeciderSpecification;

namespace Participation.Domain.Tests.Participations;

/// <summary><c>limits.perParticipantPerDay</c>: calendar days in the campaign's time zone, DST changes included.</summary>
public sealed class DailyLimitTests
{
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");

    private static CampaignRules TwoPerDay(TimeZoneInfo? zone = null) =>
        new(10, TokenLimitPolicy.Allow, null) { PerParticipantPerDay = 2, TimeZone = zone ?? TimeZoneInfo.Utc };

    private static DateTimeOffset Utc(int month, int day, int hour, int minute = 0, int second = 0) =>
        new(2026, month, day, hour, minute, second, TimeSpan.Zero);

    [Fact]
    public void GivenOneAcceptedToday_WhenRequested_ThenAccepted()
    {
        Given(Accepted("jti:a", 1, 10, at: Utc(11, 25, 8)))
            .When(Request("jti:b", TwoPerDay(), at: Utc(11, 25, 9)))
            .Then<ParticipationGranted>(Accepted("jti:b", 2, 10, at: Utc(11, 25, 9)))
            .Remaining.ShouldBe(8);
    }

    [Fact]
    public void GivenTwoAcceptedToday_WhenRequested_ThenPeriodLimitUntilTheNextMidnight()
    {
        var refused = Given(Accepted("jti:a", 1, 10, at: Utc(11, 25, 8)), Accepted("jti:b", 2, 10, at: Utc(11, 25, 9)))
            .When(Request("jti:c", TwoPerDay(), at: Utc(11, 25, 22, 30)))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.PeriodLimitReached, at: Utc(11, 25, 22, 30)));

        refused.Code.ShouldBe(RejectionCodes.PeriodLimitReached);
        refused.RetryAfter.ShouldBe(TimeSpan.FromMinutes(90));
        refused.Limit.ShouldBe(10);
        refused.Remaining.ShouldBe(8);
    }

    [Fact]
    public void GivenTwoAcceptedJustBeforeLocalMidnight_WhenRequestedAtMidnight_ThenANewDayAccepts()
    {
        // Paris is UTC+1 in November: local midnight is 23:00 UTC.
        var given = Given(Accepted("jti:a", 1, 10, at: Utc(11, 25, 22, 0)), Accepted("jti:b", 2, 10, at: Utc(11, 25, 22, 59, 59)));

        given.When(Request("jti:c", TwoPerDay(Paris), at: Utc(11, 25, 22, 59, 59)))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.PeriodLimitReached, at: Utc(11, 25, 22, 59, 59)))
            .RetryAfter.ShouldBe(TimeSpan.FromSeconds(1));

        given.When(Request("jti:c", TwoPerDay(Paris), at: Utc(11, 25, 23)))
            .Then<ParticipationGranted>(Accepted("jti:c", 3, 10, at: Utc(11, 25, 23)));
    }

    [Fact]
    public void GivenTheSameInstants_WhenTheZoneIsUtc_ThenMidnightFallsElsewhere()
    {
        // 22:00 and 23:30 UTC are one day in UTC, two days in Paris.
        var given = Given(Accepted("jti:a", 1, 10, at: Utc(11, 25, 22)), Accepted("jti:b", 2, 10, at: Utc(11, 25, 23, 30)));

        given.When(Request("jti:c", TwoPerDay(), at: Utc(11, 25, 23, 45)))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.PeriodLimitReached, at: Utc(11, 25, 23, 45)));
        given.When(Request("jti:c", TwoPerDay(Paris), at: Utc(11, 25, 23, 45)))
            .Then<ParticipationGranted>(Accepted("jti:c", 3, 10, at: Utc(11, 25, 23, 45)));
    }

    [Fact]
    public void GivenTheDayClocksSpringForward_WhenTheLimitIsReached_ThenTheWaitIsToAMidnight23HoursAfterTheLast()
    {
        // 29 March 2026 in Paris lasts 23 hours: 00:00 CET (28 March 23:00 UTC) to 00:00 CEST (29 March 22:00 UTC).
        var given = Given(Accepted("jti:a", 1, 10, at: Utc(3, 28, 23, 0)), Accepted("jti:b", 2, 10, at: Utc(3, 29, 1, 30)));

        given.When(Request("jti:c", TwoPerDay(Paris), at: Utc(3, 29, 21, 0)))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.PeriodLimitReached, at: Utc(3, 29, 21, 0)))
            .RetryAfter.ShouldBe(TimeSpan.FromHours(1));

        given.When(Request("jti:c", TwoPerDay(Paris), at: Utc(3, 29, 22, 0)))
            .Then<ParticipationGranted>(Accepted("jti:c", 3, 10, at: Utc(3, 29, 22, 0)));
    }

    [Fact]
    public void GivenTheDayClocksFallBack_WhenTheLimitIsReached_ThenTheDayLasts25Hours()
    {
        // 25 October 2026 in Paris: 00:00 CEST (24 October 22:00 UTC) to 00:00 CET (25 October 23:00 UTC).
        var given = Given(Accepted("jti:a", 1, 10, at: Utc(10, 24, 22, 0)), Accepted("jti:b", 2, 10, at: Utc(10, 25, 0, 30)));

        given.When(Request("jti:c", TwoPerDay(Paris), at: Utc(10, 25, 22, 30)))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.PeriodLimitReached, at: Utc(10, 25, 22, 30)))
            .RetryAfter.ShouldBe(TimeSpan.FromMinutes(30));

        given.When(Request("jti:c", TwoPerDay(Paris), at: Utc(10, 25, 23, 0)))
            .Then<ParticipationGranted>(Accepted("jti:c", 3, 10, at: Utc(10, 25, 23, 0)));
    }

    [Fact]
    public void GivenAZoneWhoseMidnightIsSkipped_WhenTheLimitIsReached_ThenTheNextDayStartsAtOneInTheMorning()
    {
        // Santiago, 6 September 2026: 00:00 -04 jumps to 01:00 -03, which is 04:00 UTC.
        var santiago = TimeZoneInfo.FindSystemTimeZoneById("America/Santiago");
        Given(Accepted("jti:a", 1, 10, at: Utc(9, 5, 12)), Accepted("jti:b", 2, 10, at: Utc(9, 5, 13)))
            .When(Request("jti:c", TwoPerDay(santiago), at: Utc(9, 6, 0)))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.PeriodLimitReached, at: Utc(9, 6, 0)))
            .RetryAfter.ShouldBe(TimeSpan.FromHours(4));
    }

    [Fact]
    public void GivenADailyLimitLoweredBelowWhatWasUsedToday_WhenRequested_ThenRefusedUntilTomorrow()
    {
        Given(Accepted("jti:a", 1, 10, at: Utc(11, 25, 8)), Accepted("jti:b", 2, 10, at: Utc(11, 25, 9)))
            .When(Request("jti:c", new CampaignRules(10, TokenLimitPolicy.Allow, null) { PerParticipantPerDay = 1 }))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.PeriodLimitReached))
            .RetryAfter.ShouldBe(TimeSpan.FromHours(14));
    }

    [Fact]
    public void GivenTheOverallLimitAlsoReached_WhenRequested_ThenTheLastingReasonIsGiven()
    {
        Given(Accepted("jti:a", 1, 2, at: Utc(11, 25, 8)), Accepted("jti:b", 2, 2, at: Utc(11, 25, 9)))
            .When(Request("jti:c", new CampaignRules(2, TokenLimitPolicy.Allow, null) { PerParticipantPerDay = 2 }))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.ParticipationLimitReached))
            .RetryAfter.ShouldBeNull();
    }
}

using Participation.Domain.Campaigns;
using Shouldly;
using Xunit;

namespace Participation.Domain.Tests.Campaigns;

public sealed class CampaignCalendarTests
{
    [Theory]
    [InlineData("Europe/Paris", true)]
    [InlineData("America/Argentina/Buenos_Aires", true)]
    [InlineData("Etc/GMT+5", true)]
    [InlineData("UTC", true)]
    [InlineData("Romance Standard Time", false)]
    [InlineData("europe/paris", false)]
    [InlineData("utc", false)]
    [InlineData("Mars/Olympus_Mons", false)]
    [InlineData("../../etc/passwd", false)]
    [InlineData("", false)]
    public void OnlyIanaIdsAreTimeZones(string id, bool valid)
    {
        CampaignCalendar.TryFindIanaZone(id, out _).ShouldBe(valid);
    }

    [Theory]
    [InlineData("Europe/Paris", "2026-03-29", "2026-03-28T23:00:00Z")] // the 23-hour day
    [InlineData("Europe/Paris", "2026-03-30", "2026-03-29T22:00:00Z")]
    [InlineData("Europe/Paris", "2026-10-26", "2026-10-25T23:00:00Z")] // after the 25-hour day
    [InlineData("America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z")] // midnight skipped: the day starts at 01:00
    [InlineData("America/Havana", "2026-11-01", "2026-11-01T04:00:00Z")] // midnight twice: the first one
    [InlineData("America/Havana", "2026-03-08", "2026-03-08T05:00:00Z")] // midnight skipped
    public void TheDayStartsAtItsFirstInstant(string zone, string day, string expected)
    {
        var start = CampaignCalendar.StartOfDay(DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture), TimeZoneInfo.FindSystemTimeZoneById(zone));

        start.ShouldBe(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }
}

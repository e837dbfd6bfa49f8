namespace Participation.Domain.Campaigns;

/// <summary>
/// Calendar days in a campaign's time zone: what <c>limits.perParticipantPerDay</c> counts and when the next day starts.
/// Pure functions of an instant and a zone (DST rules come from the zone).
/// </summary>
public static class CampaignCalendar
{
    /// <summary>
    /// The zone of an IANA id, when the id is one: a Windows id, an abbreviation or a path is not, even where the
    /// platform would resolve it.
    /// </summary>
    public static bool TryFindIanaZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrEmpty(id) || id.Length > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '-' or '+')
            || id.Contains("..", StringComparison.Ordinal) || id.StartsWith('/'))
        {
            return false;
        }

        // The platform caches zones case-insensitively: "europe/paris" may resolve or not depending on what was looked
        // up before. Only the exact id is accepted, whatever the cache holds.
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(id, out var found) || !found.HasIanaId
            || !string.Equals(found.Id, id, StringComparison.Ordinal))
        {
            return false;
        }

        zone = found;
        return true;
    }

    /// <summary>The zone of a stored campaign; UTC when it has none (or the id is unknown on this machine).</summary>
    public static TimeZoneInfo ZoneOf(string? id) => TryFindIanaZone(id, out var zone) ? zone : TimeZoneInfo.Utc;

    /// <summary>The calendar day of <paramref name="at"/> in <paramref name="zone"/>.</summary>
    public static DateOnly LocalDay(DateTimeOffset at, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
    }

    /// <summary>
    /// The first instant of <paramref name="day"/> in <paramref name="zone"/>: local midnight, or, where a DST change
    /// skips midnight, the first local time after it; where midnight happens twice, the earlier one.
    /// </summary>
    public static DateTimeOffset StartOfDay(DateOnly day, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);

        // Every zone's transitions fall on a quarter hour.
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(15);
        }

        if (zone.IsAmbiguousTime(local))
        {
            var latestOffset = zone.GetAmbiguousTimeOffsets(local).Max();
            return new DateTimeOffset(local - latestOffset, TimeSpan.Zero);
        }

        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, zone), TimeSpan.Zero);
    }

    /// <summary>When the local day after the one of <paramref name="now"/> starts.</summary>
    public static DateTimeOffset NextDayStart(DateTimeOffset now, TimeZoneInfo zone) =>
        StartOfDay(LocalDay(now, zone).AddDays(1), zone);
}

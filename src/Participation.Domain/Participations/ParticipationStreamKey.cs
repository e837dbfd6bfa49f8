namespace Participation.Domain.Participations;

/// <summary>
/// The stream of one participant: <c>participation:{campaignId}:{sub}</c>.
/// Campaign ids match <c>[A-Za-z0-9_-]{1,64}</c> and so never contain a colon: the first colon after the prefix
/// ends the campaign id and everything after it is the sub, verbatim. Any sub (slashes, colons, unicode, 256 bytes)
/// therefore maps to exactly one stream, and one stream to exactly one (campaignId, sub).
/// </summary>
public static class ParticipationStreamKey
{
    public const string Prefix = "participation:";

    public static string For(string campaignId, string sub)
    {
        ArgumentException.ThrowIfNullOrEmpty(campaignId);
        ArgumentException.ThrowIfNullOrEmpty(sub);
        if (campaignId.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException("A campaign id never contains a colon.", nameof(campaignId));
        }

        return string.Concat(Prefix, campaignId, ":", sub);
    }

    /// <summary>What every stream key of the campaign's participants starts with (<c>participation:{campaignId}:</c>).</summary>
    public static string CampaignPrefix(string campaignId)
    {
        ArgumentException.ThrowIfNullOrEmpty(campaignId);
        return string.Concat(Prefix, campaignId, ":");
    }

    public static (string CampaignId, string Sub) Parse(string streamKey)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        if (!streamKey.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new FormatException("Not a participation stream key.");
        }

        var rest = streamKey.AsSpan(Prefix.Length);
        var colon = rest.IndexOf(':');
        if (colon <= 0 || colon == rest.Length - 1)
        {
            throw new FormatException("Not a participation stream key.");
        }

        return (rest[..colon].ToString(), rest[(colon + 1)..].ToString());
    }
}

using System.Security.Cryptography;
using System.Text;

namespace Participation.Domain.Participations;

/// <summary>
/// What erasure leaves of a participation event: the Marten masking rules (<c>AddMaskingRuleForProtectedInformation</c>)
/// registered by <see cref="MartenConfiguration"/>. Personal data (<c>custom</c>, <c>form</c>, <c>optin</c>, the gift's
/// label) and the token id are removed; the replay key is replaced by a keyed one-way hash of it, so the same token
/// is still recognised (409, never a second acceptance) while the stored value names nothing the partner issued.
/// Masking twice changes nothing more.
/// </summary>
public static class PersonalDataMasking
{
    public const string ErasedPrefix = "erased:";

    public static bool IsErased(string replayKey) => replayKey.StartsWith(ErasedPrefix, StringComparison.Ordinal);

    /// <summary>
    /// <c>erased:{hex SHA-256(streamKey LF replayKey)}</c>: the stream key salts the hash, so the value differs between
    /// participants and campaigns for one token id and cannot be looked up across streams.
    /// </summary>
    public static string ErasedReplayKey(string streamKey, string replayKey)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        ArgumentNullException.ThrowIfNull(replayKey);
        if (IsErased(replayKey))
        {
            return replayKey;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Concat(streamKey, "\n", replayKey)));
        return string.Concat(ErasedPrefix, Convert.ToHexStringLower(hash));
    }

    public static ParticipationAccepted Mask(ParticipationAccepted accepted)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        return accepted with
        {
            ReplayKey = ErasedReplayKey(ParticipationStreamKey.For(accepted.CampaignId, accepted.Sub), accepted.ReplayKey),
            Jti = null,
            Gift = accepted.Gift is null ? null : accepted.Gift with { Label = null },
            PersonalData = null,
        };
    }

    public static ParticipationRejected Mask(ParticipationRejected rejected)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        return rejected with
        {
            ReplayKey = ErasedReplayKey(ParticipationStreamKey.For(rejected.CampaignId, rejected.Sub), rejected.ReplayKey),
            Jti = null,
        };
    }
}

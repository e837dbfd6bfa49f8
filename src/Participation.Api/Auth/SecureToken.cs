using Participation.Domain.Participations;

namespace Participation.Api.Auth;

/// <summary>
/// A verified secure token: what the service trusts once the signature and every claim rule passed.
/// Never holds the raw token.
/// </summary>
/// <param name="Sub">The partner's opaque user id.</param>
/// <param name="CampaignId">The campaign claim in its decimal/string form.</param>
/// <param name="Jti">The token id, when the token has one.</param>
/// <param name="ReplayKey"><c>jti:{jti}</c>, or <c>sha256:{hex of SHA-256(signing input)}</c> without a jti.</param>
public sealed record SecureToken(
    string Sub,
    string CampaignId,
    string? Jti,
    string ReplayKey,
    DateTimeOffset? IssuedAt,
    DateTimeOffset? ExpiresAt,
    LimitClaim? Limit,
    GiftClaim? Gift,
    PersonalData PersonalData);

/// <summary>Why a token was refused: one of <see cref="TokenErrorCodes"/> and a human sentence that never quotes the token.</summary>
public sealed record TokenError(string Code, string Detail);

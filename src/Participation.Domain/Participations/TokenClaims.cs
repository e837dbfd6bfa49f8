using System.Text.Json;

namespace Participation.Domain.Participations;

/// <summary>The token's optional <c>limit</c> claim: <c>{ "nb": int &gt;= 0, "canPlay": bool }</c>.</summary>
public sealed record LimitClaim(int? Nb, bool? CanPlay);

/// <summary>The token's optional <c>gift</c> claim: <c>{ "label": string, "cw": bool }</c>.</summary>
public sealed record GiftClaim(string? Label, bool? CanWin);

/// <summary>
/// The personal data a token may carry (<c>custom</c>, <c>form</c>, <c>optin</c>), kept verbatim on the accepted event.
/// Each is a JSON object or absent.
/// </summary>
public sealed record PersonalData(JsonElement? Custom, JsonElement? Form, JsonElement? Optin)
{
    public static readonly PersonalData None = new(null, null, null);
}

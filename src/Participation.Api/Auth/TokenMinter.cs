using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Participation.Api.Auth;

/// <summary>
/// Mints HMAC secure tokens the way a partner would (dev demo seeding, the <c>token mint</c> command).
/// Only the given claims are written: no default <c>iat</c>/<c>nbf</c>/<c>exp</c>.
/// </summary>
public static class TokenMinter
{
    private static readonly JsonWebTokenHandler Handler = new()
    {
        SetDefaultTimesOnTokenCreation = false,
        MapInboundClaims = false,
    };

    /// <summary>
    /// An HS256/HS384/HS512 token signed with the UTF-8 bytes of <paramref name="secret"/>, which must be at least as
    /// long as the hash (32/48/64 bytes), as the validator requires. A non-null <paramref name="kid"/> goes in the header.
    /// Claim values may be strings, numbers, booleans, <see cref="JsonElement"/>s or any object System.Text.Json
    /// serialises (dictionaries, anonymous objects, arrays); null values are left out.
    /// </summary>
    public static string MintHmac(string secret, string algorithm, string? kid, IReadOnlyDictionary<string, object?> claims)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(claims);
        if (!JwsAlgorithms.TryParse(algorithm, out var alg) || JwsAlgorithms.Family(alg) != KeyFamily.Hmac)
        {
            throw new ArgumentException("The algorithm must be HS256, HS384 or HS512.", nameof(algorithm));
        }

        var secretBytes = Encoding.UTF8.GetBytes(secret);
        if (secretBytes.Length < JwsAlgorithms.MinimumHmacBytes(alg))
        {
            throw new ArgumentException(
                $"The secret must be at least {JwsAlgorithms.MinimumHmacBytes(alg)} bytes for {algorithm}.", nameof(secret));
        }

        var values = new Dictionary<string, object>(claims.Count, StringComparer.Ordinal);
        foreach (var (name, value) in claims)
        {
            if (value is not null)
            {
                values[name] = ToWritable(value);
            }
        }

        var key = new SymmetricSecurityKey(secretBytes) { KeyId = kid };
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = values,
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }

    /// <summary>IdentityModel writes primitives and JsonElement; anything else goes through System.Text.Json.</summary>
    private static object ToWritable(object value) => value switch
    {
        string or bool or int or long or double or decimal or JsonElement => value,
        _ => JsonSerializer.SerializeToElement(value, value.GetType()),
    };
}

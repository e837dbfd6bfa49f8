using System.Text.Json;

namespace Participation.Api.Auth;

/// <summary>The twelve JWS algorithms a secure token may use (DESIGN.md), in a fixed order.</summary>
internal enum JwsAlgorithm
{
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
}

/// <summary>The kind of configured key an algorithm verifies with.</summary>
internal enum KeyFamily
{
    Hmac,
    Rsa,
    EcP256,
    EcP384,
    EcP521,
}

internal static class JwsAlgorithms
{
    public const int Count = 12;

    private static readonly string[] Names =
    [
        "HS256", "HS384", "HS512",
        "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512",
    ];

    private static readonly byte[][] Utf8Names = [.. Names.Select(n => System.Text.Encoding.ASCII.GetBytes(n))];

    public static string Name(JwsAlgorithm alg) => Names[(int)alg];

    /// <summary>Exact, case-sensitive match of a configured name.</summary>
    public static bool TryParse(string? name, out JwsAlgorithm alg)
    {
        var index = Array.IndexOf(Names, name);
        alg = (JwsAlgorithm)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>Exact, case-sensitive match of the JSON string the reader is on, without allocating.</summary>
    public static bool TryMatch(ref Utf8JsonReader reader, out JwsAlgorithm alg)
    {
        for (var i = 0; i < Utf8Names.Length; i++)
        {
            if (reader.ValueTextEquals(Utf8Names[i]))
            {
                alg = (JwsAlgorithm)i;
                return true;
            }
        }

        alg = default;
        return false;
    }

    public static KeyFamily Family(JwsAlgorithm alg) => alg switch
    {
        <= JwsAlgorithm.HS512 => KeyFamily.Hmac,
        <= JwsAlgorithm.PS512 => KeyFamily.Rsa,
        JwsAlgorithm.ES256 => KeyFamily.EcP256,
        JwsAlgorithm.ES384 => KeyFamily.EcP384,
        _ => KeyFamily.EcP521,
    };

    /// <summary>The shortest HMAC secret usable with an HS algorithm: the hash size (32, 48 or 64 bytes).</summary>
    public static int MinimumHmacBytes(JwsAlgorithm alg) => alg switch
    {
        JwsAlgorithm.HS256 => 32,
        JwsAlgorithm.HS384 => 48,
        _ => 64,
    };
}

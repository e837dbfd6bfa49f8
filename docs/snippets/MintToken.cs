// Mint a Participation secure token (HS256) with the .NET base library only (.NET 9 or later).
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Partner.Participation;

public static class SecureTokens
{
    public static string Mint(string secret, string sub, string campaignId, TimeSpan lifetime, object? limit = null, object? gift = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new Dictionary<string, object> { ["alg"] = "HS256", ["typ"] = "JWT" };
        var payload = new Dictionary<string, object>
        {
            ["sub"] = sub,
            ["campaignId"] = campaignId,
            ["jti"] = Guid.NewGuid().ToString(),
            ["iat"] = now,
            ["exp"] = now + (long)lifetime.TotalSeconds,
        };
        if (limit is not null) payload["limit"] = limit; // e.g. new { nb = 5 } or new { canPlay = false }
        if (gift is not null) payload["gift"] = gift; // e.g. new { label = "Coffee mug", cw = true }

        var signingInput = Encode(header) + "." + Encode(payload);
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private static string Encode(object part) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(part));
}

using System.Security.Cryptography;
using System.Text;

namespace Participation.Api.ApiKeys;

/// <summary>An account's API key as stored: its public id and the SHA-256 of the whole key, never the key itself.</summary>
public sealed record ApiKey
{
    /// <summary>The random public part of the key (after <c>pk_</c>), used to find it.</summary>
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required string Hash { get; init; }
    public required string CreatedBy { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? LastUsedAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }

    public string Prefix => ApiKeyFormat.Prefix + Id;
}

/// <summary>
/// <c>pk_{id}_{secret}</c>: <c>pk_</c> makes keys recognisable (secret scanners, logs to purge), the 12-character id
/// finds the stored hash, the secret is 256 random bits. Keys are high-entropy, so a plain SHA-256 is the right hash.
/// </summary>
public static class ApiKeyFormat
{
    public const string Prefix = "pk_";
    private const string IdAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";

    public static (string Id, string Key) New()
    {
        var id = RandomNumberGenerator.GetString(IdAlphabet, 12);
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (id, $"{Prefix}{id}_{secret}");
    }

    /// <summary>The id part of a presented key, or null when it does not have the shape of one.</summary>
    public static string? IdOf(string presented)
    {
        if (presented is null || presented.Length > 128 || !presented.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = presented.AsSpan(Prefix.Length);
        var separator = rest.IndexOf('_');
        return separator == 12 ? rest[..separator].ToString() : null;
    }

    public static string HashOf(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}

namespace Participation.Api.Audit;

/// <summary>
/// Changes to an account's configuration, one stream per account (<c>audit:{accountId}</c>). <c>By</c> is the public
/// prefix of the key that made the change (<c>admin</c> for the admin key). No event ever holds a secret value.
/// </summary>
public static class AuditStream
{
    public static string For(string accountId) => "audit:" + accountId;
}

public sealed record AccountSaved(string AccountId, string Name, bool Created, string By, DateTimeOffset At);

/// <summary>Token settings changed: what a reviewer needs (method, algorithms, key ids, rules), never a secret.</summary>
public sealed record SecureTokenConfigured(
    string AccountId,
    string Method,
    IReadOnlyList<string> Algorithms,
    IReadOnlyList<string> KeyIds,
    string? Issuer,
    string? Audience,
    int ClockSkewSeconds,
    bool RequireExpiration,
    int? MaxTokenAgeSeconds,
    string Encryption,
    long Version,
    string By,
    DateTimeOffset At);

public sealed record ApiKeyCreated(string AccountId, string Prefix, string By, DateTimeOffset At);

public sealed record ApiKeyRevoked(string AccountId, string Prefix, string By, DateTimeOffset At);

/// <summary>A campaign created or changed, with its whole configuration as saved.</summary>
public sealed record CampaignSaved(string AccountId, string CampaignId, bool Created, object Configuration, string By, DateTimeOffset At);

namespace Participation.Api.Accounts;

/// <summary>A partner account: its name and how its secure tokens are verified.</summary>
public sealed record Account
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public SecureTokenSettings? SecureToken { get; init; }

    /// <summary>Incremented on every change of <see cref="SecureToken"/>: caches of key material are keyed by it.</summary>
    public long SettingsVersion { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
}

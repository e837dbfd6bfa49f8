using System.Collections.Concurrent;
using System.Security.Cryptography;
using Participation.Api.Hosting;

namespace Participation.Api.Accounts;

/// <summary>
/// HMAC secrets are stored protected (<see cref="SecretProtector"/>) in the account document and revealed in memory
/// only to verify tokens, once per account settings version.
/// </summary>
public sealed class AccountSecrets(SecretProtector protector)
{
    private readonly ConcurrentDictionary<string, (long Version, SecureTokenSettings Settings)> _revealed = new(StringComparer.Ordinal);

    /// <summary>The settings as they are stored: every secret value protected.</summary>
    public SecureTokenSettings Protect(SecureTokenSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings with
        {
            Secrets = [.. settings.Secrets.Select(s => SecretProtector.IsProtected(s.Value) ? s : s with { Value = protector.Protect(s.Value) })],
        };
    }

    /// <summary>The account's settings with plaintext secrets, for the token validator. Null when it has none.</summary>
    public SecureTokenSettings? Reveal(Account account)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (account.SecureToken is null)
        {
            return null;
        }

        if (_revealed.TryGetValue(account.Id, out var cached) && cached.Version == account.SettingsVersion)
        {
            return cached.Settings;
        }

        SecureTokenSettings settings;
        try
        {
            settings = account.SecureToken with
            {
                Secrets = [.. account.SecureToken.Secrets.Select(s => s with { Value = protector.Unprotect(s.Value) })],
            };
        }
        catch (CryptographicException ex)
        {
            throw new SecretsUnavailableException(account.Id, ex);
        }
        _revealed.AddOrUpdate(
            account.Id,
            (account.SettingsVersion, settings),
            (_, existing) => existing.Version > account.SettingsVersion ? existing : (account.SettingsVersion, settings));
        return settings;
    }
}

/// <summary>
/// Stored secrets that no configured master key opens: a configuration fault of the service (answered 503), never a
/// reason to accept or refuse a token.
/// </summary>
public sealed class SecretsUnavailableException(string accountId, Exception inner)
    : Exception($"The secrets of account '{accountId}' cannot be decrypted: is Participation:MasterKey (or PreviousMasterKeys) the key that sealed them?", inner);

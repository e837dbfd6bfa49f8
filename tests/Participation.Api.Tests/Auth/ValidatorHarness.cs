using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

/// <summary>A validator on a fake clock, fresh settings versions per call, and a log that records what was written.</summary>
internal sealed class ValidatorHarness
{
    public static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private long version;

    public ValidatorHarness(IDecryptionKeySource? decryptionKeys = null)
    {
        Validator = new SecureTokenValidator(Time, Log, decryptionKeys: decryptionKeys);
    }

    public FakeTimeProvider Time { get; } = new(Now);

    public RecordingLogger<SecureTokenValidator> Log { get; } = new();

    public SecureTokenValidator Validator { get; }

    /// <summary>Validates with a new settings version each call, so the settings given are the ones used.</summary>
    public ValueTask<(SecureToken? Token, TokenError? Error)> Validate(string token, SecureTokenSettings settings) =>
        Validator.ValidateAsync(token, "acct-1", Interlocked.Increment(ref version), settings, TestContext.Current.CancellationToken);

    /// <summary>Validates with an explicit settings version (key ring caching).</summary>
    public ValueTask<(SecureToken? Token, TokenError? Error)> Validate(string token, SecureTokenSettings settings, long settingsVersion) =>
        Validator.ValidateAsync(token, "acct-cached", settingsVersion, settings, TestContext.Current.CancellationToken);

    /// <summary>An HMAC account with <see cref="TestTokens.Secret"/> and all HS algorithms, or the given ones.</summary>
    public static SecureTokenSettings Hmac(params string[] algorithms) => new()
    {
        Method = TokenMethod.Hmac,
        Algorithms = algorithms.Length == 0 ? ["HS256", "HS384", "HS512"] : algorithms,
        Secrets = [new SharedSecret(null, TestTokens.Secret)],
    };

    /// <summary>A public-key account with the shared RSA and EC test keys (kids rsa, ec256, ec384, ec521) and all RS/PS/ES algorithms.</summary>
    public static SecureTokenSettings PublicKeys() => new()
    {
        Method = TokenMethod.PublicKey,
        Algorithms = [.. TestTokens.AllAlgorithms.Where(a => !a.StartsWith("HS", StringComparison.Ordinal))],
        PublicKeys =
        [
            new PublicKeyEntry("rsa", TestTokens.Rsa.PublicKeyPem),
            new PublicKeyEntry("ec256", TestTokens.EcP256.PublicKeyPem),
            new PublicKeyEntry("ec384", TestTokens.EcP384.PublicKeyPem),
            new PublicKeyEntry("ec521", TestTokens.EcP521.PublicKeyPem),
        ],
    };

    /// <summary>Claims valid at <see cref="Now"/>: sub, campaignId, iat now, exp in 5 minutes.</summary>
    public static Dictionary<string, object?> ValidClaims(string sub = "alice", object? campaignId = null) =>
        TestTokens.Claims(sub, campaignId ?? "camp-1", iat: Now, exp: Now.AddMinutes(5));

    /// <summary>A payload JSON with the given members added to a valid sub/campaignId (raw JSON fragment, no braces).</summary>
    public static string Payload(string extraMembers = "") =>
        extraMembers.Length == 0 ? """{"sub":"alice","campaignId":"camp-1"}""" : $$"""{"sub":"alice","campaignId":"camp-1",{{extraMembers}}}""";
}

internal static class ValidationResultExtensions
{
    public static SecureToken ShouldBeAccepted(this (SecureToken? Token, TokenError? Error) result)
    {
        result.Error.ShouldBeNull($"refused with {result.Error?.Code}: {result.Error?.Detail}");
        result.Token.ShouldNotBeNull();
        return result.Token;
    }

    public static TokenError ShouldBeRefused(this (SecureToken? Token, TokenError? Error) result, string code, string? because = null)
    {
        result.Token.ShouldBeNull(because);
        result.Error.ShouldNotBeNull(because);
        result.Error.Code.ShouldBe(code, because ?? result.Error.Detail);
        return result.Error;
    }
}

/// <summary>Records every log entry (level and formatted message).</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, string Message)> entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (entries)
            {
                return [.. entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (entries)
        {
            entries.Add((logLevel, formatter(state, exception) + exception));
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Participation.Api.Accounts;
using Participation.Api.Hosting;

namespace Participation.Api.Auth;

/// <summary>
/// The verification keys of accounts using <c>method: jwks</c>, fetched from the partner's JWKS URI and cached per
/// account in this process.
/// <list type="bullet">
/// <item>First use: the request waits for the fetch (one fetch however many requests wait: single-flight).</item>
/// <item>Cached keys are used until their lifetime ends (<c>Cache-Control: max-age</c> clamped to
/// [<see cref="JwksOptions.MinCacheDuration"/>, <see cref="JwksOptions.MaxCacheDuration"/>]); then they are still
/// used while one background fetch replaces them.</item>
/// <item>A token naming a <c>kid</c> the cache lacks triggers at most one refetch per
/// <see cref="JwksOptions.RefreshCooldown"/>, which the tokens arriving meanwhile share and wait for; other tokens
/// with unknown kids within the cooldown are refused at once (<c>key_not_found</c>).</item>
/// <item>A failed fetch (network, timeout, status, size, not a JWK Set, no usable key) changes nothing: the last
/// known good keys stay in use; the failure is logged and counted, and the next attempt waits a cooldown.</item>
/// </list>
/// </summary>
public sealed partial class JwksKeySource
{
    private readonly Func<Uri, CancellationToken, Task<JwksFetch>> fetch;
    private readonly JwksOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Counter<long>? fetches;
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);

    public JwksKeySource(
        IHttpClientFactory httpClientFactory,
        Microsoft.Extensions.Options.IOptions<JwksOptions> options,
        TimeProvider time,
        ILogger<JwksKeySource> logger,
        IMeterFactory meterFactory)
        : this(
            (uri, ct) => new JwksFetcher(httpClientFactory.CreateClient(JwksFetcher.HttpClientName), options.Value).FetchAsync(uri, ct),
            options.Value,
            time,
            logger,
            meterFactory)
    {
    }

    internal JwksKeySource(
        Func<Uri, CancellationToken, Task<JwksFetch>> fetch, JwksOptions options, TimeProvider time, ILogger logger, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        this.fetch = fetch;
        this.options = options;
        this.time = time;
        this.logger = logger;
        fetches = meterFactory?.Create(ParticipationMetrics.MeterName).CreateCounter<long>(
            "participation.jwks.fetches", unit: "{fetch}",
            description: "Fetches of partner JWKS endpoints, by outcome (success, failure) and failure reason.");
    }

    /// <summary>The name of the counter of fetches (tags <c>outcome</c> and <c>reason</c>), in meter <c>Participation</c>.</summary>
    public const string FetchCounterName = "participation.jwks.fetches";

    /// <summary>
    /// The account's JWKS keys as a ring, fetching them first if none are known yet (and no failed fetch is cooling
    /// down). Never throws for an endpoint failure: without any known key the ring is empty.
    /// </summary>
    internal async ValueTask<SecureTokenKeyRing> GetRingAsync(string accountId, long settingsVersion, SecureTokenSettings settings, CancellationToken ct)
    {
        var entry = EntryFor(accountId, settings);
        if (entry is null)
        {
            return SecureTokenKeyRing.ForJwks(settingsVersion, [], settings);
        }

        Task? pending;
        bool wait;
        lock (entry)
        {
            var now = time.GetUtcNow();
            wait = entry.Keys is null;
            pending = now >= entry.RefreshAfter || entry.InFlight is not null ? StartFetch(entry, accountId) : null;
        }

        if (wait && pending is not null)
        {
            await WaitAsync(pending, ct).ConfigureAwait(false);
        }

        return entry.RingFor(settingsVersion, settings);
    }

    /// <summary>
    /// A token named a kid the ring lacks: refetch now unless a refetch happened within the cooldown (or a failed
    /// fetch is cooling down), joining the fetch already running if any; then the ring as it is.
    /// </summary>
    internal async ValueTask<SecureTokenKeyRing> RefreshForUnknownKidAsync(string accountId, long settingsVersion, SecureTokenSettings settings, CancellationToken ct)
    {
        var entry = EntryFor(accountId, settings);
        if (entry is null)
        {
            return SecureTokenKeyRing.ForJwks(settingsVersion, [], settings);
        }

        Task? pending = null;
        lock (entry)
        {
            var now = time.GetUtcNow();
            if (entry.InFlight is not null)
            {
                pending = entry.InFlight;
            }
            else if (now >= entry.LastForcedAt + options.RefreshCooldown && now >= entry.LastFailureAt + options.RefreshCooldown)
            {
                entry.LastForcedAt = now;
                pending = StartFetch(entry, accountId);
            }
        }

        if (pending is not null)
        {
            await WaitAsync(pending, ct).ConfigureAwait(false);
        }

        return entry.RingFor(settingsVersion, settings);
    }

    private Entry? EntryFor(string accountId, SecureTokenSettings settings)
    {
        if (!Uri.TryCreate(settings.JwksUri, UriKind.Absolute, out var uri))
        {
            return null;
        }

        // One entry per account; a new URI starts afresh (keys of the old URI are never used for it).
        return entries.AddOrUpdate(
            accountId,
            static (_, u) => new Entry(u),
            static (_, existing, u) => existing.Uri == u ? existing : new Entry(u),
            uri);
    }

    /// <summary>Starts the entry's fetch unless one is running (caller holds the entry's lock); returns the running one.</summary>
    private Task StartFetch(Entry entry, string accountId) =>
        entry.InFlight ??= Task.Run(() => RunFetchAsync(entry, accountId));

    private static async Task WaitAsync(Task pending, CancellationToken ct)
    {
        // The fetch is shared: a request that gives up stops waiting, never stops the fetch.
#pragma warning disable VSTHRD003 // The task is this class's own, started with Task.Run; no synchronization context to deadlock.
        await pending.WaitAsync(ct).ConfigureAwait(false);
#pragma warning restore VSTHRD003
    }

    private async Task RunFetchAsync(Entry entry, string accountId)
    {
        var started = Stopwatch.GetTimestamp();
        string? failure;
        List<TokenKey> keys = [];
        var ignored = 0;
        TimeSpan? maxAge = null;
        try
        {
            var result = await fetch(entry.Uri, CancellationToken.None).ConfigureAwait(false);
            failure = result.Failure;
            maxAge = result.MaxAge;
            if (failure is null && !JwksDocument.TryRead(result.Body, options.MaxKeys, out keys, out ignored, out failure))
            {
                failure ??= "invalid";
            }

            if (failure is null && keys.Count == 0)
            {
                failure = "no_usable_key";
            }
        }
#pragma warning disable CA1031 // Whatever goes wrong, the last known good keys stay; the failure is logged and counted.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = "error_" + ex.GetType().Name;
        }

        var now = time.GetUtcNow();
        lock (entry)
        {
            if (failure is null)
            {
                var lifetime = maxAge ?? options.DefaultCacheDuration;
                lifetime = lifetime < options.MinCacheDuration ? options.MinCacheDuration
                    : lifetime > options.MaxCacheDuration ? options.MaxCacheDuration
                    : lifetime;
                entry.Keys = [.. keys];
                entry.Generation++;
                entry.RefreshAfter = now + lifetime;
                entry.LastFailureAt = DateTimeOffset.MinValue;
            }
            else
            {
                entry.RefreshAfter = now + options.RefreshCooldown;
                entry.LastFailureAt = now;
            }

            entry.InFlight = null;
        }

        var elapsedMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (failure is null)
        {
            fetches?.Add(1, new TagList { { "outcome", "success" }, { "reason", "ok" } });
            LogFetched(logger, accountId, entry.Uri.Host, keys.Count, ignored, elapsedMs);
        }
        else
        {
            fetches?.Add(1, new TagList { { "outcome", "failure" }, { "reason", failure } });
            LogFetchFailed(logger, accountId, entry.Uri.Host, failure, entry.Keys?.Length ?? 0, elapsedMs);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "JWKS of account {AccountId} fetched from {Host}: {KeyCount} usable keys, {IgnoredCount} ignored ({ElapsedMs} ms)")]
    private static partial void LogFetched(ILogger logger, string accountId, string host, int keyCount, int ignoredCount, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "JWKS of account {AccountId} could not be fetched from {Host} ({Reason}, {ElapsedMs} ms): the {KnownKeyCount} last known good keys stay in use")]
    private static partial void LogFetchFailed(ILogger logger, string accountId, string host, string reason, int knownKeyCount, long elapsedMs);

    /// <summary>One account's JWKS state. Mutable fields are read and written under <c>lock (entry)</c>.</summary>
    private sealed class Entry(Uri uri)
    {
        private RingCache? ring;

        public Uri Uri { get; } = uri;

        /// <summary>The last known good keys; null until a fetch succeeded.</summary>
        public TokenKey[]? Keys { get; set; }

        public long Generation { get; set; }

        public DateTimeOffset RefreshAfter { get; set; } = DateTimeOffset.MinValue;

        public DateTimeOffset LastForcedAt { get; set; } = DateTimeOffset.MinValue;

        public DateTimeOffset LastFailureAt { get; set; } = DateTimeOffset.MinValue;

        public Task? InFlight { get; set; }

        /// <summary>The keys as a ring for these settings, built once per (settings version, keys generation).</summary>
        public SecureTokenKeyRing RingFor(long settingsVersion, SecureTokenSettings settings)
        {
            TokenKey[] keys;
            long generation;
            lock (this)
            {
                if (ring is { } cached && cached.SettingsVersion == settingsVersion && cached.Generation == Generation)
                {
                    return cached.Ring;
                }

                keys = Keys ?? [];
                generation = Generation;
            }

            var built = SecureTokenKeyRing.ForJwks(settingsVersion, keys, settings);
            lock (this)
            {
                if (generation == Generation && (ring is null || ring.SettingsVersion <= settingsVersion))
                {
                    ring = new RingCache(settingsVersion, generation, built);
                }
            }

            return built;
        }

        private sealed record RingCache(long SettingsVersion, long Generation, SecureTokenKeyRing Ring);
    }
}

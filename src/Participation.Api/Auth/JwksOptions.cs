namespace Participation.Api.Auth;

/// <summary>
/// How partner JWKS endpoints are fetched and cached (configuration section <c>Participation:Jwks</c>).
/// Times are <see cref="TimeSpan"/>s (<c>"00:01:00"</c>). Defaults suit production; tests shorten them.
/// </summary>
public sealed class JwksOptions
{
    public const string Section = "Participation:Jwks";

    /// <summary>A token naming an unknown <c>kid</c> triggers at most one refetch per cooldown, per account.</summary>
    public TimeSpan RefreshCooldown { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long fetched keys are used before a background refresh, when the endpoint sends no <c>max-age</c>.</summary>
    public TimeSpan DefaultCacheDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The shortest cache lifetime, whatever <c>Cache-Control</c> says (<c>no-cache</c>, <c>max-age=0</c>...).</summary>
    public TimeSpan MinCacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest cache lifetime: a key the partner removed stops being accepted within this bound.</summary>
    public TimeSpan MaxCacheDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Time to open the TCP (and TLS) connection.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Time for the whole fetch: connection, headers and body.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A larger document is refused (and the last known good keys kept).</summary>
    public int MaxResponseBytes { get; set; } = 256 * 1024;

    /// <summary>A document with more keys than this is refused.</summary>
    public int MaxKeys { get; set; } = 100;

    /// <summary>Accept <c>http://</c> JWKS URIs. Null: only in the Development and Testing environments.</summary>
    public bool? AllowHttp { get; set; }

    /// <summary>
    /// Connect to loopback, private, link-local and other non-public addresses. Null: only in the Development and
    /// Testing environments. Off in production, so a JWKS URI cannot be used to reach the service's own network.
    /// </summary>
    public bool? AllowPrivateNetworks { get; set; }
}

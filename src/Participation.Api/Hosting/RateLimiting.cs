using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Participation.Api.Hosting;

/// <summary>
/// <c>Participation:RateLimit</c>: per-client rate limiting of the participation endpoint. Off unless
/// <see cref="PermitsPerSecond"/> is set above zero.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "Participation:RateLimit";

    /// <summary>Participation requests a client may make per second, on average. 0 (the default): no limit.</summary>
    public int PermitsPerSecond { get; set; }

    /// <summary>Requests a client may make at once after being idle; defaults to <see cref="PermitsPerSecond"/>.</summary>
    public int? Burst { get; set; }
}

/// <summary>
/// A token bucket per client on <c>POST /v1/campaigns/{campaignId}/participations</c> and its dry run
/// <c>POST .../eligibility</c> (one bucket for both: the dry run must not double an attacker's rate), refused with 429
/// <c>rate_limited</c> and <c>Retry-After</c>. The client is the connection's remote address (IPv6 grouped by /64,
/// since one host usually owns a whole /64). <c>X-Forwarded-For</c> counts only where ASP.NET Core's forwarded headers
/// are enabled (<c>ASPNETCORE_FORWARDEDHEADERS_ENABLED=true</c> behind a trusted proxy): otherwise any client could
/// pick its own partition. Nothing else is limited: management calls carry an API key, health checks must answer.
/// </summary>
public static class RateLimiting
{
    /// <summary>The endpoint names of the routes limited (<c>ParticipationEndpoints</c>): participation and eligibility.</summary>
    public static readonly IReadOnlySet<string> LimitedEndpointNames = new HashSet<string>(["Participate", "CheckEligibility"], StringComparer.Ordinal);

    public static void AddParticipationRateLimiting(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (Read(builder.Configuration) is not { } options)
        {
            return;
        }

        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.Burst ?? options.PermitsPerSecond,
            TokensPerPeriod = options.PermitsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
        var unlimited = RateLimitPartition.GetNoLimiter(string.Empty);
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                IsParticipation(context)
                    ? RateLimitPartition.GetTokenBucketLimiter(ClientKey(context.Connection.RemoteIpAddress), _ => bucket)
                    : unlimited);
            limiter.OnRejected = OnRejectedAsync;
        });
    }

    public static WebApplication UseParticipationRateLimiting(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (Read(app.Configuration) is not null)
        {
            app.UseRateLimiter();
        }

        return app;
    }

    /// <summary>The settings when rate limiting is on, null when off; throws on values that make no sense.</summary>
    internal static RateLimitOptions? Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>();
        if (options is null || options.PermitsPerSecond <= 0)
        {
            return null;
        }

        if (options.Burst is { } burst && burst < options.PermitsPerSecond)
        {
            throw new InvalidOperationException(
                $"{RateLimitOptions.Section}:Burst must be at least {RateLimitOptions.Section}:PermitsPerSecond (or unset).");
        }

        return options;
    }

    /// <summary>The partition of a client: its IPv4 address, or the /64 network of its IPv6 address.</summary>
    internal static string ClientKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    private static bool IsParticipation(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is { } name && LimitedEndpointNames.Contains(name);

    private static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken ct)
    {
        var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
            ? Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds))
            : 1;
        var http = context.HttpContext;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await Problems.Create(
                StatusCodes.Status429TooManyRequests,
                Problems.RateLimited,
                "Too many participation requests from this client: retry after the delay in Retry-After.")
            .ExecuteAsync(http);
    }
}

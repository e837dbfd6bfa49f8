using System.Security.Cryptography;
using System.Text;
using Marten;
using Microsoft.Extensions.Options;
using Participation.Api.ApiKeys;

namespace Participation.Api.Hosting;

public sealed class ParticipationOptions
{
    public const string Section = "Participation";

    /// <summary>The admin API key: every management call of every account. Unset = no admin access.</summary>
    public string? AdminApiKey { get; set; }

    /// <summary>Seed the demo account and campaign and print a sample token (Development only).</summary>
    public bool SeedDemo { get; set; } = true;
}

/// <summary>Who is calling a management route: the admin (every account) or one account through one of its keys.</summary>
/// <param name="AccountId">Null for the admin.</param>
/// <param name="KeyPrefix">The key's public prefix (<c>admin</c> for the admin key): what audit records say.</param>
public sealed record Caller(string? AccountId, string KeyPrefix)
{
    public static readonly Caller Admin = new(null, "admin");

    public bool IsAdmin => AccountId is null;

    /// <summary>Whether this caller may see and change the given account's resources.</summary>
    public bool CanAccess(string accountId) => IsAdmin || string.Equals(AccountId, accountId, StringComparison.Ordinal);

    public static Caller Of(HttpContext http) =>
        http?.Features.Get<Caller>() ?? throw new InvalidOperationException("Management route without the API key filter.");
}

/// <summary>Checks the admin key from configuration in constant time.</summary>
public sealed class AdminKey(IOptions<ParticipationOptions> options)
{
    private readonly byte[]? _hash = options.Value.AdminApiKey is { Length: > 0 } key ? Hash(key) : null;

    public bool IsConfigured => _hash is not null;

    public bool Matches(string presented) =>
        _hash is not null && CryptographicOperations.FixedTimeEquals(_hash, Hash(presented));

    // Comparing fixed-size hashes keeps the comparison constant-time whatever the presented length.
    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}

/// <summary>
/// Endpoint filter of every management route: the admin key or an account key, else 401 problem+json.
/// The resolved <see cref="Caller"/> is a request feature; each endpoint answers 404 for another account's resources.
/// </summary>
public sealed class RequireApiKey(AdminKey adminKey, ApiKeyVerifier accountKeys) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || header.Length == scheme.Length)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Problems.Create(StatusCodes.Status401Unauthorized, Problems.ApiKeyMissing, "This call needs an API key: Authorization: Bearer <api key>.");
        }

        var presented = header[scheme.Length..].Trim();
        var caller = adminKey.Matches(presented)
            ? Caller.Admin
            : await accountKeys.VerifyAsync(presented, http.RequestServices.GetRequiredService<IDocumentStore>(), http.RequestAborted);
        if (caller is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return Problems.Create(StatusCodes.Status401Unauthorized, Problems.ApiKeyInvalid, "The API key is not valid.");
        }

        http.Features.Set(caller);
        return await next(context);
    }
}

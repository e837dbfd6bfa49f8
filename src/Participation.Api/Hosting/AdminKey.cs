using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Participation.Api.Hosting;

public sealed class ParticipationOptions
{
    public const string Section = "Participation";

    /// <summary>The admin API key: every management call of every account. Unset = no admin access.</summary>
    public string? AdminApiKey { get; set; }

    /// <summary>Seed the demo account and campaign and print a sample token (Development only).</summary>
    public bool SeedDemo { get; set; } = true;
}

/// <summary>Checks <c>Authorization: Bearer &lt;admin key&gt;</c> in constant time.</summary>
public sealed class AdminKey(IOptions<ParticipationOptions> options)
{
    private readonly byte[]? _hash = options.Value.AdminApiKey is { Length: > 0 } key ? Hash(key) : null;

    public bool IsConfigured => _hash is not null;

    public bool Matches(string presented) =>
        _hash is not null && CryptographicOperations.FixedTimeEquals(_hash, Hash(presented));

    // Comparing fixed-size hashes keeps the comparison constant-time whatever the presented length.
    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}

/// <summary>Endpoint filter for management routes: 401 problem+json unless the admin key is presented.</summary>
public sealed class RequireApiKey(AdminKey adminKey) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || header.Length == scheme.Length)
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return Problems.Create(StatusCodes.Status401Unauthorized, Problems.ApiKeyMissing, "This call needs an API key: Authorization: Bearer <api key>.");
        }

        if (!adminKey.Matches(header[scheme.Length..].Trim()))
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return Problems.Create(StatusCodes.Status401Unauthorized, Problems.ApiKeyInvalid, "The API key is not valid.");
        }

        return await next(context);
    }
}

using Marten;
using Participation.Api.Accounts;
using Participation.Api.Audit;
using Participation.Api.Hosting;

namespace Participation.Api.ApiKeys;

/// <summary>The new key, shown once.</summary>
public sealed record NewApiKeyResponse(string Key, string Prefix, string AccountId, DateTimeOffset CreatedAt);

public sealed record ApiKeyResponse(string Prefix, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    public static ApiKeyResponse From(ApiKey key) => new(key.Prefix, key.CreatedAt, key.CreatedBy, key.LastUsedAt, key.RevokedAt);
}

public static class ApiKeyEndpoints
{
    private const int MaxActiveKeys = 20;

    public static RouteGroupBuilder MapApiKeyEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/accounts/{accountId}/api-keys").WithTags("API keys").AddEndpointFilter<RequireApiKey>();
        group.MapPost("/", CreateKey).WithName("CreateApiKey");
        group.MapGet("/", ListKeys).WithName("ListApiKeys");
        group.MapDelete("/{prefix}", RevokeKey).WithName("RevokeApiKey");
        return group;
    }

    private static async Task<IResult> CreateKey(string accountId, HttpContext http, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var caller = Caller.Of(http);
        // The account's row, locked until the commit: creations at once are counted against the limit one after the
        // other, and each appends to the account's audit stream in turn (AccountRows).
        if (!caller.CanAccess(accountId) || !Identifiers.IsValid(accountId) || await AccountRows.LoadForUpdateAsync(session, accountId, ct) is null)
        {
            return AccountEndpoints.AccountNotFound();
        }

        var active = await session.Query<ApiKey>().CountAsync(k => k.AccountId == accountId && k.RevokedAt == null, ct);
        if (active >= MaxActiveKeys)
        {
            return Problems.BadRequest($"An account may have at most {MaxActiveKeys} active keys: revoke one first.");
        }

        var now = time.GetUtcNow();
        var (id, key) = ApiKeyFormat.New();
        var stored = new ApiKey { Id = id, AccountId = accountId, Hash = ApiKeyFormat.HashOf(key), CreatedBy = caller.KeyPrefix, CreatedAt = now };
        session.Store(stored);
        session.Events.Append(AuditStream.For(accountId), new ApiKeyCreated(accountId, stored.Prefix, caller.KeyPrefix, now));
        await session.SaveChangesAsync(ct);

        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Created($"/v1/accounts/{accountId}/api-keys/{stored.Prefix}", new NewApiKeyResponse(key, stored.Prefix, accountId, now));
    }

    private static async Task<IResult> ListKeys(string accountId, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        if (!Caller.Of(http).CanAccess(accountId) || !Identifiers.IsValid(accountId) || await session.LoadAsync<Account>(accountId, ct) is null)
        {
            return AccountEndpoints.AccountNotFound();
        }

        var keys = await session.Query<ApiKey>().Where(k => k.AccountId == accountId).OrderBy(k => k.CreatedAt).ToListAsync(ct);
        return TypedResults.Ok(keys.Select(ApiKeyResponse.From).ToList());
    }

    private static async Task<IResult> RevokeKey(string accountId, string prefix, HttpContext http, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var caller = Caller.Of(http);
        if (!caller.CanAccess(accountId))
        {
            return AccountEndpoints.AccountNotFound();
        }

        var id = prefix.StartsWith(ApiKeyFormat.Prefix, StringComparison.Ordinal) ? prefix[ApiKeyFormat.Prefix.Length..] : prefix;
        var key = id.Length == 12 ? await session.LoadAsync<ApiKey>(id, ct) : null;
        if (key is null || key.AccountId != accountId)
        {
            return Problems.Create(StatusCodes.Status404NotFound, Problems.NotFound, "No such API key.");
        }

        if (key.RevokedAt is null)
        {
            // As for a creation: the account's row serialises the writes to its audit stream; read the key again under it.
            await AccountRows.LoadForUpdateAsync(session, accountId, ct);
            key = await session.LoadAsync<ApiKey>(id, ct);
            if (key is null || key.RevokedAt is not null)
            {
                return TypedResults.NoContent();
            }

            var now = time.GetUtcNow();
            session.Store(key with { RevokedAt = now });
            session.Events.Append(AuditStream.For(accountId), new ApiKeyRevoked(accountId, key.Prefix, caller.KeyPrefix, now));
            await session.SaveChangesAsync(ct);
        }

        return TypedResults.NoContent();
    }
}

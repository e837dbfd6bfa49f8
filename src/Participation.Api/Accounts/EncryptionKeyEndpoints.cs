using Marten;
using Participation.Api.Audit;
using Participation.Api.Auth;
using Participation.Api.Hosting;

namespace Participation.Api.Accounts;

/// <summary>Body of <c>POST /v1/accounts/{accountId}/encryption-keys</c> (optional).</summary>
public sealed record EncryptionKeyRequest
{
    /// <summary><c>RSA-OAEP-256</c> (the default) or <c>ECDH-ES</c>.</summary>
    public string? Alg { get; init; }
}

/// <summary>An encryption key: its kid, algorithm, creation time and public JWK (never the private part).</summary>
public sealed record EncryptionKeyResponse(string Kid, string Alg, DateTimeOffset CreatedAt, PublicJwk Jwk)
{
    public static EncryptionKeyResponse From(EncryptionKeyDocument key) => new(key.Id, key.Alg, key.CreatedAt, key.PublicKey);
}

/// <summary>A JWK Set (RFC 7517 §5).</summary>
public sealed record JwkSetResponse(IReadOnlyList<PublicJwk> Keys);

/// <summary>
/// Key pairs for encrypted tokens (DESIGN.md): generated here, private part encrypted at rest and never returned;
/// the public keys are published without authentication at <c>GET /v1/accounts/{accountId}/jwks.json</c>.
/// </summary>
public static class EncryptionKeyEndpoints
{
    public static IEndpointRouteBuilder MapEncryptionKeyEndpoints(this IEndpointRouteBuilder app)
    {
        var managed = app.MapGroup("/v1/accounts/{accountId}/encryption-keys").WithTags("Encryption keys").AddEndpointFilter<RequireApiKey>();
        managed.MapPost("/", CreateKey).WithName("CreateEncryptionKey");
        managed.MapGet("/", ListKeys).WithName("ListEncryptionKeys");
        managed.MapDelete("/{kid}", DeleteKey).WithName("DeleteEncryptionKey");

        // Public: partners (and their libraries) fetch the keys to encrypt to, without any credential.
        app.MapGet("/v1/accounts/{accountId}/jwks.json", GetJwks).WithTags("Encryption keys").WithName("GetAccountJwks");
        return app;
    }

    /// <summary>Whether the account has at least one encryption key.</summary>
    public static Task<bool> HasKeysAsync(IQuerySession session, string accountId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Query<EncryptionKeyDocument>().AnyAsync(k => k.AccountId == accountId, ct);
    }

    private static async Task<IResult> CreateKey(
        string accountId, HttpContext http, IDocumentSession session, EncryptionKeyStore keys, TimeProvider time, CancellationToken ct)
    {
        var caller = Caller.Of(http);
        if (!caller.CanAccess(accountId) || !Identifiers.IsValid(accountId) || await session.LoadAsync<Account>(accountId, ct) is null)
        {
            return AccountEndpoints.AccountNotFound();
        }

        var alg = Jwe.RsaOaep256Name;
        if (http.Request.HasJsonContentType() || http.Request.ContentLength > 0)
        {
            var (body, problem) = await JsonBody.ReadAsync<EncryptionKeyRequest>(http.Request, ct);
            if (problem is not null)
            {
                return problem;
            }

            alg = body!.Alg ?? alg;
        }

        if (!Jwe.TryParseAlgorithm(alg, out var algorithm))
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["alg"] = [$"{Jwe.RsaOaep256Name} (the default) or {Jwe.EcdhEsName}."] });
        }

        // The account row locked until SaveChanges: concurrent creations cannot pass the cap together.
        if (await AccountRows.LoadForUpdateAsync(session, accountId, ct) is null)
        {
            return AccountEndpoints.AccountNotFound();
        }

        var count = await session.Query<EncryptionKeyDocument>().CountAsync(k => k.AccountId == accountId, ct);
        if (count >= EncryptionKeyStore.MaxKeysPerAccount)
        {
            return Problems.BadRequest($"An account may have at most {EncryptionKeyStore.MaxKeysPerAccount} encryption keys: delete one first.");
        }

        var now = time.GetUtcNow();
        var key = keys.Generate(accountId, algorithm, caller.KeyPrefix, now);
        session.Insert(key);
        session.Events.Append(AuditStream.For(accountId), new EncryptionKeyCreated(accountId, key.Id, key.Alg, caller.KeyPrefix, now));
        await session.SaveChangesAsync(ct);
        return TypedResults.Created($"/v1/accounts/{accountId}/encryption-keys/{key.Id}", EncryptionKeyResponse.From(key));
    }

    private static async Task<IResult> ListKeys(string accountId, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        if (!Caller.Of(http).CanAccess(accountId) || !Identifiers.IsValid(accountId) || await session.LoadAsync<Account>(accountId, ct) is null)
        {
            return AccountEndpoints.AccountNotFound();
        }

        return TypedResults.Ok((await LoadKeysAsync(session, accountId, ct)).Select(EncryptionKeyResponse.From).ToList());
    }

    private static async Task<IResult> DeleteKey(
        string accountId, string kid, HttpContext http, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var caller = Caller.Of(http);
        // The account row locked until SaveChanges: two deletions (or a deletion and `encryption: required`) at once
        // cannot leave a required account without a key.
        var account = caller.CanAccess(accountId) && Identifiers.IsValid(accountId) ? await AccountRows.LoadForUpdateAsync(session, accountId, ct) : null;
        if (account is null)
        {
            return AccountEndpoints.AccountNotFound();
        }

        var key = EncryptionKeyStore.IsThumbprint(kid) ? await session.LoadAsync<EncryptionKeyDocument>(kid, ct) : null;
        if (key is null || key.AccountId != accountId)
        {
            return Problems.Create(StatusCodes.Status404NotFound, Problems.NotFound, "No such encryption key.");
        }

        if (account.SecureToken?.Encryption == TokenEncryption.Required
            && await session.Query<EncryptionKeyDocument>().CountAsync(k => k.AccountId == accountId, ct) <= 1)
        {
            return Problems.BadRequest("This account requires encrypted tokens and this is its last encryption key: generate another one first, or set encryption to optional or none.");
        }

        var now = time.GetUtcNow();
        session.Delete(key);
        session.Events.Append(AuditStream.For(accountId), new EncryptionKeyDeleted(accountId, key.Id, key.Alg, caller.KeyPrefix, now));
        await session.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The account's public encryption keys. An unknown account has an empty set, like an account without keys: this
    /// public route tells nobody which accounts exist.
    /// </summary>
    private static async Task<IResult> GetJwks(string accountId, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        if (!Identifiers.IsValid(accountId))
        {
            return Problems.Create(StatusCodes.Status404NotFound, Problems.NotFound, "No such key set.");
        }

        var keys = await LoadKeysAsync(session, accountId, ct);
        http.Response.Headers.CacheControl = "public, max-age=300";
        return TypedResults.Ok(new JwkSetResponse([.. keys.Select(k => k.PublicKey)]));
    }

    private static async Task<IReadOnlyList<EncryptionKeyDocument>> LoadKeysAsync(IQuerySession session, string accountId, CancellationToken ct) =>
        await session.Query<EncryptionKeyDocument>().Where(k => k.AccountId == accountId).OrderBy(k => k.CreatedAt).ToListAsync(ct);
}

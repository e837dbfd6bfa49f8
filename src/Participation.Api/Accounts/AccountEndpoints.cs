using System.Text.Json;
using Marten;
using Participation.Api.Audit;
using Participation.Api.Hosting;

namespace Participation.Api.Accounts;

public sealed record AccountRequest
{
    public string? Name { get; init; }
}

public sealed record AccountResponse(string Id, string Name, bool SecureTokenConfigured, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static AccountResponse From(Account account) =>
        new(account.Id, account.Name, account.SecureToken is not null, account.CreatedAt, account.UpdatedAt);
}

/// <summary>What <c>GET /secure-token</c> shows: everything but secret values.</summary>
public sealed record SecureTokenResponse(
    TokenMethod Method,
    IReadOnlyList<string> Algorithms,
    IReadOnlyList<RedactedSecret>? Secrets,
    IReadOnlyList<PublicKeyEntry>? PublicKeys,
    string? Issuer,
    string? Audience,
    int ClockSkewSeconds,
    bool RequireExpiration,
    int? MaxTokenAgeSeconds,
    TokenEncryption Encryption,
    long Version,
    string? JwksUri = null)
{
    public const string Redacted = "<redacted>";

    public static SecureTokenResponse From(SecureTokenSettings settings, long version) => new(
        settings.Method,
        settings.Algorithms,
        settings.Method == TokenMethod.Hmac ? [.. settings.Secrets.Select(s => new RedactedSecret(s.Kid, Redacted))] : null,
        settings.Method == TokenMethod.PublicKey ? settings.PublicKeys : null,
        settings.Issuer,
        settings.Audience,
        settings.ClockSkewSeconds,
        settings.RequireExpiration,
        settings.MaxTokenAgeSeconds,
        settings.Encryption,
        version,
        settings.Method == TokenMethod.Jwks ? settings.JwksUri : null);
}

public sealed record RedactedSecret(string? Kid, string Secret);

public static class AccountEndpoints
{
    public static RouteGroupBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/accounts").WithTags("Accounts").AddEndpointFilter<RequireApiKey>();
        group.MapPut("/{accountId}", PutAccount).WithName("PutAccount");
        group.MapGet("/{accountId}", GetAccount).WithName("GetAccount");
        group.MapPut("/{accountId}/secure-token", PutSecureToken).WithName("PutSecureToken");
        group.MapGet("/{accountId}/secure-token", GetSecureToken).WithName("GetSecureToken");
        return group;
    }

    private static async Task<IResult> PutAccount(string accountId, HttpContext http, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var caller = Caller.Of(http);
        var request = http.Request;
        if (!caller.CanAccess(accountId))
        {
            return AccountNotFound();
        }

        if (!Identifiers.IsValid(accountId))
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["accountId"] = ["Must match [A-Za-z0-9_-]{1,64}."] });
        }

        var (body, problem) = await JsonBody.ReadAsync<AccountRequest>(request, ct);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Name is not { Length: > 0 and <= 200 } name || name.Any(char.IsControl))
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["name"] = ["Required: 1 to 200 characters without control characters."] });
        }

        var now = time.GetUtcNow();
        var existing = await AccountRows.LoadForUpdateAsync(session, accountId, ct);
        if (existing is null && !caller.IsAdmin)
        {
            return AccountNotFound();
        }

        var account = existing is null
            ? new Account { Id = accountId, Name = name, CreatedAt = now, UpdatedAt = now }
            : existing with { Name = name, UpdatedAt = now };
        session.Store(account);
        session.Events.Append(AuditStream.For(accountId), new AccountSaved(accountId, name, existing is null, caller.KeyPrefix, now));
        await session.SaveChangesAsync(ct);

        var response = AccountResponse.From(account);
        return existing is null
            ? TypedResults.Created($"/v1/accounts/{accountId}", response)
            : TypedResults.Ok(response);
    }

    private static async Task<IResult> GetAccount(string accountId, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        var account = Caller.Of(http).CanAccess(accountId) && Identifiers.IsValid(accountId) ? await session.LoadAsync<Account>(accountId, ct) : null;
        return account is null ? AccountNotFound() : TypedResults.Ok(AccountResponse.From(account));
    }

    private static async Task<IResult> PutSecureToken(
        string accountId,
        HttpContext http,
        IDocumentSession session,
        AccountSecrets secrets,
        TimeProvider time,
        Microsoft.Extensions.Options.IOptions<Auth.JwksOptions> jwksOptions,
        CancellationToken ct)
    {
        var caller = Caller.Of(http);
        var request = http.Request;
        var account = caller.CanAccess(accountId) && Identifiers.IsValid(accountId) ? await session.LoadAsync<Account>(accountId, ct) : null;
        if (account is null)
        {
            return AccountNotFound();
        }

        var (body, problem) = await JsonBody.ReadAsync<SecureTokenRequest>(request, ct);
        if (problem is not null)
        {
            return problem;
        }

        var (settings, errors) = SecureTokenRequestValidator.Validate(body!, jwksOptions.Value.AllowHttp == true);
        if (settings is null)
        {
            return Problems.Validation(errors);
        }

        // From here to SaveChanges the account row is locked: each settings version names one content (AccountRows).
        account = await AccountRows.LoadForUpdateAsync(session, accountId, ct);
        if (account is null)
        {
            return AccountNotFound();
        }

        if (settings.Encryption == TokenEncryption.Required && !await EncryptionKeyEndpoints.HasKeysAsync(session, accountId, ct))
        {
            return Problems.Validation(new Dictionary<string, string[]>
            {
                ["encryption"] = ["Required encryption needs an encryption key: POST /v1/accounts/{accountId}/encryption-keys first."],
            });
        }

        var updated = account with
        {
            SecureToken = secrets.Protect(settings),
            SettingsVersion = account.SettingsVersion + 1,
            UpdatedAt = time.GetUtcNow(),
        };
        session.Store(updated);
        session.Events.Append(AuditStream.For(accountId), new SecureTokenConfigured(
            accountId,
            JsonNamingPolicy.CamelCase.ConvertName(settings.Method.ToString()),
            settings.Algorithms,
            [.. settings.Secrets.Select((s, i) => s.Kid ?? $"secret#{i}"), .. settings.PublicKeys.Select(k => k.Kid)],
            settings.Issuer,
            settings.Audience,
            settings.ClockSkewSeconds,
            settings.RequireExpiration,
            settings.MaxTokenAgeSeconds,
            JsonNamingPolicy.CamelCase.ConvertName(settings.Encryption.ToString()),
            updated.SettingsVersion,
            caller.KeyPrefix,
            updated.UpdatedAt));
        await session.SaveChangesAsync(ct);
        return TypedResults.Ok(SecureTokenResponse.From(settings, updated.SettingsVersion));
    }

    private static async Task<IResult> GetSecureToken(string accountId, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        var account = Caller.Of(http).CanAccess(accountId) && Identifiers.IsValid(accountId) ? await session.LoadAsync<Account>(accountId, ct) : null;
        if (account is null)
        {
            return AccountNotFound();
        }

        return account.SecureToken is null
            ? Problems.Create(StatusCodes.Status404NotFound, Problems.NotFound, "This account has no secure token settings yet.")
            : TypedResults.Ok(SecureTokenResponse.From(account.SecureToken, account.SettingsVersion));
    }

    internal static IResult AccountNotFound() =>
        Problems.Create(StatusCodes.Status404NotFound, Problems.AccountNotFound, "No such account.");
}

using Marten;
using Participation.Api.Accounts;
using Participation.Api.Hosting;

namespace Participation.Api.Audit;

/// <summary>One audit record: when, which key, what kind of change, and the change itself (never a secret).</summary>
public sealed record AuditEntry(long Version, DateTimeOffset At, string By, string Type, object Data);

public static class AuditEndpoints
{
    public static RouteGroupBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/accounts/{accountId}/audit").WithTags("Audit").AddEndpointFilter<RequireApiKey>();
        group.MapGet("/", GetAudit).WithName("GetAudit");
        return group;
    }

    private static async Task<IResult> GetAudit(string accountId, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        if (!Caller.Of(http).CanAccess(accountId) || !Identifiers.IsValid(accountId) || await session.LoadAsync<Account>(accountId, ct) is null)
        {
            return AccountEndpoints.AccountNotFound();
        }

        var events = await session.Events.FetchStreamAsync(AuditStream.For(accountId), token: ct);
        return TypedResults.Ok(events.Select(e => new AuditEntry(e.Version, e.Timestamp, ByOf(e.Data), TypeOf(e.Data), e.Data)).ToList());
    }

    private static string TypeOf(object data) => data switch
    {
        AccountSaved => "accountSaved",
        SecureTokenConfigured => "secureTokenConfigured",
        ApiKeyCreated => "apiKeyCreated",
        ApiKeyRevoked => "apiKeyRevoked",
        CampaignSaved => "campaignSaved",
        EncryptionKeyCreated => "encryptionKeyCreated",
        EncryptionKeyDeleted => "encryptionKeyDeleted",
        _ => data.GetType().Name,
    };

    private static string ByOf(object data) => data switch
    {
        AccountSaved e => e.By,
        SecureTokenConfigured e => e.By,
        ApiKeyCreated e => e.By,
        ApiKeyRevoked e => e.By,
        CampaignSaved e => e.By,
        EncryptionKeyCreated e => e.By,
        EncryptionKeyDeleted e => e.By,
        _ => "unknown",
    };
}

using Participation.Api.Accounts;
using Participation.Api.ApiKeys;
using Participation.Api.Audit;
using Participation.Api.Auth;
using Participation.Api.Campaigns;
using Participation.Api.Participations;
using Participation.Api.Reports;
using Participation.Domain.Participations;

namespace Participation.Api.Hosting.ApiReference;

/// <summary>Who may call an operation.</summary>
public enum ApiAccess
{
    /// <summary><c>Authorization: Bearer &lt;admin or account key&gt;</c>.</summary>
    ApiKey,

    /// <summary>The secure token is the credential (query/form <c>qual_token</c>, Bearer, or JSON <c>{"token"}</c>).</summary>
    SecureToken,

    /// <summary>No credential.</summary>
    Public,
}

/// <summary>A query parameter of an operation.</summary>
public sealed record ApiQueryParameter(string Name, string Description, string Type = "string");

/// <summary>
/// What the OpenAPI document says about one route of the contract (DESIGN.md): summary, description, bodies with
/// examples, and every problem code per status. Keyed by method and route pattern, so the endpoint files need no
/// OpenAPI annotations; an operation whose route is not mapped is simply not documented.
/// </summary>
public sealed record ApiOperation(string Method, string Path, string OperationId, string Tag, string Summary, string Description)
{
    public ApiAccess Access { get; init; } = ApiAccess.ApiKey;
    public Type? RequestType { get; init; }
    public string? RequestExample { get; init; }
    public int SuccessStatus { get; init; } = StatusCodes.Status200OK;
    public string SuccessDescription { get; init; } = "OK";
    public Type? ResponseType { get; init; }
    public string? ResponseExample { get; init; }

    /// <summary>Other success statuses (e.g. 200 for an update where 201 is a creation).</summary>
    public IReadOnlyList<(int Status, string Description)> OtherSuccesses { get; init; } = [];

    /// <summary>Media types of the success answer besides JSON (e.g. <c>text/csv</c>).</summary>
    public IReadOnlyList<string> AlternateMediaTypes { get; init; } = [];

    public IReadOnlyList<ApiQueryParameter> Query { get; init; } = [];

    /// <summary>Every problem this operation answers: status and <c>code</c>.</summary>
    public IReadOnlyList<(int Status, string Code)> Errors { get; init; } = [];

    public string Key => ApiContract.KeyOf(Method, Path);
}

/// <summary>The HTTP contract, as documented in <c>/openapi/v1.json</c>.</summary>
public static class ApiContract
{
    public const string ApiKeyScheme = "apiKey";
    public const string SecureTokenScheme = "secureToken";

    /// <summary>Every problem code the service answers, with its status and a sample detail.</summary>
    public static readonly IReadOnlyDictionary<string, (int Status, string Detail)> Problems =
        new Dictionary<string, (int Status, string Detail)>(StringComparer.Ordinal)
        {
            [Hosting.Problems.TokenAmbiguous] = (400, "The request carries two different tokens: send exactly one."),
            [Hosting.Problems.RequestInvalid] = (400, "The request is not valid: see errors."),
            [TokenErrorCodes.Missing] = (401, "No secure token: send it as qual_token (query or form), as Authorization: Bearer, or as JSON {\"token\": \"...\"}."),
            [TokenErrorCodes.Malformed] = (401, "The secure token is not a compact JWS (three dot-separated parts)."),
            [TokenErrorCodes.TooLarge] = (401, "The secure token is larger than 8192 bytes."),
            [TokenErrorCodes.InvalidSignature] = (401, "The token's signature does not match the account's keys."),
            [TokenErrorCodes.AlgorithmNotAllowed] = (401, "The token's algorithm is not allowed for this account."),
            [TokenErrorCodes.KeyNotFound] = (401, "This account has no key with the token's 'kid' for its algorithm."),
            [TokenErrorCodes.Expired] = (401, "The token has expired."),
            [TokenErrorCodes.NotYetValid] = (401, "The token is not valid yet ('nbf')."),
            [TokenErrorCodes.TooOld] = (401, "The token was issued too long ago for this account."),
            [TokenErrorCodes.IssuerInvalid] = (401, "The token's 'iss' claim is not the account's issuer."),
            [TokenErrorCodes.AudienceInvalid] = (401, "The token's 'aud' claim does not name the account's audience."),
            [TokenErrorCodes.MissingClaim] = (401, "The token has no 'sub' claim."),
            [TokenErrorCodes.ClaimInvalid] = (401, "The token expires ('exp') before it was issued ('iat')."),
            [TokenErrorCodes.DecryptionFailed] = (401, "This account does not accept encrypted tokens."),
            [Hosting.Problems.ApiKeyMissing] = (401, "This call needs an API key: Authorization: Bearer <api key>."),
            [Hosting.Problems.ApiKeyInvalid] = (401, "The API key is not valid."),
            [Hosting.Problems.TokenCampaignMismatch] = (403, "The token was issued for another campaign."),
            [RejectionCodes.ParticipantNotAllowed] = (403, "The partner does not allow this participant to take part."),
            [RejectionCodes.ParticipationLimitReached] = (403, "This participant has used every participation the campaign allows."),
            [RejectionCodes.PeriodLimitReached] = (403, "This participant has used every participation allowed today; Retry-After tells when the next day starts."),
            [RejectionCodes.CooldownActive] = (403, "This participant took part too recently; Retry-After tells when they may again."),
            [RejectionCodes.CampaignFull] = (403, "The campaign has reached its maximum number of participations."),
            [RejectionCodes.CampaignNotOpen] = (403, "The campaign has not started yet; Retry-After tells when it opens."),
            [RejectionCodes.CampaignClosed] = (403, "The campaign has ended."),
            [Hosting.Problems.CampaignNotFound] = (404, "No such campaign."),
            [Hosting.Problems.AccountNotFound] = (404, "No such account."),
            [Hosting.Problems.NotFound] = (404, "No such API key (or encryption key, or key set)."),
            [Hosting.Problems.TokenReplayed] = (409, "This token was already used: participationId and number identify the participation it gave."),
            [Hosting.Problems.RateLimited] = (429, "Too many participation requests from this client: retry after the delay in Retry-After."),
            [Hosting.Problems.InternalError] = (500, "An unexpected error occurred; it is logged on the server."),
            [Hosting.Problems.ServiceUnavailable] = (503, "The database cannot be reached right now: retry shortly (the same token is safe to retry)."),
        };

    private static readonly string[] TokenCodes =
    [
        TokenErrorCodes.Missing, TokenErrorCodes.Malformed, TokenErrorCodes.TooLarge, TokenErrorCodes.InvalidSignature,
        TokenErrorCodes.AlgorithmNotAllowed, TokenErrorCodes.KeyNotFound, TokenErrorCodes.Expired, TokenErrorCodes.NotYetValid,
        TokenErrorCodes.TooOld, TokenErrorCodes.IssuerInvalid, TokenErrorCodes.AudienceInvalid, TokenErrorCodes.MissingClaim,
        TokenErrorCodes.ClaimInvalid, TokenErrorCodes.DecryptionFailed,
    ];

    private static readonly string[] RuleCodes =
    [
        RejectionCodes.ParticipantNotAllowed, RejectionCodes.ParticipationLimitReached, RejectionCodes.PeriodLimitReached,
        RejectionCodes.CooldownActive, RejectionCodes.CampaignFull, RejectionCodes.CampaignNotOpen, RejectionCodes.CampaignClosed,
    ];

    private const string AccountId = "Account id: `[A-Za-z0-9_-]{1,64}`.";

    public static readonly IReadOnlyList<ApiOperation> Operations =
    [
        new("PUT", "/v1/accounts/{accountId}", "putAccount", "Accounts", "Create or rename an account",
            "Creates the account (201, admin key only) or renames it (200). " + AccountId)
        {
            RequestType = typeof(AccountRequest),
            RequestExample = """{"name": "ACME"}""",
            SuccessStatus = 201,
            SuccessDescription = "The account was created.",
            OtherSuccesses = [(200, "The account was renamed.")],
            ResponseType = typeof(AccountResponse),
            ResponseExample = """{"id": "acme", "name": "ACME", "secureTokenConfigured": false, "createdAt": "2026-11-25T08:00:00+00:00", "updatedAt": "2026-11-25T08:00:00+00:00"}""",
            Errors = Management((400, Hosting.Problems.RequestInvalid), (413, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.AccountNotFound)),
        },
        new("GET", "/v1/accounts/{accountId}", "getAccount", "Accounts", "Get an account", "The account's name and whether its token settings are configured.")
        {
            ResponseType = typeof(AccountResponse),
            ResponseExample = """{"id": "acme", "name": "ACME", "secureTokenConfigured": true, "createdAt": "2026-11-25T08:00:00+00:00", "updatedAt": "2026-11-25T08:05:00+00:00"}""",
            Errors = Management((404, Hosting.Problems.AccountNotFound)),
        },
        new("POST", "/v1/accounts/{accountId}/api-keys", "createApiKey", "API keys", "Create an account API key",
            "A new key for this account, **shown once** (only its SHA-256 is stored). An account may hold 20 active keys.")
        {
            SuccessStatus = 201,
            SuccessDescription = "The new key. Keep it: it is never shown again.",
            ResponseType = typeof(NewApiKeyResponse),
            ResponseExample = """{"key": "pk_k3m9x2a7q1zt_Zp4rW0yQn8sV2bLc6dHf9jKm3tXu5eA1gR7iO0wE2y", "prefix": "pk_k3m9x2a7q1zt", "accountId": "acme", "createdAt": "2026-11-25T08:00:00+00:00"}""",
            Errors = Management((400, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.AccountNotFound)),
        },
        new("GET", "/v1/accounts/{accountId}/api-keys", "listApiKeys", "API keys", "List the account's API keys",
            "Prefixes and dates only; `lastUsedAt` is written at most once a minute per key and process.")
        {
            ResponseType = typeof(List<ApiKeyResponse>),
            ResponseExample = """[{"prefix": "pk_k3m9x2a7q1zt", "createdAt": "2026-11-25T08:00:00+00:00", "createdBy": "admin", "lastUsedAt": "2026-11-25T09:12:00+00:00", "revokedAt": null}]""",
            Errors = Management((404, Hosting.Problems.AccountNotFound)),
        },
        new("DELETE", "/v1/accounts/{accountId}/api-keys/{prefix}", "revokeApiKey", "API keys", "Revoke an API key",
            "Effective on the next request.")
        {
            SuccessStatus = 204,
            SuccessDescription = "Revoked.",
            Errors = Management((404, Hosting.Problems.AccountNotFound), (404, Hosting.Problems.NotFound)),
        },
        new("PUT", "/v1/accounts/{accountId}/secure-token", "putSecureToken", "Accounts", "Configure how the account's tokens are verified",
            "`method` hmac | publicKey | jwks, the `algorithms` allow-list, the keys (`secret` or `secrets[]` with `kid`, `publicKeys[] {kid, pem}`, " +
            "`jwksUri`), `issuer`, `audience`, `clockSkewSeconds` (default 120), `requireExpiration` (false), `maxTokenAgeSeconds` (null), " +
            "`encryption` none | optional | required. HMAC secrets must be at least as long as the hash (32/48/64 bytes); they are stored encrypted.")
        {
            RequestType = typeof(SecureTokenRequest),
            RequestExample = """{"method": "hmac", "algorithms": ["HS256"], "secret": "a-secret-of-at-least-32-bytes-for-hs256!", "clockSkewSeconds": 120, "requireExpiration": true}""",
            ResponseType = typeof(SecureTokenResponse),
            ResponseExample = SecureTokenExample,
            Errors = Management((400, Hosting.Problems.RequestInvalid), (413, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.AccountNotFound)),
        },
        new("GET", "/v1/accounts/{accountId}/secure-token", "getSecureToken", "Accounts", "Get the account's token settings",
            "The settings with every secret value replaced by `<redacted>`.")
        {
            ResponseType = typeof(SecureTokenResponse),
            ResponseExample = SecureTokenExample,
            Errors = Management((404, Hosting.Problems.AccountNotFound), (404, Hosting.Problems.NotFound)),
        },
        new("POST", "/v1/accounts/{accountId}/encryption-keys", "createEncryptionKey", "Encryption keys", "Generate a key pair for encrypted tokens",
            "The service generates a key pair for JWE (`alg` RSA-OAEP-256, the default, or ECDH-ES) and returns the public JWK with its `kid`; " +
            "the private part is encrypted at rest and never returned. The partner encrypts its signed token to it (content A256GCM or A128CBC-HS256). The body is optional.")
        {
            RequestType = typeof(EncryptionKeyRequest),
            RequestExample = """{"alg": "RSA-OAEP-256"}""",
            SuccessStatus = 201,
            SuccessDescription = "The new key's public JWK.",
            ResponseType = typeof(EncryptionKeyResponse),
            ResponseExample = """{"kid": "enc_3f9a1c2b7d4e", "alg": "RSA-OAEP-256", "createdAt": "2026-11-25T08:00:00+00:00", "jwk": {"kty": "RSA", "use": "enc", "alg": "RSA-OAEP-256", "kid": "enc_3f9a1c2b7d4e", "n": "0vx7agoebGcQSuu...", "e": "AQAB"}}""",
            Errors = Management((400, Hosting.Problems.RequestInvalid), (413, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.AccountNotFound)),
        },
        new("GET", "/v1/accounts/{accountId}/encryption-keys", "listEncryptionKeys", "Encryption keys", "List the account's encryption keys",
            "Public parts only.")
        {
            ResponseType = typeof(List<EncryptionKeyResponse>),
            ResponseExample = """[{"kid": "enc_3f9a1c2b7d4e", "alg": "RSA-OAEP-256", "createdAt": "2026-11-25T08:00:00+00:00", "jwk": {"kty": "RSA", "use": "enc", "alg": "RSA-OAEP-256", "kid": "enc_3f9a1c2b7d4e", "n": "0vx7agoebGcQSuu...", "e": "AQAB"}}]""",
            Errors = Management((404, Hosting.Problems.AccountNotFound)),
        },
        new("DELETE", "/v1/accounts/{accountId}/encryption-keys/{kid}", "deleteEncryptionKey", "Encryption keys", "Delete an encryption key",
            "Tokens encrypted to it are refused from then on. The last key of an account that requires encryption cannot be deleted (400).")
        {
            SuccessStatus = 204,
            SuccessDescription = "Deleted.",
            Errors = Management((400, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.AccountNotFound), (404, Hosting.Problems.NotFound)),
        },
        new("GET", "/v1/accounts/{accountId}/jwks.json", "getAccountJwks", "Encryption keys", "The account's encryption public keys (JWKS)",
            "Public, no authentication: the keys a partner encrypts tokens to. An unknown account has an empty set (this route tells nobody which accounts exist). Cacheable for 5 minutes.")
        {
            Access = ApiAccess.Public,
            ResponseType = typeof(JwkSetResponse),
            ResponseExample = """{"keys": [{"kty": "RSA", "use": "enc", "alg": "RSA-OAEP-256", "kid": "enc_3f9a1c2b7d4e", "n": "0vx7agoebGcQSuu...", "e": "AQAB"}]}""",
            Errors = [(404, Hosting.Problems.NotFound), (500, Hosting.Problems.InternalError), (503, Hosting.Problems.ServiceUnavailable)],
        },
        new("GET", "/v1/accounts/{accountId}/audit", "getAudit", "Audit", "The account's audit trail",
            "Every change of the account, its token settings, its API keys and its campaigns, oldest first. Secret values are never recorded.")
        {
            ResponseType = typeof(List<AuditEntry>),
            ResponseExample = """[{"version": 1, "at": "2026-11-25T08:00:00+00:00", "by": "admin", "type": "accountSaved", "data": {"accountId": "acme", "name": "ACME", "created": true, "by": "admin", "at": "2026-11-25T08:00:00+00:00"}}]""",
            Errors = Management((404, Hosting.Problems.AccountNotFound)),
        },
        new("PUT", "/v1/campaigns/{campaignId}", "putCampaign", "Campaigns", "Create or update a campaign",
            "Campaign ids are `[A-Za-z0-9_-]{1,64}` and unique across accounts (numeric ids such as `123456` are common). " +
            "`limits.perParticipant` defaults to 1; `tokenLimit` allow | ignore | capped says how a token's `limit.nb` applies (capped needs `maxTokenLimit`). " +
            "`startsAt`/`endsAt` are RFC 3339 instants with an offset; `timeZone` (IANA) defines the days of `perParticipantPerDay` and of the report.")
        {
            RequestType = typeof(CampaignRequest),
            RequestExample = """{"accountId": "acme", "name": "Summer contest", "startsAt": "2026-06-01T00:00:00+02:00", "endsAt": "2026-09-01T00:00:00+02:00", "timeZone": "Europe/Paris", "limits": {"perParticipant": 3, "perParticipantPerDay": 1, "cooldownSeconds": 60, "maxParticipations": 10000}, "tokenLimit": "capped", "maxTokenLimit": 5}""",
            SuccessStatus = 201,
            SuccessDescription = "The campaign was created.",
            OtherSuccesses = [(200, "The campaign was updated; new rules apply to the next request.")],
            ResponseType = typeof(CampaignResponse),
            ResponseExample = CampaignExample,
            Errors = Management((400, Hosting.Problems.RequestInvalid), (413, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.CampaignNotFound)),
        },
        new("GET", "/v1/campaigns/{campaignId}", "getCampaign", "Campaigns", "Get a campaign", "The campaign and its rules.")
        {
            ResponseType = typeof(CampaignResponse),
            ResponseExample = CampaignExample,
            Errors = Management((404, Hosting.Problems.CampaignNotFound)),
        },
        new("POST", "/v1/campaigns/{campaignId}/participations", "participate", "Participations", "Take part (the hot path)",
            "No API key: the partner's **secure token** is the credential, sent as the query or form field `qual_token`, as " +
            "`Authorization: Bearer <token>`, or as JSON `{\"token\": \"...\"}` (two different tokens: 400 `token_ambiguous`).\n\n" +
            "Each token is accepted at most once. A replay answers 409 `token_replayed` with the original `participationId` and `number`, " +
            "so a client that lost the answer can retry safely. A 403 carries `limit` and `remaining`, and `Retry-After` where waiting helps " +
            "(`campaign_not_open`, `period_limit_reached`, `cooldown_active`). A 503 means the outcome is unknown: retry with the same token. " +
            "A 429 `rate_limited` (only where the operator enabled rate limiting) carries `Retry-After`.")
        {
            Access = ApiAccess.SecureToken,
            RequestType = typeof(TokenBody),
            RequestExample = """{"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiY2FtcGFpZ25JZCI6MTIzNDU2LCJqdGkiOiI3ZjNjIn0.signature"}""",
            SuccessStatus = 201,
            SuccessDescription = "Accepted: the participant's `number`-th participation.",
            ResponseType = typeof(ParticipationResponse),
            ResponseExample = """{"participationId": "0193a5b2-7c1e-7d3f-9a4b-2c5d6e7f8a9b", "campaignId": "123456", "sub": "user-42", "number": 1, "limit": 3, "remaining": 2, "canWin": true, "gift": {"label": "Welcome gift", "cw": true}}""",
            Query = [new("qual_token", "The secure token (or send it as a form field, a Bearer header, or JSON).")],
            Errors = Participation(),
        },
        new("POST", "/v1/campaigns/{campaignId}/eligibility", "checkEligibility", "Participations", "Would this token be accepted now?",
            "The same checks as a participation, with the token sent the same ways, and **nothing is consumed or recorded**: the token still works afterwards. " +
            "Token problems answer exactly as a participation would (400, 401, 403 `token_campaign_mismatch`, 404). " +
            "Otherwise 200 `{eligible, remaining, limit, code?, retryAfter?}`: `code` is the refusal a participation would get " +
            "(`participant_not_allowed`, `participation_limit_reached`, `period_limit_reached`, `cooldown_active`, `campaign_full`, " +
            "`campaign_not_open`, `campaign_closed`, or `token_replayed` for a token already used).")
        {
            Access = ApiAccess.SecureToken,
            RequestType = typeof(TokenBody),
            RequestExample = """{"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiY2FtcGFpZ25JZCI6MTIzNDU2LCJqdGkiOiI3ZjNjIn0.signature"}""",
            SuccessDescription = "The verdict.",
            ResponseType = typeof(EligibilityResponse),
            ResponseExample = """{"eligible": true, "remaining": 3, "limit": 3}""",
            Query = [new("qual_token", "The secure token (or send it as a form field, a Bearer header, or JSON).")],
            Errors =
            [
                (400, Hosting.Problems.TokenAmbiguous), (400, Hosting.Problems.RequestInvalid), (413, Hosting.Problems.RequestInvalid),
                .. TokenCodes.Select(c => (401, c)),
                (403, Hosting.Problems.TokenCampaignMismatch), (404, Hosting.Problems.CampaignNotFound),
                (429, Hosting.Problems.RateLimited), (500, Hosting.Problems.InternalError), (503, Hosting.Problems.ServiceUnavailable),
            ],
        },
        new("GET", "/v1/campaigns/{campaignId}/participants/{sub}", "getParticipant", "Participants", "One participant's history",
            "`accepted`, `limit`, `remaining`, the participations and the recorded refusals. A sub that never took part answers 200 with " +
            "`accepted: 0`. The sub is percent-decoded once from the raw path (`a%2Fb` is the participant `a/b`).")
        {
            ResponseType = typeof(ParticipantHistoryResponse),
            ResponseExample = """{"campaignId": "123456", "sub": "user-42", "accepted": 1, "limit": 3, "remaining": 2, "participations": [{"number": 1, "participationId": "0193a5b2-7c1e-7d3f-9a4b-2c5d6e7f8a9b", "at": "2026-11-25T09:12:03.51+00:00", "jti": "7f3c", "iat": "2026-11-25T09:12:00+00:00"}], "rejections": []}""",
            Errors = Management((400, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.CampaignNotFound)),
        },
        new("DELETE", "/v1/campaigns/{campaignId}/participants/{sub}", "eraseParticipant", "Participants", "Erase a participant's personal data",
            "Masks the participant's personal data in every event (sub, jti, custom/form/optin); the count survives, so limits still hold. Idempotent.")
        {
            SuccessStatus = 204,
            SuccessDescription = "Erased (or nothing to erase).",
            Errors = Management((400, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.CampaignNotFound)),
        },
        new("GET", "/v1/campaigns/{campaignId}/report", "getCampaignReport", "Reports", "The campaign's report",
            "A projection of the participation events, updated asynchronously (normally well under a second): `asOf` tells how far it has reached. " +
            "`byDay` uses the campaign's time zone.")
        {
            ResponseType = typeof(CampaignReportResponse),
            ResponseExample = """{"campaignId": "123456", "timeZone": "Europe/Paris", "accepted": 1520, "rejected": {"participant_not_allowed": 3, "participation_limit_reached": 211}, "uniqueParticipants": 1204, "participantsAtLimit": 187, "byDay": [{"day": "2026-11-25", "accepted": 812, "rejected": 97, "newParticipants": 700}, {"day": "2026-11-26", "accepted": 708, "rejected": 117, "newParticipants": 504}], "asOf": {"sequence": 48211, "storeSequence": 48215, "lastEventAt": "2026-11-26T18:02:11.5+00:00"}}""",
            Errors = Management((404, Hosting.Problems.CampaignNotFound)),
        },
        new("GET", "/v1/campaigns/{campaignId}/participations", "listParticipations", "Reports", "Every decision, paged, or as CSV",
            "Oldest first, keyset paging with `after` (the previous page's `next`). With `Accept: text/csv` the rows are streamed as CSV " +
            "(`sequence,sub,outcome,number,participationId,at,jti`), all of them unless `limit` is given.")
        {
            ResponseType = typeof(ParticipationPage),
            ResponseExample = """{"items": [{"sequence": 48210, "sub": "user-42", "outcome": "accepted", "number": 1, "participationId": "0193a5b2-7c1e-7d3f-9a4b-2c5d6e7f8a9b", "at": "2026-11-25T09:12:03.51+00:00", "jti": "7f3c"}], "next": "48210"}""",
            AlternateMediaTypes = ["text/csv"],
            Query =
            [
                new("after", "The `next` of the previous page (an event sequence).", "integer"),
                new("limit", "1 to 1000, default 100 (CSV: all rows unless given).", "integer"),
                new("day", "A calendar day `yyyy-MM-dd` in the campaign's time zone."),
                new("outcome", "`accepted`, `rejected`, or one refusal code."),
            ],
            Errors = Management((400, Hosting.Problems.RequestInvalid), (404, Hosting.Problems.CampaignNotFound)),
        },
        new("GET", "/health/live", "live", "Health", "Liveness", "200 `Healthy` while the process runs; checks nothing else.")
        {
            Access = ApiAccess.Public,
            SuccessDescription = "The process is alive (text/plain `Healthy`).",
        },
        new("GET", "/health/ready", "ready", "Health", "Readiness", "200 `Healthy` when the database answers, 503 `Unhealthy` otherwise.")
        {
            Access = ApiAccess.Public,
            SuccessDescription = "Ready to serve (text/plain `Healthy`).",
            OtherSuccesses = [(503, "The database does not answer (text/plain `Unhealthy`).")],
        },
        new("GET", "/openapi/v1.json", "openApi", "Reference", "This OpenAPI document", "The contract as OpenAPI 3.1.")
        {
            Access = ApiAccess.Public,
            SuccessDescription = "The OpenAPI document.",
        },
        new("GET", "/docs", "apiReference", "Reference", "Interactive API reference", "The OpenAPI document rendered by Scalar, served by the service itself (no CDN).")
        {
            Access = ApiAccess.Public,
            SuccessDescription = "An HTML page.",
        },
    ];

    private static readonly Dictionary<string, ApiOperation> ByKey = Operations.ToDictionary(o => o.Key, StringComparer.Ordinal);

    /// <summary>The documented operation for a method and a route pattern (any form: leading or trailing slash, <c>{**sub}</c>).</summary>
    public static ApiOperation? Find(string method, string path) => ByKey.GetValueOrDefault(KeyOf(method, path));

    /// <summary><c>GET /v1/campaigns/{campaignId}/participants/{sub}</c>: method upper case, one leading slash, no trailing slash, no catch-all stars or constraints.</summary>
    public static string KeyOf(string method, string path)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        return method.ToUpperInvariant() + " " + NormalizePath(path);
    }

    public static string NormalizePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(segment =>
        {
            if (segment.StartsWith('{') && segment.EndsWith('}'))
            {
                var name = segment[1..^1].TrimStart('*');
                var cut = name.IndexOfAny([':', '=', '?']);
                return "{" + (cut >= 0 ? name[..cut] : name) + "}";
            }

            return segment;
        });
        return "/" + string.Join('/', segments);
    }

    /// <summary>The JSON body of a participation or an eligibility check.</summary>
    public sealed record TokenBody(string Token);

    private static (int, string)[] Management(params (int, string)[] extra) =>
    [
        .. extra,
        (401, Hosting.Problems.ApiKeyMissing),
        (401, Hosting.Problems.ApiKeyInvalid),
        (500, Hosting.Problems.InternalError),
        (503, Hosting.Problems.ServiceUnavailable),
    ];

    private static (int, string)[] Participation() =>
    [
        (400, Hosting.Problems.TokenAmbiguous), (400, Hosting.Problems.RequestInvalid),
        (413, Hosting.Problems.RequestInvalid),
        .. TokenCodes.Select(c => (401, c)),
        (403, Hosting.Problems.TokenCampaignMismatch),
        .. RuleCodes.Select(c => (403, c)),
        (404, Hosting.Problems.CampaignNotFound),
        (409, Hosting.Problems.TokenReplayed),
        (429, Hosting.Problems.RateLimited),
        (500, Hosting.Problems.InternalError),
        (503, Hosting.Problems.ServiceUnavailable),
    ];

    private const string SecureTokenExample =
        """{"method": "hmac", "algorithms": ["HS256"], "secrets": [{"kid": null, "secret": "<redacted>"}], "publicKeys": null, "issuer": null, "audience": null, "clockSkewSeconds": 120, "requireExpiration": true, "maxTokenAgeSeconds": null, "encryption": "none", "version": 2}""";

    private const string CampaignExample =
        """{"id": "123456", "accountId": "acme", "name": "Summer contest", "limits": {"perParticipant": 3, "perParticipantPerDay": 1, "cooldownSeconds": 60, "maxParticipations": 10000}, "tokenLimit": "capped", "maxTokenLimit": 5, "createdAt": "2026-05-20T10:00:00+00:00", "updatedAt": "2026-05-20T10:00:00+00:00", "startsAt": "2026-05-31T22:00:00+00:00", "endsAt": "2026-08-31T22:00:00+00:00", "timeZone": "Europe/Paris"}""";
}

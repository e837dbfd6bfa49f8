using Microsoft.AspNetCore.Http.HttpResults;

namespace Participation.Api.Hosting;

/// <summary>
/// RFC 9457 problem+json answers, each with the stable <c>code</c> member of DESIGN.md.
/// Details are human sentences written here: they never quote a token, a secret or a request value.
/// </summary>
public static class Problems
{
    public const string RequestInvalid = "request_invalid";
    public const string ApiKeyMissing = "api_key_missing";
    public const string ApiKeyInvalid = "api_key_invalid";
    public const string CampaignNotFound = "campaign_not_found";
    public const string AccountNotFound = "account_not_found";
    public const string NotFound = "not_found";
    public const string ServiceUnavailable = "service_unavailable";
    public const string TokenAmbiguous = "token_ambiguous";
    public const string TokenCampaignMismatch = "token_campaign_mismatch";
    public const string TokenReplayed = "token_replayed";
    public const string InternalError = "internal_error";
    public const string RateLimited = "rate_limited";

    private static readonly Dictionary<int, string> Titles = new()
    {
        [StatusCodes.Status400BadRequest] = "Bad request",
        [StatusCodes.Status401Unauthorized] = "Unauthorized",
        [StatusCodes.Status403Forbidden] = "Forbidden",
        [StatusCodes.Status404NotFound] = "Not found",
        [StatusCodes.Status409Conflict] = "Conflict",
        [StatusCodes.Status413PayloadTooLarge] = "Payload too large",
        [StatusCodes.Status429TooManyRequests] = "Too many requests",
        [StatusCodes.Status500InternalServerError] = "Internal error",
        [StatusCodes.Status503ServiceUnavailable] = "Service unavailable",
    };

    public static ProblemHttpResult Create(int status, string code, string detail, IDictionary<string, object?>? extensions = null)
    {
        var all = new Dictionary<string, object?>(StringComparer.Ordinal) { ["code"] = code };
        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
            {
                all[key] = value;
            }
        }

        return TypedResults.Problem(
            detail: detail,
            statusCode: status,
            title: TitleFor(status),
            type: TypeFor(code),
            extensions: all);
    }

    /// <summary>400 <c>request_invalid</c> listing each invalid field (RFC 9457 <c>errors</c> member).</summary>
    public static ProblemHttpResult Validation(IDictionary<string, string[]> errors) =>
        Create(
            StatusCodes.Status400BadRequest,
            RequestInvalid,
            "The request is not valid: see errors.",
            new Dictionary<string, object?> { ["errors"] = errors });

    public static ProblemHttpResult BadRequest(string detail) =>
        Create(StatusCodes.Status400BadRequest, RequestInvalid, detail);

    public static string TypeFor(string code) => "urn:participation:problem:" + code;

    /// <summary>The <c>title</c> of a problem of this status.</summary>
    public static string TitleFor(int status) => Titles.GetValueOrDefault(status, "Error");
}

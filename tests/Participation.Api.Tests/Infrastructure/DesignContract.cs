using System.Text.RegularExpressions;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>
/// The fixed HTTP contract of DESIGN.md: its routes, and the statuses and codes of the participation call. Read from
/// DESIGN.md itself where it is beside the repository (<c>../shared/DESIGN.md</c>, or <c>PARTICIPATION_DESIGN_MD</c>),
/// otherwise the copy below, which <see cref="Integrator.ApiReferenceTests"/> checks against DESIGN.md wherever both
/// exist: a route or code added to the contract and missing here fails that test.
/// </summary>
public static partial class DesignContract
{
    /// <summary>The routes of DESIGN.md's HTTP API table, as <c>METHOD /path</c>.</summary>
    public static readonly IReadOnlyList<(string Method, string Path)> IndependentRoutes =
    [
        ("PUT", "/v1/accounts/{accountId}"),
        ("POST", "/v1/accounts/{accountId}/api-keys"),
        ("PUT", "/v1/accounts/{accountId}/secure-token"),
        ("GET", "/v1/accounts/{accountId}/secure-token"),
        ("POST", "/v1/accounts/{accountId}/encryption-keys"),
        ("GET", "/v1/accounts/{accountId}/jwks.json"),
        ("PUT", "/v1/campaigns/{campaignId}"),
        ("GET", "/v1/campaigns/{campaignId}"),
        ("POST", "/v1/campaigns/{campaignId}/participations"),
        ("POST", "/v1/campaigns/{campaignId}/eligibility"),
        ("GET", "/v1/campaigns/{campaignId}/participants/{sub}"),
        ("DELETE", "/v1/campaigns/{campaignId}/participants/{sub}"),
        ("GET", "/v1/campaigns/{campaignId}/report"),
        ("GET", "/v1/campaigns/{campaignId}/participations"),
        ("GET", "/health/live"),
        ("GET", "/health/ready"),
        ("GET", "/openapi/v1.json"),
        ("GET", "/docs"),
    ];

    /// <summary>The participation call's table of DESIGN.md: every status and its codes.</summary>
    public static readonly IReadOnlyList<(int Status, string[] Codes)> IndependentParticipationCodes =
    [
        (400, ["token_ambiguous", "request_invalid"]),
        (401, ["token_missing", "token_malformed", "token_too_large", "token_invalid_signature", "token_algorithm_not_allowed", "key_not_found",
               "token_expired", "token_not_yet_valid", "token_too_old", "token_issuer_invalid", "token_audience_invalid", "token_missing_claim",
               "token_claim_invalid", "token_decryption_failed"]),
        (403, ["token_campaign_mismatch", "participant_not_allowed", "participation_limit_reached", "period_limit_reached", "cooldown_active",
               "campaign_full", "campaign_not_open", "campaign_closed"]),
        (404, ["campaign_not_found"]),
        (409, ["token_replayed"]),
    ];

    private static readonly Lazy<string?> LazyDesignText = new(ReadDesign);

    /// <summary>Where DESIGN.md was found, or null (a clone without the shared folder beside it).</summary>
    public static string? DesignPath { get; private set; }

    /// <summary>DESIGN.md's text, or null when it is not beside the repository.</summary>
    public static string? DesignText => LazyDesignText.Value;

    /// <summary>The routes of DESIGN.md when it is there, the independent copy otherwise.</summary>
    public static IReadOnlyList<(string Method, string Path)> Routes => DesignText is { } text ? RoutesOf(text) : IndependentRoutes;

    /// <summary>The participation call's statuses and codes from DESIGN.md when it is there, the independent copy otherwise.</summary>
    public static IReadOnlyList<(int Status, string[] Codes)> ParticipationCodes =>
        DesignText is { } text ? ParticipationCodesOf(text) : IndependentParticipationCodes;

    /// <summary>Every code of the participation call.</summary>
    public static IReadOnlyList<string> AllCodes => [.. ParticipationCodes.SelectMany(c => c.Codes)];

    /// <summary>Every <c>`METHOD /path`</c> of the tables of the HTTP API section.</summary>
    public static IReadOnlyList<(string Method, string Path)> RoutesOf(string design)
    {
        ArgumentNullException.ThrowIfNull(design);
        return [.. RouteCell().Matches(design).Select(m => (m.Groups[1].Value, m.Groups[2].Value)).Distinct()];
    }

    /// <summary>The rows <c>| 401 | token_missing, token_malformed, ... |</c> of the participation's status table.</summary>
    public static IReadOnlyList<(int Status, string[] Codes)> ParticipationCodesOf(string design)
    {
        ArgumentNullException.ThrowIfNull(design);
        return
        [
            .. StatusRow().Matches(design).Select(m => (
                int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
                m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))),
        ];
    }

    private static string? ReadDesign()
    {
        var candidates = new[]
        {
            Environment.GetEnvironmentVariable("PARTICIPATION_DESIGN_MD"),
            Path.Combine(RepositoryFiles.Root, "..", "shared", "DESIGN.md"),
        };
        DesignPath = candidates.FirstOrDefault(path => !string.IsNullOrEmpty(path) && File.Exists(path));
        return DesignPath is null ? null : File.ReadAllText(DesignPath).ReplaceLineEndings("\n");
    }

    [GeneratedRegex(@"`(GET|PUT|POST|DELETE|PATCH) (/[^`\s]*)`")]
    private static partial Regex RouteCell();

    [GeneratedRegex(@"^\| (\d{3}) \| ([a-z_]+(?:, [a-z_]+)*) \|$", RegexOptions.Multiline)]
    private static partial Regex StatusRow();
}

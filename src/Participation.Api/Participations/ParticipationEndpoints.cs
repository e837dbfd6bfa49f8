using System.Diagnostics;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Http.Features;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Campaigns;
using Participation.Api.Hosting;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Wolverine;

namespace Participation.Api.Participations;

public sealed record GiftResponse(string? Label, bool? Cw);

/// <summary>The 201 body of DESIGN.md.</summary>
public sealed record ParticipationResponse(
    Guid ParticipationId, string CampaignId, string Sub, int Number, int Limit, int Remaining, bool CanWin, GiftResponse? Gift);

public sealed record ParticipationItem(int Number, Guid ParticipationId, DateTimeOffset At, string? Jti, DateTimeOffset? Iat);

public sealed record RejectionItem(DateTimeOffset At, string Code);

public sealed record ParticipantHistoryResponse(
    string CampaignId,
    string Sub,
    int Accepted,
    int Limit,
    int Remaining,
    IReadOnlyList<ParticipationItem> Participations,
    IReadOnlyList<RejectionItem> Rejections)
{
    /// <summary>When the participant's personal data was last erased; null: never.</summary>
    public DateTimeOffset? ErasedAt { get; init; }
}

public static class ParticipationEndpoints
{
    /// <summary>Bodies of the hot path carry one token (8 KiB at most, more when form-encoded): anything larger is refused unread.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapParticipationEndpoints(this IEndpointRouteBuilder app)
    {
        var open = app.MapGroup("/v1/campaigns").WithTags("Participations");
        open.MapPost("/{campaignId}/participations", Participate)
            .WithName("Participate")
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes))
            .DisableAntiforgery();

        open.MapPost("/{campaignId}/eligibility", CheckingEligibility.CheckAsync)
            .WithName("CheckEligibility")
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes))
            .DisableAntiforgery();

        var managed = app.MapGroup("/v1/campaigns").WithTags("Participants").AddEndpointFilter<RequireApiKey>();
        managed.MapGet("/{campaignId}/participants/{**sub}", GetParticipant).WithName("GetParticipant");
        managed.MapDelete("/{campaignId}/participants/{**sub}", ErasingParticipant.EraseAsync).WithName("EraseParticipant");
        return app;
    }

    private static async Task<IResult> Participate(
        string campaignId,
        HttpContext http,
        CampaignDirectory directory,
        SecureTokenValidator validator,
        AccountSecrets secrets,
        IMessageBus bus,
        TimeProvider time,
        ParticipationMetrics metrics,
        CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await DecideAsync(campaignId, http, directory, validator, secrets, bus, time, ct);
        metrics.Record(
            result is ProblemHttpResult { ProblemDetails.Extensions: var extensions } && extensions.TryGetValue("code", out var code)
                ? code as string ?? "unknown"
                : "accepted",
            Stopwatch.GetElapsedTime(started));
        return result;
    }

    /// <summary>How many times a request is verified and decided again because its campaign or keys changed meanwhile.</summary>
    private const int MaxConfigurationChanges = 3;

    private static async Task<IResult> DecideAsync(
        string campaignId,
        HttpContext http,
        CampaignDirectory directory,
        SecureTokenValidator validator,
        AccountSecrets secrets,
        IMessageBus bus,
        TimeProvider time,
        CancellationToken ct)
    {
        var (token, problem) = await TokenExtraction.ExtractAsync(http.Request, ct);
        if (problem is not null)
        {
            return problem;
        }

        if (!Identifiers.IsValid(campaignId))
        {
            return CampaignEndpoints.CampaignNotFound();
        }

        var (configuration, fresh) = await directory.FindAsync(campaignId, ct);
        for (var changes = 0; ; changes++)
        {
            var (verified, refusal) = await VerifyAsync(token!, configuration, validator, secrets, ct);
            if (refusal is not null)
            {
                // A refusal from the configuration in memory is checked against the current one: a key added or a
                // campaign created a moment ago on another process applies to this request already.
                if (!fresh && await directory.ReadAsync(campaignId, ct) is var current && current?.Version != configuration?.Version)
                {
                    (configuration, fresh) = (current, true);
                    continue;
                }

                return refusal;
            }

            var command = Command(configuration!, verified!, time.GetUtcNow());
            var decision = await bus.InvokeAsync<ParticipationDecision>(command, ct);
            switch (decision)
            {
                case ConfigurationChanged when changes < MaxConfigurationChanges:
                    (configuration, fresh) = (await directory.ReadAsync(campaignId, ct), true);
                    continue;
                case ConfigurationChanged:
                    return Problems.Create(StatusCodes.Status503ServiceUnavailable, Problems.ServiceUnavailable,
                        "The campaign's configuration kept changing while this request was decided: retry the same request.");
                case ParticipationGranted g:
                    return TypedResults.Created(
                        ParticipantLocation(g.CampaignId, g.Sub),
                        new ParticipationResponse(
                            g.ParticipationId, g.CampaignId, g.Sub, g.Number, g.Limit, g.Remaining, g.CanWin,
                            g.Gift is null ? null : new GiftResponse(g.Gift.Label, g.Gift.CanWin)));
                case ParticipationRefused r:
                    return Refused(http, r);
                case ParticipationReplayed p:
                    return Problems.Create(StatusCodes.Status409Conflict, Problems.TokenReplayed,
                        "This token was already used: participationId and number identify the participation it gave.",
                        new Dictionary<string, object?> { ["participationId"] = p.ParticipationId, ["number"] = p.Number });
                default:
                    throw new InvalidOperationException("Unknown participation decision.");
            }
        }
    }

    /// <summary>
    /// Everything before a decision, shared by participations and eligibility checks: the token verified with the
    /// campaign's account settings and matched with the campaign. A problem otherwise.
    /// </summary>
    internal static async Task<(SecureToken? Token, IResult? Problem)> VerifyAsync(
        string token,
        CampaignConfiguration? configuration,
        SecureTokenValidator validator,
        AccountSecrets secrets,
        CancellationToken ct)
    {
        if (configuration is null)
        {
            return (null, CampaignEndpoints.CampaignNotFound());
        }

        var (campaign, account) = (configuration.Campaign, configuration.Account);
        var settings = account is null ? null : secrets.Reveal(account);
        if (settings is null)
        {
            return (null, Problems.Create(StatusCodes.Status401Unauthorized, TokenErrorCodes.KeyNotFound,
                "The campaign's account has no secure token settings yet."));
        }

        var (verified, error) = await validator.ValidateAsync(token, account!.Id, account.SettingsVersion, settings, ct);
        if (error is not null)
        {
            return (null, Problems.Create(StatusCodes.Status401Unauthorized, error.Code, error.Detail));
        }

        if (!string.Equals(verified!.CampaignId, campaign.Id, StringComparison.Ordinal))
        {
            return (null, Problems.Create(StatusCodes.Status403Forbidden, Problems.TokenCampaignMismatch,
                "The token was issued for another campaign."));
        }

        return (verified, null);
    }

    /// <summary>The command a verified token makes, decided with the campaign's rules as read now.</summary>
    internal static ParticipationRequested Command(Campaign campaign, SecureToken verified, DateTimeOffset now) => new(
        ParticipationStreamKey.For(campaign.Id, verified.Sub),
        Guid.CreateVersion7(),
        campaign.Id,
        verified.Sub,
        verified.ReplayKey,
        verified.Jti,
        verified.IssuedAt,
        verified.Limit,
        verified.Gift,
        verified.PersonalData,
        campaign.Rules,
        now);

    /// <summary>The same, decided only while the configuration the token was verified with is still the current one.</summary>
    internal static ParticipationRequested Command(CampaignConfiguration configuration, SecureToken verified, DateTimeOffset now) =>
        Command(configuration.Campaign, verified, now) with { VerifiedWith = configuration.Version };

    private static IResult Refused(HttpContext http, ParticipationRefused refused)
    {
        if (refused.RetryAfter is { } retryAfter)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var detail = refused.Code switch
        {
            RejectionCodes.ParticipantNotAllowed => "The partner does not allow this participant to take part.",
            RejectionCodes.ParticipationLimitReached => "This participant has used every participation the campaign allows.",
            RejectionCodes.PeriodLimitReached => "This participant has used every participation allowed today (in the campaign's time zone); Retry-After says when the next day starts.",
            RejectionCodes.CooldownActive => "This participant took part too recently; Retry-After says when the next participation is allowed.",
            RejectionCodes.CampaignFull => "The campaign has accepted as many participations as it allows.",
            RejectionCodes.CampaignNotOpen => "The campaign has not started yet; Retry-After says when it opens.",
            RejectionCodes.CampaignClosed => "The campaign has ended.",
            _ => "This participation is refused by the campaign's rules.",
        };
        return Problems.Create(StatusCodes.Status403Forbidden, refused.Code, detail,
            new Dictionary<string, object?> { ["limit"] = refused.Limit, ["remaining"] = refused.Remaining });
    }

    private static async Task<IResult> GetParticipant(string campaignId, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        var campaign = await CampaignEndpoints.LoadAccessibleAsync(session, campaignId, Caller.Of(http), ct);
        if (campaign is null)
        {
            return CampaignEndpoints.CampaignNotFound();
        }

        var sub = RawSub(http);
        if (sub is null)
        {
            return Problems.BadRequest("The participant id (sub) is missing or badly encoded.");
        }

        var history = await session.LoadAsync<Participant>(ParticipationStreamKey.For(campaign.Id, sub), ct);
        var limit = campaign.Rules.EffectiveLimit(history?.LastTokenLimit);
        var accepted = history?.Accepted ?? 0;
        return TypedResults.Ok(new ParticipantHistoryResponse(
            campaign.Id,
            sub,
            accepted,
            limit,
            Math.Max(0, limit - accepted),
            [.. (history?.Participations ?? []).Select(p => new ParticipationItem(p.Number, p.ParticipationId, p.At, p.Jti, p.IssuedAt))],
            [.. (history?.Rejections ?? []).Select(r => new RejectionItem(r.At, r.Code))])
        {
            ErasedAt = history?.ErasedAt,
        });
    }

    /// <summary>
    /// The sub as sent: routing decodes every escape but <c>%2F</c>, which makes <c>a%2Fb</c> and <c>a/b</c> ambiguous,
    /// so the segment is taken from the raw request target and decoded exactly once.
    /// </summary>
    internal static string? RawSub(HttpContext http)
    {
        // Kestrel always sets the raw target; servers that do not (the in-memory test server) fall back to the path.
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw))
        {
            raw = http.Request.PathBase.Add(http.Request.Path).Value ?? string.Empty;
        }

        var query = raw.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            raw = raw[..query];
        }

        const string marker = "/participants/";
        var at = raw.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var encoded = raw[(at + marker.Length)..];
        string sub;
        try
        {
            sub = Uri.UnescapeDataString(encoded);
        }
        catch (UriFormatException)
        {
            return null;
        }

        return sub.Length == 0 || sub.Any(c => c < 0x20 || c == 0x7F) ? null : sub;
    }

    internal static string ParticipantLocation(string campaignId, string sub) =>
        $"/v1/campaigns/{campaignId}/participants/{Uri.EscapeDataString(sub)}";
}

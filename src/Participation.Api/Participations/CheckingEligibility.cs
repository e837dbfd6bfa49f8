using System.Text.Json.Serialization;
using Marten;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Campaigns;
using Participation.Api.Hosting;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;

namespace Participation.Api.Participations;

/// <summary>
/// The 200 body of <c>POST /v1/campaigns/{campaignId}/eligibility</c>: whether the token would be accepted now, what
/// the participant has left, and otherwise the code the participation would be refused with.
/// </summary>
/// <param name="Remaining">Participations the participant may still make, this one included when eligible.</param>
/// <param name="RetryAfter">Seconds after which waiting helps (<c>campaign_not_open</c>, <c>period_limit_reached</c>, <c>cooldown_active</c>).</param>
public sealed record EligibilityResponse(
    bool Eligible,
    int Remaining,
    int Limit,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Code,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? RetryAfter);

/// <summary>
/// Runs every check of a participation (token, campaign, replay, schedule, limits, cooldown, cap) on a read of the
/// participant's stream and of the campaign's count, and records nothing: the same token still works afterwards.
/// </summary>
public static class CheckingEligibility
{
    public static async Task<IResult> CheckAsync(
        string campaignId,
        HttpContext http,
        IQuerySession session,
        CampaignDirectory directory,
        SecureTokenValidator validator,
        AccountSecrets secrets,
        TimeProvider time,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(time);

        var (token, extractionProblem) = await TokenExtraction.ExtractAsync(http.Request, ct);
        if (extractionProblem is not null)
        {
            return extractionProblem;
        }

        // Read, not taken from memory: nothing checks later that the answer was given with the current configuration.
        // Token failures answer exactly what the participation would (401, 403 token_campaign_mismatch, 404): a
        // client learns nothing here it could not learn by taking part.
        var configuration = Identifiers.IsValid(campaignId) ? await directory.ReadAsync(campaignId, ct) : null;
        var (verified, problem) = await ParticipationEndpoints.VerifyAsync(token!, configuration, validator, secrets, ct);
        if (problem is not null)
        {
            return problem;
        }

        var command = ParticipationEndpoints.Command(configuration!, verified!, time.GetUtcNow());
        var participant = await session.LoadAsync<Participant>(command.ParticipantId, ct);

        // As in the writer: the campaign's places are read only once the participant's own rules would grant.
        var outcome = ParticipationDecider.Decide(command, participant);
        if (outcome.Decision is ParticipationGranted && command.Rules.MaxParticipations is { } max
            && await CampaignPlaces.ReadAsync(session, command.CampaignId, ct) is var places
            && (places is { } row ? row.Accepted >= row.Capacity : max <= 0))
        {
            outcome = ParticipationDecider.Decide(command, participant, campaignFull: true);
        }

        var limit = command.Rules.EffectiveLimit(command.Limit?.Nb);
        return TypedResults.Ok(outcome.Decision switch
        {
            ParticipationGranted granted => new EligibilityResponse(true, granted.Remaining + 1, granted.Limit, null, null),
            ParticipationRefused refused => new EligibilityResponse(
                false, refused.Remaining, refused.Limit, refused.Code,
                refused.RetryAfter is { } wait ? Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)) : null),
            ParticipationReplayed => new EligibilityResponse(
                false, Math.Max(0, limit - (participant?.Accepted ?? 0)), limit, Problems.TokenReplayed, null),
            _ => throw new InvalidOperationException("Unknown participation decision."),
        });
    }
}

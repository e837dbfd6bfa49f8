using System.Text.Json;
using Participation.Domain.Participations;

namespace Participation.Api.Participations;

/// <summary>
/// Text PostgreSQL's <c>jsonb</c> cannot hold: U+0000. The token validator refuses it in every claim, so a request that
/// still carries it here is a bug; it fails alone, before its batch reaches the database. Sent anyway, it would be
/// refused while its parameters are bound, and such a refusal leaves Npgsql 10.0.3 out of step with the server on
/// connections that other requests then use ("Received unexpected backend message", docs/design.md).
/// </summary>
internal static class UnstorableText
{
    public static bool In(ParticipationRequested command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return Has(command.ParticipantId) || Has(command.CampaignId) || Has(command.Sub) || Has(command.ReplayKey)
            || Has(command.Jti) || Has(command.Gift?.Label)
            || Has(command.PersonalData.Custom) || Has(command.PersonalData.Form) || Has(command.PersonalData.Optin);
    }

    private static bool Has(string? text) => text is not null && text.Contains('\0', StringComparison.Ordinal);

    private static bool Has(JsonElement? element) => element is { } e && Has(e);

    private static bool Has(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => Has(element.GetString()),
        JsonValueKind.Object => element.EnumerateObject().Any(p => Has(p.Name) || Has(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Any(Has),
        _ => false,
    };
}

/// <summary>A request carrying text the database cannot store (<see cref="UnstorableText"/>): answered 400.</summary>
public sealed class UnstorableRequestException : Exception
{
    public UnstorableRequestException()
        : base("The request carries text the database cannot store (U+0000).")
    {
    }

    public UnstorableRequestException(string message)
        : base(message)
    {
    }

    public UnstorableRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

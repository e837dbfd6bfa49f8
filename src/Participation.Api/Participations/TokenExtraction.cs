using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Participation.Api.Auth;
using Participation.Api.Hosting;

namespace Participation.Api.Participations;

/// <summary>
/// Finds the secure token of a participation request: query or form field <c>qual_token</c>,
/// <c>Authorization: Bearer</c>, or a JSON body <c>{"token": "..."}</c>. Two different tokens are ambiguous.
/// </summary>
public static class TokenExtraction
{
    public const string FieldName = "qual_token";
    public const int MaxTokenBytes = 8 * 1024;

    public static async Task<(string? Token, ProblemHttpResult? Problem)> ExtractAsync(HttpRequest request, CancellationToken ct)
    {
        var candidates = new List<string>(2);

        if (!Add(candidates, request.Query[FieldName]))
        {
            return (null, Ambiguous());
        }

        var authorization = request.Headers.Authorization;
        if (authorization.Count > 1)
        {
            return (null, Ambiguous());
        }

        if (authorization.ToString() is { Length: > 0 } header)
        {
            const string scheme = "Bearer ";
            if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return (null, Problems.Create(StatusCodes.Status401Unauthorized, TokenErrorCodes.Malformed, "The Authorization header must use the Bearer scheme."));
            }

            Add(candidates, header[scheme.Length..].Trim());
        }

        try
        {
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync(ct);
                if (!Add(candidates, form[FieldName]))
                {
                    return (null, Ambiguous());
                }
            }
            else if (request.HasJsonContentType())
            {
                var (token, problem) = await ReadJsonTokenAsync(request, ct);
                if (problem is not null)
                {
                    return (null, problem);
                }

                Add(candidates, token);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problems.Create(StatusCodes.Status413PayloadTooLarge, Problems.RequestInvalid,
                $"The body is larger than {ParticipationEndpoints.MaxBodyBytes / 1024} KiB: send the token alone."));
        }
        catch (BadHttpRequestException)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, Problems.RequestInvalid, "The body could not be read (cut short or badly encoded)."));
        }
        catch (InvalidDataException)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, Problems.RequestInvalid, "The form body is not valid."));
        }
        catch (IOException)
        {
            // A multipart body whose sections end before their boundary: the multipart reader throws IOException
            // ("Unexpected end of Stream"). Found by fuzzing: it was a 500.
            return (null, Problems.Create(StatusCodes.Status400BadRequest, Problems.RequestInvalid, "The form body is not valid."));
        }

        var distinct = candidates.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count > 1)
        {
            return (null, Ambiguous());
        }

        if (distinct.Count == 0)
        {
            return (null, Problems.Create(StatusCodes.Status401Unauthorized, TokenErrorCodes.Missing,
                "No secure token: send it as qual_token (query or form), as Authorization: Bearer, or as JSON {\"token\": \"...\"}."));
        }

        var single = distinct[0];
        if (single.Length > MaxTokenBytes || Encoding.UTF8.GetByteCount(single) > MaxTokenBytes)
        {
            return (null, Problems.Create(StatusCodes.Status401Unauthorized, TokenErrorCodes.TooLarge, $"The token is larger than {MaxTokenBytes} bytes."));
        }

        return (single, null);
    }

    private static ProblemHttpResult Ambiguous() =>
        Problems.Create(StatusCodes.Status400BadRequest, Problems.TokenAmbiguous, "The request carries two different tokens: send exactly one.");

    /// <summary>Adds the non-empty values; false when one field carries two different values.</summary>
    private static bool Add(List<string> candidates, StringValues values)
    {
        var distinct = values.Where(v => !string.IsNullOrEmpty(v)).Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count > 1)
        {
            return false;
        }

        if (distinct.Count == 1)
        {
            candidates.Add(distinct[0]!);
        }

        return true;
    }

    private static async Task<(string? Token, ProblemHttpResult? Problem)> ReadJsonTokenAsync(HttpRequest request, CancellationToken ct)
    {
        TokenBody? body;
        try
        {
            body = await request.ReadFromJsonAsync<TokenBody>(JsonBody.Options, ct);
        }
        catch (JsonException)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, Problems.RequestInvalid,
                "The JSON body must be an object with one string member: {\"token\": \"...\"}."));
        }
        catch (InvalidOperationException) when (JsonBody.HasUnknownCharset(request))
        {
            return (null, JsonBody.UnknownCharset());
        }

        return (body?.Token, null);
    }

    private sealed record TokenBody(string? Token);
}

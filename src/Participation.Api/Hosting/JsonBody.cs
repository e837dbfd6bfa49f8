using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace Participation.Api.Hosting;

/// <summary>
/// Reads management bodies strictly: unknown members, wrong types, trailing data and duplicated members are refused
/// with a 400 naming the offending path, never silently ignored.
/// </summary>
public static class JsonBody
{
    public static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            AllowDuplicateProperties = false,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            NumberHandling = JsonNumberHandling.Strict,
            MaxDepth = 16,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        return options;
    }

    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, Problems.BadRequest("The body must be JSON (Content-Type: application/json)."));
        }

        try
        {
            var value = await request.ReadFromJsonAsync<T>(Options, ct);
            return value is null
                ? (null, Problems.BadRequest("The body must be a JSON object."))
                : (value, null);
        }
        catch (JsonException ex)
        {
            var path = string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path;
            return (null, Problems.Validation(new Dictionary<string, string[]>
            {
                [path] = [Describe(ex)],
            }));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, Problems.Create(ex.StatusCode, Problems.RequestInvalid, "The body could not be read (too large or cut short)."));
        }
        catch (IOException)
        {
            return (null, Problems.BadRequest("The body could not be read (cut short)."));
        }
        catch (InvalidOperationException) when (HasUnknownCharset(request))
        {
            return (null, UnknownCharset());
        }
    }

    /// <summary>
    /// True when the Content-Type names a charset no <see cref="Encoding"/> exists for (<c>charset=bogus</c>, an empty
    /// one): <c>ReadFromJsonAsync</c> then throws <see cref="InvalidOperationException"/>, which is the client's fault.
    /// </summary>
    internal static bool HasUnknownCharset(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType) || !mediaType.Charset.HasValue)
        {
            return false;
        }

        try
        {
            _ = Encoding.GetEncoding(mediaType.Charset.Value!);
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>400 <c>request_invalid</c> for a body in a charset the service cannot decode.</summary>
    internal static ProblemHttpResult UnknownCharset() =>
        Problems.BadRequest("The body's charset is not supported: send JSON in UTF-8.");

    // System.Text.Json messages name the member and the expected type, never the value, so they are safe to return.
    private static string Describe(JsonException ex) =>
        ex.Message.Split(" Path:", 2)[0] is { Length: > 0 } message ? message : "Invalid JSON.";
}

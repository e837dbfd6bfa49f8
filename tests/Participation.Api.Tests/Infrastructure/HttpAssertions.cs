using System.Net;
using System.Text.Json;
using Shouldly;

namespace Participation.Api.Tests.Infrastructure;

public sealed record ApiAnswer(HttpStatusCode Status, string ContentType, string Body, HttpResponseMessage Response)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? Code => Json.TryGetProperty("code", out var code) ? code.GetString() : null;

    public static async Task<ApiAnswer> From(HttpResponseMessage response) => new(
        response.StatusCode,
        response.Content.Headers.ContentType?.MediaType ?? "",
        await response.Content.ReadAsStringAsync(),
        response);

    /// <summary>Asserts a problem+json answer with this status and code, and returns it.</summary>
    public ApiAnswer ShouldBeProblem(HttpStatusCode status, string code)
    {
        Status.ShouldBe(status, Body);
        ContentType.ShouldBe("application/problem+json", Body);
        Code.ShouldBe(code, Body);
        return this;
    }
}

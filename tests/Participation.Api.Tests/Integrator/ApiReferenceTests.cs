using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Participation.Api.Hosting.ApiReference;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Integrator;

/// <summary>The OpenAPI document at /openapi/v1.json and the interactive reference at /docs, against DESIGN.md.</summary>
public sealed class ApiReferenceTests(AppFixture app)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every route of DESIGN.md's HTTP API table (read from DESIGN.md where it is beside the repository).</summary>
    public static TheoryData<string, string> DesignRoutes()
    {
        var data = new TheoryData<string, string>();
        foreach (var (method, path) in DesignContract.Routes)
        {
            data.Add(method, path);
        }

        return data;
    }

    /// <summary>The participation call's table of DESIGN.md: every status and code.</summary>
    private static IReadOnlyList<(int Status, string[] Codes)> ParticipationCodes => DesignContract.ParticipationCodes;

    [Fact]
    public void The_contract_copy_of_the_tests_is_the_contract_of_DESIGN_md()
    {
        var design = DesignContract.DesignText;
        if (design is null)
        {
            Assert.Skip("DESIGN.md is not beside this clone (../shared/DESIGN.md, or set PARTICIPATION_DESIGN_MD): the tests use their own copy of its routes and codes.");
        }

        DesignContract.RoutesOf(design).ShouldBe(DesignContract.IndependentRoutes, ignoreOrder: true, $"the routes of {DesignContract.DesignPath}");
        var codes = DesignContract.ParticipationCodesOf(design);
        codes.Select(c => c.Status).ShouldBe(DesignContract.IndependentParticipationCodes.Select(c => c.Status), $"the statuses of {DesignContract.DesignPath}");
        foreach (var (status, expected) in DesignContract.IndependentParticipationCodes)
        {
            codes.Single(c => c.Status == status).Codes.ShouldBe(expected, ignoreOrder: true, $"the {status} codes of {DesignContract.DesignPath}");
        }
    }

    private async Task<JsonElement> DocumentAsync()
    {
        using var client = app.Client();
        var response = await client.GetAsync("/openapi/v1.json", Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
    }

    private static JsonElement? Operation(JsonElement document, string method, string path) =>
        document.GetProperty("paths").TryGetProperty(path, out var item) && item.TryGetProperty(method.ToLowerInvariant(), out var operation)
            ? operation
            : null;

    [Theory]
    [MemberData(nameof(DesignRoutes))]
    public async Task Every_route_of_the_design_that_the_service_maps_is_documented_with_its_answers(string method, string path)
    {
        var document = await DocumentAsync();
        MappedRoutes().ShouldContain(ApiContract.KeyOf(method, path), $"{method} {path} of DESIGN.md is not mapped by the service");

        var operation = Operation(document, method, path) ?? throw new ShouldAssertException($"{method} {path} is not in /openapi/v1.json.");
        operation.GetProperty("summary").GetString().ShouldNotBeNullOrWhiteSpace();
        operation.GetProperty("description").GetString().ShouldNotBeNullOrWhiteSpace();
        var responses = operation.GetProperty("responses");
        responses.EnumerateObject().ShouldContain(r => r.Name.StartsWith('2'), $"{method} {path} documents no success answer");
        if (path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            responses.EnumerateObject().ShouldContain(r => r.Name.StartsWith('4'), $"{method} {path} documents no problem answer");
        }

        foreach (var parameter in path.Split('/').Where(s => s.StartsWith('{')))
        {
            operation.GetProperty("parameters").EnumerateArray()
                .ShouldContain(p => "{" + p.GetProperty("name").GetString() + "}" == parameter && p.GetProperty("in").GetString() == "path");
        }
    }

    [Fact]
    public void The_routes_of_the_design_are_all_mapped()
    {
        // The routes DESIGN.md lists and this service does not map.
        var missing = DesignContract.Routes.Select(r => ApiContract.KeyOf(r.Method, r.Path))
            .Where(key => !MappedRoutes().Contains(key))
            .ToList();
        missing.ShouldBeEmpty();
    }

    [Fact]
    public async Task The_participation_documents_every_status_and_code_of_the_design_with_an_example_each()
    {
        var document = await DocumentAsync();
        var responses = Operation(document, "POST", "/v1/campaigns/{campaignId}/participations")!.Value.GetProperty("responses");

        var created = responses.GetProperty("201").GetProperty("content").GetProperty("application/json");
        var example = created.GetProperty("example");
        foreach (var member in new[] { "participationId", "campaignId", "sub", "number", "limit", "remaining", "canWin", "gift" })
        {
            example.TryGetProperty(member, out _).ShouldBeTrue(member);
        }

        foreach (var (status, codes) in ParticipationCodes)
        {
            var response = responses.GetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var listed = response.GetProperty("x-problem-codes").EnumerateArray().Select(c => c.GetString()).ToList();
            var problem = response.GetProperty("content").GetProperty("application/problem+json");
            problem.GetProperty("schema").GetProperty("$ref").GetString().ShouldBe("#/components/schemas/Problem");
            foreach (var code in codes)
            {
                listed.ShouldContain(code, $"{status} {code}");
                var sample = problem.GetProperty("examples").GetProperty(code).GetProperty("value");
                sample.GetProperty("code").GetString().ShouldBe(code);
                sample.GetProperty("status").GetInt32().ShouldBe(status);
                sample.GetProperty("type").GetString().ShouldBe("urn:participation:problem:" + code);
            }
        }

        // Beyond the contract's table: the rate limiter's 429 and the 500 and 503 any call may answer.
        foreach (var (status, code) in new[] { (429, "rate_limited"), (500, "internal_error"), (503, "service_unavailable") })
        {
            var response = responses.GetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            response.GetProperty("x-problem-codes").EnumerateArray().Select(c => c.GetString()).ShouldBe([code]);
            var sample = response.GetProperty("content").GetProperty("application/problem+json").GetProperty("examples").GetProperty(code).GetProperty("value");
            sample.GetProperty("status").GetInt32().ShouldBe(status);
            sample.GetProperty("title").GetString().ShouldNotBe("Error");
        }

        // The token travels in the query string, a form, a Bearer header or JSON: all four are described.
        var operation = Operation(document, "POST", "/v1/campaigns/{campaignId}/participations")!.Value;
        operation.GetProperty("parameters").EnumerateArray().ShouldContain(p => p.GetProperty("name").GetString() == "qual_token");
        var body = operation.GetProperty("requestBody").GetProperty("content");
        body.TryGetProperty("application/json", out _).ShouldBeTrue();
        body.TryGetProperty("application/x-www-form-urlencoded", out _).ShouldBeTrue();
        operation.GetProperty("security").EnumerateArray().ShouldContain(s => Has(s, ApiContract.SecureTokenScheme));
    }

    [Fact]
    public async Task Every_code_the_service_answers_is_in_the_document_and_in_the_problem_schema()
    {
        var document = await DocumentAsync();
        var text = document.GetRawText();
        var schemaCodes = document.GetProperty("components").GetProperty("schemas").GetProperty("Problem")
            .GetProperty("properties").GetProperty("code").GetProperty("enum").EnumerateArray().Select(c => c.GetString()).ToList();
        foreach (var code in ParticipationCodes.SelectMany(c => c.Codes).Concat(["api_key_missing", "api_key_invalid", "account_not_found", "not_found", "rate_limited", "internal_error", "service_unavailable"]))
        {
            schemaCodes.ShouldContain(code);
            text.ShouldContain($"\"{code}\"");
        }
    }

    [Fact]
    public async Task Management_calls_say_they_need_an_api_key_and_show_request_and_answer_examples()
    {
        var document = await DocumentAsync();
        var put = Operation(document, "PUT", "/v1/campaigns/{campaignId}")!.Value;
        put.GetProperty("security").EnumerateArray().ShouldContain(s => Has(s, ApiContract.ApiKeyScheme));
        var request = put.GetProperty("requestBody").GetProperty("content").GetProperty("application/json");
        request.GetProperty("example").GetProperty("limits").GetProperty("perParticipant").GetInt32().ShouldBe(3);
        request.GetProperty("schema").GetProperty("$ref").GetString().ShouldBe("#/components/schemas/CampaignRequest");
        put.GetProperty("responses").GetProperty("401").GetProperty("x-problem-codes").EnumerateArray()
            .Select(c => c.GetString()).ShouldBe(["api_key_missing", "api_key_invalid"], ignoreOrder: true);

        var schemas = document.GetProperty("components").GetProperty("schemas");
        schemas.GetProperty("CampaignRequest").GetProperty("properties").GetProperty("limits")
            .GetRawText().ShouldContain("\"integer\"");

        var report = Operation(document, "GET", "/v1/campaigns/{campaignId}/report")!.Value;
        report.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json")
            .GetProperty("example").GetProperty("byDay").GetArrayLength().ShouldBeGreaterThan(0);

        document.GetProperty("components").GetProperty("securitySchemes").GetProperty(ApiContract.ApiKeyScheme)
            .GetProperty("scheme").GetString().ShouldBe("bearer");
    }

    [Fact]
    public async Task Every_documented_operation_has_a_summary_and_no_route_of_the_v1_api_is_left_undocumented()
    {
        var document = await DocumentAsync();
        var documented = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                operation.Value.GetProperty("summary").GetString().ShouldNotBeNullOrWhiteSpace($"{operation.Name} {path.Name}");
                documented.Add(ApiContract.KeyOf(operation.Name, path.Name));
            }
        }

        foreach (var key in MappedRoutes().Where(k => k.Contains(" /v1/", StringComparison.Ordinal)))
        {
            documented.ShouldContain(key);
        }
    }

    [Fact]
    public async Task The_interactive_reference_is_served_by_the_service_itself()
    {
        using var client = app.Client();
        var page = await client.GetStringAsync("/docs/", Ct);
        page.ShouldContain("<title>Participation API</title>");
        page.ShouldContain("openapi/v1.json");
        page.ShouldNotContain("https://", Case.Insensitive);
        // None of Scalar's online features: they would send the document to Scalar's servers (and fail offline).
        page.ShouldContain("\"agent\":{\"disabled\":true}");
        page.ShouldContain("\"mcp\":{\"disabled\":true}");
        page.ShouldContain("\"showDeveloperTools\":\"never\"");

        var script = await client.GetAsync("/docs/scalar.js", Ct);
        script.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await script.Content.ReadAsByteArrayAsync(Ct)).Length.ShouldBeGreaterThan(100_000);
    }

    private static bool Has(JsonElement element, string name) => element.TryGetProperty(name, out _);

    private HashSet<string> MappedRoutes()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in app.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = endpoint.RoutePattern.RawText ?? "";
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
            {
                keys.Add(ApiContract.KeyOf(method, pattern));
                if (pattern.StartsWith("/docs", StringComparison.Ordinal))
                {
                    keys.Add(ApiContract.KeyOf(method, "/docs"));
                }

                if (pattern.StartsWith("/openapi/{documentName}", StringComparison.Ordinal))
                {
                    keys.Add(ApiContract.KeyOf(method, "/openapi/v1.json"));
                }
            }
        }

        return keys;
    }
}

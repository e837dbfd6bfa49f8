using Scalar.AspNetCore;

namespace Participation.Api.Hosting.ApiReference;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c> (ASP.NET Core's generator, completed by <see cref="ApiContract"/>)
/// and the interactive reference at <c>/docs</c> (Scalar, served from the service itself: no CDN, no web fonts, no
/// telemetry, and none of Scalar's online features, which would send the document to Scalar's servers: no AI agent,
/// no MCP, no developer toolbar with its "share" and "generate SDK" links).
/// </summary>
public static class ApiReferenceSetup
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/openapi/v1.json";
    public const string ReferencePath = "/docs";

    public static IServiceCollection AddParticipationApiReference(this IServiceCollection services)
    {
        services.AddOpenApi(DocumentName, options =>
        {
            options.AddOperationTransformer<ContractOperationTransformer>();
            options.AddDocumentTransformer<ContractDocumentTransformer>();
            options.AddSchemaTransformer<StrictNumberSchemaTransformer>();
        });
        return services;
    }

    public static WebApplication MapParticipationApiReference(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference(ReferencePath, options => options
            .WithTitle("Participation API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")
            .AddDocument(DocumentName)
            .DisableDefaultFonts()
            .DisableTelemetry()
            .DisableAgent()
            .DisableMcp()
            .HideDeveloperTools());
        return app;
    }
}

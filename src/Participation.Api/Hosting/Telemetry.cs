using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Participation.Api.Hosting;

/// <summary>
/// OpenTelemetry for operators: the service's own meter (<see cref="ParticipationMetrics"/>), ASP.NET Core's and
/// Npgsql's, and traces of requests, Wolverine and Marten. Metrics are scraped at <c>/metrics</c> (Prometheus text
/// format; <c>Participation:Metrics:Prometheus=false</c> turns it off). When an OTLP endpoint is configured (the
/// standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, or a signal's own <c>OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT</c>),
/// traces, metrics and logs are pushed over OTLP, configured by the other standard <c>OTEL_*</c> variables
/// (protocol, headers, <c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>...); traces are recorded only then.
/// </summary>
public static class Telemetry
{
    public const string ServiceName = "participation";

    /// <summary>The OTLP endpoint settings, any of which turns the export on.</summary>
    public static readonly IReadOnlyList<string> OtlpEndpointSettings =
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    ];

    /// <summary>Whether an OTLP endpoint is configured (non-blank).</summary>
    public static bool ExportsOtlp(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return OtlpEndpointSettings.Any(name => !string.IsNullOrWhiteSpace(configuration[name]));
    }

    public static void AddParticipationTelemetry(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var otlp = ExportsOtlp(builder.Configuration);
        var prometheus = builder.Configuration.GetValue("Participation:Metrics:Prometheus", true);

        var telemetry = builder.Services.AddOpenTelemetry();
        telemetry
            // OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES) name the service as usual; "participation" otherwise.
            .ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ParticipationMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Npgsql", "System.Net.Http");
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });

        // Traces only when there is somewhere to send them: recording activities for every request, Wolverine message,
        // Marten session and Npgsql command with no exporter costs CPU on the hot path and shows nothing to anyone.
        if (otlp)
        {
            // The exporter of every signal, with the signal-specific OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_* variables
            // (AddOtlpExporter per signal reads only the general ones). Logs are exported as the logging filters let them.
            telemetry.UseOtlpExporter();
            telemetry.WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation(options =>
                    // The query string may carry a token (qual_token): traces record the path only.
                    options.EnrichWithHttpRequest = (activity, _) => activity.SetTag("url.query", null));
                // System.Net.Http: outgoing calls (partners' JWKS endpoints), with the W3C trace context .NET propagates itself.
                tracing.AddSource("Wolverine", "Marten", "Npgsql", "System.Net.Http");
            });
        }
    }

    public static void MapParticipationTelemetry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Configuration.GetValue("Participation:Metrics:Prometheus", true))
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }
    }
}

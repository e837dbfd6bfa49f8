using System.Text.Json;
using System.Text.Json.Serialization;
using JasperFx;
using JasperFx.CodeGeneration;
using Marten;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Participation.Api.Accounts;
using Participation.Api.ApiKeys;
using Participation.Api.Audit;
using Participation.Api.Auth;
using Participation.Api.Campaigns;
using Participation.Api.Hosting.ApiReference;
using Participation.Api.Hosting.Database;
using Participation.Api.Pages;
using Participation.Api.Participations;
using Participation.Api.Reports;
using Participation.Domain;
using Weasel.Core;
using Wolverine;
using Wolverine.Marten;

namespace Participation.Api.Hosting;

public static class ParticipationHosting
{
    public const string ConnectionStringName = "Marten";
    public const string SchemaName = "participation";

    /// <summary>
    /// The largest request body of any route (management bodies: token settings with ten PEM keys fit well under
    /// it); the participation route has its own, smaller limit.
    /// </summary>
    public const long MaxRequestBodyBytes = 256 * 1024;

    /// <summary>Everything the service needs: database (configured or embedded), Marten, Wolverine, token checks, problems.</summary>
    public static async Task AddParticipationAsync(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.Configure<ParticipationOptions>(builder.Configuration.GetSection(ParticipationOptions.Section));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<AdminKey>();
        services.AddSingleton<ApiKeyVerifier>();
        services.AddSingleton<SecureTokenValidator>();
        services.AddSingleton<AccountSecrets>();
        services.AddSingleton<ParticipationMetrics>();
        builder.AddParticipationTelemetry();
        builder.AddSecretsAtRest();
        builder.AddParticipationRateLimiting();
        builder.AddKeySources();
        services.AddProblemDetails();
        services.AddParticipationProblemCodes();
        services.AddExceptionHandler<ExceptionProblems>();
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<HandlerWarmupHealthCheck>("participation-handler", tags: ["ready"]);
        services.AddParticipationApiReference();
        services.AddParticipationPages(builder.Configuration);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        });

        // A token may come in the query string: let the service answer token_too_large itself instead of Kestrel's bare 414.
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestLineSize = 64 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
            k.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            k.AddServerHeader = false;
        });

        // Tokens are never logged: ASP.NET Core's "Request starting" line (Information) carries the full URL, and a
        // token may be in the query string (qual_token). Its category is kept at Warning whatever the configuration
        // says for Microsoft.AspNetCore; request paths still appear in the other framework logs.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);

        // Wolverine logs every failed attempt of a message under the message's type name, at Error. For participations
        // those are the expected creation races it retries; what finally fails reaches ExceptionProblems, which logs it.
        builder.Logging.AddFilter(typeof(Domain.Participations.ParticipationRequested).FullName, LogLevel.Critical);

        var connectionString = ConnectionDefaults.Apply(await ResolveDatabaseAsync(builder));

        services.AddMarten(options =>
            {
                options.Connection(connectionString);
                options.DatabaseSchemaName = SchemaName;
                options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase);
                options.ConfigureParticipation();
                options.Schema.For<Account>().Identity(x => x.Id);
                options.Schema.For<DataProtectionKeyDocument>().Identity(x => x.Id);
                options.Schema.For<ApiKey>().Identity(x => x.Id).Index(x => x.AccountId);
                options.Events.AddEventType<AccountSaved>();
                options.Events.AddEventType<SecureTokenConfigured>();
                options.Events.AddEventType<ApiKeyCreated>();
                options.Events.AddEventType<ApiKeyRevoked>();
                options.Events.AddEventType<CampaignSaved>();
                options.Projections.Errors.SkipApplyErrors = false;
                options.Projections.Errors.SkipSerializationErrors = false;
                options.Projections.Errors.SkipUnknownEvents = false;
            })
            .UseLightweightSessions()
            .ApplyAllDatabaseChangesOnStartup()
            .InitializeWith<ReportingUpgrade>()
            .IntegrateWithWolverine(integration =>
            {
                // Async projections (campaign reports, participation rows) run on exactly one API process, chosen and
                // failed over by Wolverine's leader election; a single process runs them all.
                integration.UseWolverineManagedEventSubscriptionDistribution = true;
            });

        builder.Host.UseWolverine(options =>
        {
            options.ApplicationAssembly = typeof(ParticipationHosting).Assembly;
            // The participation handler is pre-generated (Internal/Generated, `codegen write`) and compiled with the
            // service: a new process is ready in half the time. Auto falls back to generating at run time for a chain
            // with no pre-generated type; .ci/run fails when the committed code is not what `codegen write` produces.
            options.UseRuntimeCompilation();
            options.CodeGeneration.TypeLoadMode = TypeLoadMode.Auto;
            options.Policies.AutoApplyTransactions();

            // `dotnet run` is one process: no leader to elect before the reports' daemon starts (in the other modes,
            // the election took 20-25 s after start, so a newcomer's first report said "pending").
            if (builder.Environment.IsDevelopment())
            {
                options.Durability.Mode = DurabilityMode.Solo;
            }
        });

        // Participations are decided and committed in batches (ParticipationWriter), which retry their own lost races.
        services.Configure<ParticipationWriterOptions>(builder.Configuration.GetSection(ParticipationWriterOptions.Section));
        services.AddSingleton<ParticipationWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<ParticipationWriter>());
        services.AddSingleton<CampaignDirectory>();

        // Marten's default logger writes failed commands with their parameter values (events: personal data).
        services.ConfigureMarten((sp, options) => options.Logger(new MartenLogging(sp.GetRequiredService<ILogger<IDocumentStore>>())));

        // Registered after Wolverine, so Wolverine has started when it runs.
        services.AddSingleton<HandlerWarmup>();
        services.AddHostedService(sp => sp.GetRequiredService<HandlerWarmup>());

        if (builder.Environment.IsDevelopment())
        {
            services.AddHostedService<DemoSeeder>();
        }
    }

    public static WebApplication UseParticipation(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseParticipationRateLimiting();

        app.MapParticipationTelemetry();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapAccountEndpoints();
        app.MapEncryptionKeyEndpoints();
        app.MapApiKeyEndpoints();
        app.MapAuditEndpoints();
        app.MapCampaignEndpoints();
        app.MapParticipationEndpoints();
        app.MapReportEndpoints();
        app.MapParticipationApiReference();
        app.MapPageEndpoints();
        return app;
    }

    /// <summary>
    /// A lost race on a participant's stream, whatever form Marten gives it: a concurrency exception, a stream
    /// creation collision, or the raw PostgreSQL errors behind them when they reach us untranslated (the quick-append
    /// function's version mismatch MT003, a unique violation 23505 on the stream or event tables).
    /// </summary>
    internal static bool IsWriteRace(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is ConcurrencyException or Marten.Exceptions.ExistingStreamIdCollisionException
                || e is Npgsql.PostgresException { SqlState: "MT003" or Npgsql.PostgresErrorCodes.UniqueViolation })
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<string> ResolveDatabaseAsync(WebApplicationBuilder builder)
    {
        // The host's logging is not built yet: the embedded database logs through its own console logger, kept alive
        // as long as the server so that its shutdown is logged too.
        // Standard error: commands such as `token mint` print their result on standard output, alone.
        // It follows the Logging section like the host's loggers (JSON lines in Production).
        var loggerFactory = LoggerFactory.Create(logging => logging
            .AddConfiguration(builder.Configuration.GetSection("Logging"))
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        var logger = loggerFactory.CreateLogger("Participation.Database");
        var (connectionString, server) = await DatabaseLocator.ResolveAsync(
            builder.Configuration, builder.Environment.ContentRootPath, logger, CancellationToken.None);
        if (server is null)
        {
            loggerFactory.Dispose();
        }
        else
        {
            // Registered first so that it stops last, after Wolverine and Marten let go of their connections.
            builder.Services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(new LocalDatabaseLifetime(server, loggerFactory)));
        }

        return connectionString;
    }
}

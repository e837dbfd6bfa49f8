using JasperFx;
using Participation.Api.Hosting;
using Spectre.Console;

if (args.Contains(HealthProbe.Flag))
{
    return await HealthProbe.RunAsync(args, Console.Out);
}

if (args.Length > 0 && args[0] == "token")
{
    // JasperFx prints its command discovery ("Searching '...' for commands") on standard output; `token mint` promises
    // the token alone there (`TOKEN=$(dotnet Participation.Api.dll token mint ...)`), so JasperFx's own output goes to
    // standard error.
    AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
}

var app = await ParticipationApp.CreateAsync(new WebApplicationOptions { Args = args });
if (args.Length == 0)
{
    // The service itself (the container's entry point, `dotnet run`): the host runs as JasperFx's `run` would run it,
    // without JasperFx's discovery banner, whose plain lines would break the one-JSON-object-per-line console logs of
    // Production. Commands (codegen, projections, token, help) go through JasperFx's command line.
    await app.RunAsync();
    return 0;
}

return await app.RunJasperFxCommands(args);

/// <summary>Entry point; public for the integration tests' <c>AlbaHost.For&lt;Program&gt;</c>.</summary>
public partial class Program;

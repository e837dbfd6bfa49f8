using JasperFx;
using Participation.Api.Hosting;

if (args.Contains(HealthProbe.Flag))
{
    return await HealthProbe.RunAsync(args, Console.Out);
}

var app = await ParticipationApp.CreateAsync(new WebApplicationOptions { Args = args });
return await app.RunJasperFxCommands(args);

/// <summary>Entry point; public for the integration tests' <c>AlbaHost.For&lt;Program&gt;</c>.</summary>
public partial class Program;

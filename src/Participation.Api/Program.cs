using JasperFx;
using Participation.Api.Hosting;

var app = await ParticipationApp.CreateAsync(new WebApplicationOptions { Args = args });
return await app.RunJasperFxCommands(args);

/// <summary>Entry point; public for the integration tests' <c>AlbaHost.For&lt;Program&gt;</c>.</summary>
public partial class Program;

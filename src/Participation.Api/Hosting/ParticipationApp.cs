namespace Participation.Api.Hosting;

/// <summary>Builds the whole service; <c>Program</c> runs it, tests host it on Kestrel with their own settings.</summary>
public static class ParticipationApp
{
    public static async Task<WebApplication> CreateAsync(WebApplicationOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(options);
        configure?.Invoke(builder);
        await builder.AddParticipationAsync();

        var app = builder.Build();
        app.UseParticipation();
        return app;
    }
}

namespace Participation.Api.Hosting;

/// <summary>
/// <c>dotnet Participation.Api.dll --health [url]</c>: asks the running service's readiness endpoint and exits 0 when
/// it answers 200, 1 otherwise, within 3 seconds. For container health checks: the ASP.NET Core runtime image has no
/// curl or wget. It starts nothing (no database, no host): <c>Program</c> runs it before building the service.
/// </summary>
public static class HealthProbe
{
    public const string Flag = "--health";

    /// <summary>
    /// The URL to probe: the argument after <c>--health</c>, or <c>/health/ready</c> on loopback at the port of the
    /// first <c>http://</c> address of <c>ASPNETCORE_URLS</c>, else the first port of <c>ASPNETCORE_HTTP_PORTS</c> (the
    /// container images set 8080), else 8080.
    /// </summary>
    public static Uri Target(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var at = args.ToList().IndexOf(Flag);
        if (at >= 0 && at + 1 < args.Count && Uri.TryCreate(args[at + 1], UriKind.Absolute, out var given))
        {
            return given;
        }

        // ASPNETCORE_URLS wins over ASPNETCORE_HTTP_PORTS in ASP.NET Core, so it does here too.
        var port = HttpPortOf(environment("ASPNETCORE_URLS"))
            ?? (environment("ASPNETCORE_HTTP_PORTS") ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault()
            ?? "8080";
        return new Uri($"http://127.0.0.1:{port}/health/ready");
    }

    /// <summary>The port of the first <c>http://</c> address of <c>ASPNETCORE_URLS</c> (hosts such as <c>+</c> or <c>*</c> allowed).</summary>
    private static string? HttpPortOf(string? urls)
    {
        foreach (var url in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var authority = url["http://".Length..].Split('/')[0];
            var colon = authority.LastIndexOf(':');
            var port = colon < 0 ? "80" : authority[(colon + 1)..];
            return port.Length > 0 && port.All(char.IsAsciiDigit) ? port : null;
        }

        return null;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var target = Target(args, Environment.GetEnvironmentVariable);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(target);
            await output.WriteLineAsync($"{target}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await output.WriteLineAsync($"{target}: {ex.Message}");
            return 1;
        }
    }
}

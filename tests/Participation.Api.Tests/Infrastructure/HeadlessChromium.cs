using System.Diagnostics;
using Microsoft.Playwright;
using Xunit;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>
/// Playwright for .NET driving the system's Chromium (Debian's <c>chromium</c> package: Playwright's own browser
/// download is not used). When no Chromium is installed, it is installed with apt-get where that is possible (root);
/// otherwise the browser tests skip, saying why. <c>.ci/run</c> installs it beforehand.
/// </summary>
public sealed class HeadlessChromium : IAsyncLifetime
{
    /// <summary>Where Chromium may be; <c>PARTICIPATION_CHROMIUM</c> names another one.</summary>
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];

    private static readonly string[] Arguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic",
    ];

    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private IPlaywright? _playwright;

    public IBrowser? Browser { get; private set; }

    public string? Unavailable { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var executable = await FindOrInstallAsync();
        if (executable is null)
        {
            return;
        }

        try
        {
            _playwright = await Playwright.CreateAsync();
            Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = executable,
                Headless = true,
                Args = Arguments,
                Timeout = 60_000,
            });
        }
        catch (PlaywrightException ex)
        {
            Unavailable = $"Chromium at {executable} could not be started by Playwright: {ex.Message}";
        }
    }

    /// <summary>The browser, or the test is skipped with the reason none could be had.</summary>
    public IBrowser Require()
    {
        if (Browser is null)
        {
            Assert.Skip(Unavailable ?? "No browser.");
        }

        return Browser;
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
    }

    private async Task<string?> FindOrInstallAsync()
    {
        if (Find() is { } found)
        {
            return found;
        }

        await InstallLock.WaitAsync();
        try
        {
            if (Find() is { } installed)
            {
                return installed;
            }

            if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
            {
                Unavailable = "No Chromium found (/usr/bin/chromium) and it cannot be installed here (apt-get as root): install Debian's chromium package to run the browser tests.";
                return null;
            }

            var log = await RunAsync("/usr/bin/apt-get", "install -y -qq --no-install-recommends chromium");
            if (Find() is null)
            {
                log += await RunAsync("/usr/bin/apt-get", "update -qq");
                log += await RunAsync("/usr/bin/apt-get", "install -y -qq --no-install-recommends chromium");
            }

            if (Find() is { } afterInstall)
            {
                return afterInstall;
            }

            Unavailable = "Chromium could not be installed with apt-get: " + log.Trim()[^Math.Min(400, log.Trim().Length)..];
            return null;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static string? Find() =>
        new[] { Environment.GetEnvironmentVariable("PARTICIPATION_CHROMIUM") }.Concat(Candidates).FirstOrDefault(File.Exists);

    private static async Task<string> RunAsync(string program, string arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return "apt-get timed out after 10 minutes.";
        }

        return await output + await error;
    }
}

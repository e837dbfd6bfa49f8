using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Pages;

/// <summary>
/// The browser tests share one headless Chromium and run one class after the other (the machine has few cores;
/// a second browser would only slow both).
/// </summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<HeadlessChromium>
{
    public const string Name = "Browser";
}

/// <summary>
/// A fresh browser context (no cookies, no session storage) with one page on the Kestrel instance of
/// <see cref="AppFixture"/>: real HTTP on loopback. It records what the page would show a developer in the console:
/// script errors and Content-Security-Policy violations, which the tests require to be none.
/// </summary>
public sealed partial class BrowserTab : IAsyncDisposable
{
    /// <summary>Bounded waits for anything the page does (a loaded 2-core machine can be slow), never a sleep.</summary>
    public const float Timeout = 30_000;

    private readonly List<string> _problems = [];

    private BrowserTab(IBrowserContext context, IPage page, Uri baseAddress)
    {
        Context = context;
        Page = page;
        BaseAddress = baseAddress;
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                lock (_problems) _problems.Add("CSP: " + message.Text);
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_problems) _problems.Add("script error: " + error);
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public Uri BaseAddress { get; }

    public static async Task<BrowserTab> OpenAsync(HeadlessChromium chromium, AppFixture app)
    {
        var browser = chromium.Require();
        Assertions.SetDefaultExpectTimeout(Timeout);
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = app.KestrelAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1000, Height = 720 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(Timeout);
        context.SetDefaultNavigationTimeout(Timeout);
        var page = await context.NewPageAsync();
        return new BrowserTab(context, page, app.KestrelAddress);
    }

    /// <summary>Another tab of the same browser context (same origin, its own session storage).</summary>
    public async Task<IPage> NewPageAsync() => await Context.NewPageAsync();

    public ILocator this[string selector] => Page.Locator(selector);

    /// <summary>
    /// What a visitor reads is a sentence: no bare error code, no exception or stack trace, and the invitation appears
    /// nowhere (neither in the address bar nor anywhere in the document).
    /// </summary>
    public async Task ShouldShowOnlyHumanTextAsync(string? token = null, IPage? page = null)
    {
        page ??= Page;
        var text = await page.Locator("body").InnerTextAsync();
        SnakeCaseCode().Matches(text).Select(m => m.Value).ShouldBeEmpty($"error codes in the page's text: {text}");
        text.ShouldNotContain("Exception");
        StackFrame().IsMatch(text).ShouldBeFalse($"a stack trace in the page's text: {text}");
        if (token is not null)
        {
            page.Url.ShouldNotContain("qual_token");
            page.Url.ShouldNotContain(token);
            (await page.ContentAsync()).ShouldNotContain(token);
            (await page.TitleAsync()).ShouldNotContain(token);
        }
    }

    /// <summary>No script error and no CSP violation happened in this tab so far.</summary>
    public void ShouldHaveNoConsoleProblems()
    {
        lock (_problems)
        {
            _problems.ShouldBeEmpty();
        }
    }

    /// <summary>Saves a screenshot of the whole page under <c>artifacts/screenshots/</c> of the repository.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var path = RepositoryFiles.PathOf("artifacts", "screenshots", name + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true, Animations = ScreenshotAnimations.Disabled });
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshot {name}: {path}");
        return path;
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();

    [GeneratedRegex(@"\b[a-z]+(?:_[a-z]+)+\b")]
    private static partial Regex SnakeCaseCode();

    [GeneratedRegex(@"\bat [A-Z][\w.]+\(|\.cs:line \d+")]
    private static partial Regex StackFrame();
}

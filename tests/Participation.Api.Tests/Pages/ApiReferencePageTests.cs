using Microsoft.Playwright;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Participation.Api.Tests.Pages;

/// <summary>
/// <c>/docs</c>, the interactive API reference, rendered by a real headless Chromium from the service alone: no
/// request leaves the service (many deployments, and this machine, have no internet).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ApiReferencePageTests(AppFixture app, HeadlessChromium chromium)
{
    [Fact]
    public async Task The_reference_renders_the_contract_with_nothing_fetched_from_elsewhere()
    {
        await using var tab = await BrowserTab.OpenAsync(chromium, app);
        var elsewhere = new List<string>();
        var service = tab.BaseAddress.GetLeftPart(UriPartial.Authority);
        await tab.Context.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url.StartsWith(service, StringComparison.Ordinal) || !route.Request.Url.StartsWith("http", StringComparison.Ordinal))
            {
                await route.ContinueAsync();
            }
            else
            {
                lock (elsewhere) elsewhere.Add(route.Request.Url);
                await route.AbortAsync();
            }
        });

        var response = await tab.Page.GotoAsync("/docs");

        response!.Status.ShouldBe(200);
        await Expect(tab.Page.GetByRole(AriaRole.Heading, new() { Name = "Participation API", Exact = true })).ToBeVisibleAsync();
        await Expect(tab.Page.GetByText("Two kinds of credentials.")).ToBeVisibleAsync();
        foreach (var tag in new[] { "Participations", "Campaigns", "Accounts", "Reports", "Health" })
        {
            await Expect(tab.Page.GetByText(tag, new() { Exact = true }).First).ToBeVisibleAsync();
        }

        // The operation everyone comes for, opened from the sidebar.
        await tab.Page.GetByText("Participations", new() { Exact = true }).First.ClickAsync();
        await Expect(tab.Page.GetByText("Take part (the hot path)").First).ToBeVisibleAsync();

        // None of Scalar's online features is offered.
        await Expect(tab.Page.GetByText("Ask AI")).ToHaveCountAsync(0);
        await Expect(tab.Page.GetByText("Generate SDK")).ToHaveCountAsync(0);
        lock (elsewhere)
        {
            elsewhere.ShouldBeEmpty();
        }

        tab.ShouldHaveNoConsoleProblems();
    }
}

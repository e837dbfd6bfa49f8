using System.Collections.Frozen;
using System.Text.Encodings.Web;
using Marten;
using Microsoft.Extensions.Options;
using Participation.Api.Hosting;
using Participation.Domain.Campaigns;

namespace Participation.Api.Pages;

/// <summary><c>Participation:Pages</c>: the HTML pages.</summary>
public sealed class PageOptions
{
    public const string Section = "Participation:Pages";

    /// <summary>
    /// The CSP <c>frame-ancestors</c> of the play page: who may embed it in an iframe. <c>*</c> (the default) lets every
    /// partner embed it; list origins (<c>https://www.partner.example https://m.partner.example</c>) to restrict it.
    /// A page that frames the play page cannot take part for a visitor: that needs a token the partner signed for them.
    /// </summary>
    public string FrameAncestors { get; set; } = "*";
}

/// <summary>
/// The pages people see: <c>/play/{campaignId}?qual_token=...</c>, the landing page a partner links to or embeds, and
/// <c>/dashboard/{campaignId}</c>, the figures of a campaign for its account's marketers (the page asks for an API key
/// and calls the report API with it). Server-rendered HTML and small vanilla scripts served from the assembly: no build
/// step, no CDN. Each page has a strict Content-Security-Policy (scripts, styles and requests to this origin only), no
/// referrer (the token is in the URL) and no caching.
/// </summary>
public static class PageEndpoints
{
    public const string AssetPrefix = "/assets/";

    private static readonly FrozenDictionary<string, (byte[] Content, string ContentType)> Assets = LoadAssets();

    public static IServiceCollection AddParticipationPages(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<PageOptions>(configuration.GetSection(PageOptions.Section));
        return services;
    }

    public static IEndpointRouteBuilder MapPageEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/play/{campaignId}", PlayAsync).WithName("PlayPage").ExcludeFromDescription();
        app.MapGet("/dashboard/{campaignId}", Dashboard).WithName("DashboardPage").ExcludeFromDescription();
        app.MapGet(AssetPrefix + "{file}", Asset).WithName("PageAsset").ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> PlayAsync(string campaignId, HttpContext http, IQuerySession session, IOptions<PageOptions> options, CancellationToken ct)
    {
        var campaign = Identifiers.IsValid(campaignId) ? await session.LoadAsync<Campaign>(campaignId, ct) : null;
        SetPageHeaders(http, options.Value.FrameAncestors);
        var basePath = http.Request.PathBase.Value ?? "";
        if (campaign is null)
        {
            return Html(StatusCodes.Status404NotFound, Layout(basePath, "Campaign not found", "play",
                $$"""
                <main class="card" id="play">
                  <h1>Campaign not found</h1>
                  <p class="message refused" id="status">This campaign does not exist (any more). Please go back to the site that sent you here.</p>
                </main>
                <script src="{{HtmlEncoder.Default.Encode(basePath)}}{{AssetPrefix}}play.js" defer></script>
                """));
        }

        var e = HtmlEncoder.Default;
        var perParticipant = campaign.Limits.PerParticipant;
        return Html(StatusCodes.Status200OK, Layout(basePath, campaign.Name, "play",
            $"""
            <main class="card" id="play" data-campaign="{e.Encode(campaign.Id)}" data-api="{e.Encode(basePath)}">
              <p class="eyebrow">Campaign</p>
              <h1 id="campaign-name">{e.Encode(campaign.Name)}</h1>
              <p class="rules">Up to {perParticipant} participation{(perParticipant == 1 ? "" : "s")} per person, unless your invitation says otherwise.</p>
              <section class="counter" aria-live="polite">
                <span class="count" id="remaining">–</span>
                <span class="count-label" id="remaining-label">participations left</span>
              </section>
              <p class="message" id="status" role="status">Checking your invitation…</p>
              <button type="button" id="take-part" disabled>Take part</button>
              <p class="message" id="result" role="status" hidden></p>
              <noscript><p class="message refused">This page needs JavaScript to check your invitation and let you take part.</p></noscript>
            </main>
            <script src="{e.Encode(basePath)}{AssetPrefix}play.js" defer></script>
            """));
    }

    private static IResult Dashboard(string campaignId, HttpContext http)
    {
        // Nothing about the campaign is rendered here: the page learns it through the API, with the key it is given.
        SetPageHeaders(http, "'none'");
        var e = HtmlEncoder.Default;
        var basePath = http.Request.PathBase.Value ?? "";
        return Html(StatusCodes.Status200OK, Layout(basePath, "Campaign dashboard", "dashboard",
            $"""
            <main class="wide" id="dashboard" data-campaign="{e.Encode(campaignId)}" data-api="{e.Encode(basePath)}">
              <header class="bar">
                <div>
                  <p class="eyebrow">Campaign dashboard</p>
                  <h1 id="campaign-name">{e.Encode(campaignId)}</h1>
                </div>
                <form id="key-form" autocomplete="off">
                  <label for="api-key">API key</label>
                  <input type="password" id="api-key" name="api-key" placeholder="pk_… (the account's key)" required>
                  <button type="submit" id="show">Show</button>
                  <button type="button" id="forget" class="secondary" hidden>Forget key</button>
                </form>
              </header>
              <p class="message" id="status" role="status">Enter the account's API key to see this campaign's figures.</p>
              <section id="report" hidden>
                <div class="figures">
                  <div class="figure"><span class="value" id="accepted">0</span><span class="label">participations</span></div>
                  <div class="figure"><span class="value" id="unique">0</span><span class="label">participants</span></div>
                  <div class="figure"><span class="value" id="at-limit">0</span><span class="label">at their limit</span></div>
                  <div class="figure"><span class="value" id="refused">0</span><span class="label">refused</span></div>
                </div>
                <h2>Participations per day <span class="legend"><span class="swatch accepted"></span>accepted <span class="swatch rejected"></span>refused</span></h2>
                <div id="chart" class="chart"></div>
                <div class="columns">
                  <div>
                    <h2>Refusals by reason</h2>
                    <table id="refusals"><thead><tr><th>reason</th><th>count</th></tr></thead><tbody></tbody></table>
                  </div>
                  <div>
                    <h2>Days</h2>
                    <table id="days"><thead><tr><th>day</th><th>accepted</th><th>refused</th><th>new participants</th></tr></thead><tbody></tbody></table>
                  </div>
                </div>
                <p class="as-of" id="as-of"></p>
                <p><button type="button" id="refresh" class="secondary">Refresh</button> <button type="button" id="export" class="secondary">Export CSV</button></p>
              </section>
            </main>
            <script src="{e.Encode(basePath)}{AssetPrefix}dashboard.js" defer></script>
            """));
    }

    private static IResult Asset(string file, HttpContext http)
    {
        if (!Assets.TryGetValue(file, out var asset))
        {
            return Results.NotFound();
        }

        http.Response.Headers.CacheControl = "public, max-age=300";
        if (file == "embed.js")
        {
            // Loaded by partners' pages from their own origin.
            http.Response.Headers["Cross-Origin-Resource-Policy"] = "cross-origin";
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static void SetPageHeaders(HttpContext http, string frameAncestors)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
            $"base-uri 'none'; form-action 'none'; frame-ancestors {frameAncestors}";
        headers.CacheControl = "no-store";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        if (frameAncestors == "'none'")
        {
            headers.XFrameOptions = "DENY";
        }
    }

    private static IResult Html(int status, string html) => Results.Content(html, "text/html; charset=utf-8", statusCode: status);

    private static string Layout(string basePath, string title, string page, string body) =>
        $"""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <meta name="referrer" content="no-referrer">
          <title>{HtmlEncoder.Default.Encode(title)}</title>
          <link rel="stylesheet" href="{HtmlEncoder.Default.Encode(basePath)}{AssetPrefix}pages.css">
        </head>
        <body class="{page}">
        {body}
        </body>
        </html>
        """;

    private static FrozenDictionary<string, (byte[] Content, string ContentType)> LoadAssets()
    {
        var assembly = typeof(PageEndpoints).Assembly;
        const string prefix = "Participation.Pages.";
        var assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var file = name[prefix.Length..];
            var type = Path.GetExtension(file) switch
            {
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            assets[file] = (buffer.ToArray(), type);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

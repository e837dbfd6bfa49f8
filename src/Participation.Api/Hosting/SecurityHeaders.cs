namespace Participation.Api.Hosting;

/// <summary>
/// Headers every answer carries unless an endpoint set its own: no MIME sniffing, no referrer (a token may be in the
/// URL), no framing of API answers, and no caching of answers that carry credentials or personal data.
/// HTML pages set their own Content-Security-Policy; none is imposed here.
/// </summary>
public static class SecurityHeaders
{
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.TryAdd("X-Content-Type-Options", "nosniff");
            headers.TryAdd("Referrer-Policy", "no-referrer");
            // A page that says who may frame it (CSP frame-ancestors, such as the embeddable play page) keeps its choice.
            if (!headers.ContentSecurityPolicy.ToString().Contains("frame-ancestors", StringComparison.Ordinal))
            {
                headers.TryAdd("X-Frame-Options", "DENY");
            }
            if (context.Request.Path.StartsWithSegments("/v1"))
            {
                headers.TryAdd("Cache-Control", "no-store");
            }

            return Task.CompletedTask;
        });
        await next(context);
    });
}

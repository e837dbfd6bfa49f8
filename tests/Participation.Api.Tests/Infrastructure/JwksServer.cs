using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>
/// A partner's JWKS endpoint, in-process on a loopback Kestrel port: what it serves (document, status, delay,
/// Cache-Control, chunked or not) can be changed at any time, and it counts the requests it answered.
/// </summary>
public sealed class JwksServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private volatile Response current = new(200, """{"keys":[]}""", TimeSpan.Zero, null, Chunked: false);
    private volatile TaskCompletionSource? hold;
    private int requests;

    private JwksServer(WebApplication app) => this.app = app;

    /// <summary>The URI of the JWK Set (<c>http://127.0.0.1:{port}/jwks.json</c>).</summary>
    public Uri Uri { get; private set; } = null!;

    /// <summary>Another URI of this server (<paramref name="path"/>, such as <c>/cert.pem</c>): requests to it are counted and answered 404.</summary>
    public Uri At(string path) => new(Uri, path);

    /// <summary>Requests received so far, on any path (including ones still waiting on <see cref="Delay"/>).</summary>
    public int Requests => Volatile.Read(ref requests);

    public static async Task<JwksServer> StartAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new JwksServer(app);
        // Every request is counted, whatever its path (a certificate URL, a probe: answered 404).
        app.Use((context, next) =>
        {
            Interlocked.Increment(ref server.requests);
            return next(context);
        });
        app.MapGet("/jwks.json", server.HandleAsync);
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.Uri = new Uri(new Uri(address), "/jwks.json");
        return server;
    }

    /// <summary>Serves these keys (JWK objects, see <see cref="TestJwk"/>), 200, no delay, no Cache-Control.</summary>
    public void Publish(params object[] keys) =>
        current = new Response(200, JsonSerializer.Serialize(new { keys }), TimeSpan.Zero, null, Chunked: false);

    /// <summary>Serves exactly this body with this status.</summary>
    public void Serve(string body, int status = 200, string? cacheControl = null, bool chunked = false) =>
        current = new Response(status, body, TimeSpan.Zero, cacheControl, chunked);

    /// <summary>Same document, with this Cache-Control header.</summary>
    public string? CacheControl
    {
        set => current = current with { CacheControl = value };
    }

    /// <summary>Same document, answered after this delay.</summary>
    public TimeSpan Delay
    {
        set => current = current with { Delay = value };
    }

    /// <summary>Same document with another status (e.g. 503 for an outage).</summary>
    public int Status
    {
        set => current = current with { Status = value };
    }

    /// <summary>
    /// From now on, every request hangs (headers not sent) until <see cref="Release"/>: an endpoint that accepted the
    /// connection and never answers. Lets a test observe what happens while a fetch is under way, without timing.
    /// </summary>
    public void Hold() => hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets the held requests (and the next ones) be answered.</summary>
    public void Release() => Interlocked.Exchange(ref hold, null)?.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stopping.Token);
        await app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (hold is { } held)
        {
            try
            {
                await held.Task.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var response = current;
        if (response.Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(response.Delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        context.Response.StatusCode = response.Status;
        context.Response.ContentType = "application/json";
        if (response.CacheControl is not null)
        {
            context.Response.Headers.CacheControl = response.CacheControl;
        }

        var bytes = Encoding.UTF8.GetBytes(response.Body);
        if (!response.Chunked)
        {
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
            return;
        }

        // No Content-Length: the client only learns the size by reading.
        for (var at = 0; at < bytes.Length; at += 8192)
        {
            await context.Response.Body.WriteAsync(bytes.AsMemory(at, Math.Min(8192, bytes.Length - at)), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    private sealed record Response(int Status, string Body, TimeSpan Delay, string? CacheControl, bool Chunked);
}

/// <summary>JWK objects (public parts only) for test keys, as a partner's JWKS publishes them.</summary>
public static class TestJwk
{
    /// <summary>The public JWK of <paramref name="key"/> (RSA or EC) with this kid and, when given, alg and use.</summary>
    public static Dictionary<string, object> Of(AsymmetricTestKey key, string kid, string? alg = null, string? use = "sig")
    {
        ArgumentNullException.ThrowIfNull(key);
        var jwk = new Dictionary<string, object> { ["kid"] = kid };
        switch (key.SigningKey)
        {
            case RsaSecurityKey rsaKey:
                var rsa = (rsaKey.Rsa ?? RSA.Create(rsaKey.Parameters)).ExportParameters(false);
                jwk["kty"] = "RSA";
                jwk["n"] = TestTokens.Base64Url(rsa.Modulus);
                jwk["e"] = TestTokens.Base64Url(rsa.Exponent);
                break;
            case ECDsaSecurityKey ecKey:
                var ec = ecKey.ECDsa.ExportParameters(false);
                jwk["kty"] = "EC";
                jwk["crv"] = ec.Q.X!.Length switch { 32 => "P-256", 48 => "P-384", _ => "P-521" };
                jwk["x"] = TestTokens.Base64Url(ec.Q.X);
                jwk["y"] = TestTokens.Base64Url(ec.Q.Y);
                break;
            default:
                throw new ArgumentException("An RSA or EC test key.", nameof(key));
        }

        if (alg is not null)
        {
            jwk["alg"] = alg;
        }

        if (use is not null)
        {
            jwk["use"] = use;
        }

        return jwk;
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Participation.Api.Auth;

/// <summary>What one fetch of a JWKS endpoint gave: the body and its <c>max-age</c>, or why it failed.</summary>
/// <param name="Failure">A short reason for logs and metrics (<c>timeout</c>, <c>http_503</c>, <c>too_large</c>...), null on success.</param>
internal sealed record JwksFetch(byte[]? Body, TimeSpan? MaxAge, string? Failure)
{
    public static JwksFetch Failed(string reason) => new(null, null, reason);
}

/// <summary>
/// Fetches JWKS documents with a bounded HTTP client: a connect timeout and a total timeout, a response size cap,
/// no redirects, no cookies, no proxy, https only unless <see cref="JwksOptions.AllowHttp"/>, and, unless
/// <see cref="JwksOptions.AllowPrivateNetworks"/>, public addresses only (checked on the address actually connected,
/// after DNS resolution, so a name resolving to an internal address is refused too).
/// </summary>
internal sealed class JwksFetcher(HttpClient client, JwksOptions options)
{
    public const string HttpClientName = "Participation.Jwks";

    public async Task<JwksFetch> FetchAsync(Uri uri, CancellationToken ct)
    {
        if (!IsAllowedScheme(uri, options.AllowHttp == true))
        {
            return JwksFetch.Failed("scheme_not_allowed");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/jwk-set+json"));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return JwksFetch.Failed($"http_{(int)response.StatusCode}");
            }

            if (response.Content.Headers.ContentLength > options.MaxResponseBytes)
            {
                return JwksFetch.Failed("too_large");
            }

            var body = await ReadLimitedAsync(response.Content, options.MaxResponseBytes, timeout.Token).ConfigureAwait(false);
            return body is null ? JwksFetch.Failed("too_large") : new JwksFetch(body, MaxAgeOf(response.Headers.CacheControl), null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return JwksFetch.Failed("timeout");
        }
        catch (HttpRequestException ex)
        {
            return JwksFetch.Failed(ex.InnerException is OperationCanceledException or TimeoutException ? "timeout" : "network");
        }
        catch (IOException)
        {
            return JwksFetch.Failed("network");
        }
    }

    /// <summary>https, or http where allowed; absolute, without user info or fragment.</summary>
    public static bool IsAllowedScheme(Uri uri, bool allowHttp) =>
        uri.IsAbsoluteUri
        && (uri.Scheme == Uri.UriSchemeHttps || (allowHttp && uri.Scheme == Uri.UriSchemeHttp))
        && string.IsNullOrEmpty(uri.UserInfo)
        && string.IsNullOrEmpty(uri.Fragment);

    /// <summary>The handler of the JWKS client.</summary>
    public static SocketsHttpHandler CreateHandler(JwksOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxResponseHeadersLength = 64,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (options.AllowPrivateNetworks != true)
        {
            handler.ConnectCallback = ConnectToPublicAddressAsync;
        }

        return handler;
    }

    /// <summary>The JWKS client: the handler above, and the total timeout as a last resort.</summary>
    public static HttpClient CreateClient(JwksOptions options) =>
        new(CreateHandler(options)) { Timeout = options.RequestTimeout + TimeSpan.FromSeconds(1) };

    /// <summary>
    /// Whether an address is on the public internet: not loopback, private (RFC 1918, unique local), carrier-grade NAT,
    /// link-local (cloud metadata services), multicast, unspecified or otherwise reserved.
    /// </summary>
    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)
                || (b[0] == 198 && (b[1] == 18 || b[1] == 19)));
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            Span<byte> b = stackalloc byte[16];
            address.TryWriteBytes(b, out _);
            var unspecified = address.Equals(IPAddress.IPv6None);
            var uniqueLocal = (b[0] & 0xFE) == 0xFC;
            var linkOrSiteLocal = b[0] == 0xFE && (b[1] & 0x80) == 0x80;
            var multicast = b[0] == 0xFF;
            var ipv4Compatible = b[..12].IndexOfAnyExcept((byte)0) < 0;
            return !(unspecified || uniqueLocal || linkOrSiteLocal || multicast || ipv4Compatible);
        }

        return false;
    }

    private static async ValueTask<Stream> ConnectToPublicAddressAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var endpoint = context.DnsEndPoint;
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, ct).ConfigureAwait(false);
        foreach (var address in addresses.Where(IsPublic))
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new HttpRequestException("The JWKS host has no reachable public address.");
    }

    private static async Task<byte[]?> ReadLimitedAsync(HttpContent content, int maxBytes, CancellationToken ct)
    {
        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return null;
                }

                await buffer.WriteAsync(chunk.AsMemory(0, read), ct).ConfigureAwait(false);
            }

            return buffer.ToArray();
        }
    }

    private static TimeSpan? MaxAgeOf(CacheControlHeaderValue? cacheControl) => cacheControl switch
    {
        null => null,
        { NoStore: true } or { NoCache: true } => TimeSpan.Zero,
        { MaxAge: { } maxAge } => maxAge,
        _ => null,
    };
}

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy in front of PostgreSQL that can lose the answer to a commit: armed, it lets the next
/// <c>COMMIT</c> of a transaction that touched a given marker (a participant stream key) reach the server, and when
/// the server answers (so the transaction is committed) it cuts both connections instead of passing the answer on.
/// The client sees a broken connection at commit time: the one case where it cannot know whether its write happened.
/// It reads the client's messages of the PostgreSQL protocol (v3) only to find the commits; everything else is passed
/// through unchanged. The connection string it gives disables TLS, so the messages can be read.
/// </summary>
public sealed class PostgresFaultProxy : IAsyncDisposable
{
    private const int SslRequestCode = 80877103;
    private const int GssEncRequestCode = 80877104;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _server;
    private readonly byte[] _marker;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private int _armed;
    private int _cut;

    private PostgresFaultProxy(IPEndPoint server, string marker)
    {
        _server = server;
        _marker = Encoding.UTF8.GetBytes(marker);
        _listener.Start();
        _ = AcceptAsync();
    }

    /// <summary>Commits whose answers were lost so far.</summary>
    public int CutCommits => Volatile.Read(ref _cut);

    /// <summary>
    /// A proxy to the server of <paramref name="connectionString"/>; <paramref name="marker"/> is text a transaction
    /// must have sent (in a query or a bound parameter) for its commit to be cut.
    /// </summary>
    public static PostgresFaultProxy Start(string connectionString, string marker)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var address = IPAddress.TryParse(builder.Host, out var ip) ? ip : IPAddress.Loopback;
        return new PostgresFaultProxy(new IPEndPoint(address, builder.Port), marker);
    }

    /// <summary><paramref name="connectionString"/> pointed at the proxy, without TLS.</summary>
    public string ConnectionStringFor(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Host = IPAddress.Loopback.ToString(),
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
            SslMode = SslMode.Disable,
        };
        return builder.ConnectionString;
    }

    /// <summary>Loses the answers of the next <paramref name="commits"/> marked commits.</summary>
    public void Arm(int commits) => Interlocked.Add(ref _armed, commits);

    /// <summary>Marked commits still to cut.</summary>
    public int Armed => Volatile.Read(ref _armed);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                var client = await _listener.AcceptSocketAsync(_stopping.Token);
                var connection = RelayAsync(client);
                lock (_connections)
                {
                    _connections.RemoveAll(t => t.IsCompleted);
                    _connections.Add(connection);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped (DisposeAsync).
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var losingCommit = 0;
        var pumps = new List<Task>(2);
        try
        {
            await server.ConnectAsync(_server, cut.Token);
            pumps.Add(ClientToServerAsync(client, server, () => Volatile.Write(ref losingCommit, 1), cut.Token));
            pumps.Add(ServerToClientAsync(server, client, () => Volatile.Read(ref losingCommit) == 1, cut));
            await Task.WhenAny(pumps);
        }
        catch (Exception ex) when (IsDisconnection(ex))
        {
            // The server could not be reached: the client's connection is closed below.
        }
        finally
        {
            // One side ended (or the commit's answer is being lost): close both, then let the other pump finish.
            await cut.CancelAsync();
            client.Close();
            server.Close();
        }

        foreach (var pump in pumps)
        {
            try
            {
                await pump;
            }
            catch (Exception ex) when (IsDisconnection(ex))
            {
                // Expected once the sockets are closed.
            }
        }
    }

    private static bool IsDisconnection(Exception ex) =>
        ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException;

    /// <summary>Passes the client's messages on; before passing a marked COMMIT on, calls <paramref name="losing"/>.</summary>
    private async Task ClientToServerAsync(Socket client, Socket server, Action losing, CancellationToken ct)
    {
        // Untyped messages first: SSL/GSS requests (answered by one byte) and the startup message.
        while (true)
        {
            var head = await ReadExactlyAsync(client, 8, ct);
            var length = BinaryPrimitives.ReadInt32BigEndian(head);
            var code = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(4));
            var rest = await ReadExactlyAsync(client, length - 8, ct);
            await server.SendAsync((byte[])[.. head, .. rest], ct);
            if (code is not (SslRequestCode or GssEncRequestCode))
            {
                break;
            }
        }

        var marked = false;
        while (true)
        {
            var head = await ReadExactlyAsync(client, 5, ct);
            var type = (char)head[0];
            var payload = await ReadExactlyAsync(client, BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(1)) - 4, ct);
            if (payload.AsSpan().IndexOf(_marker) >= 0)
            {
                marked = true;
            }

            if (type == 'Q' && IsQuery(payload, "COMMIT"))
            {
                if (marked && TryTakeArm())
                {
                    losing();
                }

                marked = false;
            }
            else if (type == 'Q' && IsQuery(payload, "ROLLBACK"))
            {
                marked = false;
            }

            await server.SendAsync((byte[])[.. head, .. payload], ct);
        }
    }

    /// <summary>Passes the server's answers on, unless a commit is being lost: then the connection is cut.</summary>
    private async Task ServerToClientAsync(Socket server, Socket client, Func<bool> losing, CancellationTokenSource cut)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await server.ReceiveAsync(buffer, cut.Token);
            if (read == 0)
            {
                return;
            }

            if (losing())
            {
                // The server answered the COMMIT: the transaction is committed, and the client will never know.
                Interlocked.Increment(ref _cut);
                await cut.CancelAsync();
                return;
            }

            await client.SendAsync(buffer.AsMemory(0, read), cut.Token);
        }
    }

    private bool TryTakeArm()
    {
        while (true)
        {
            var armed = Volatile.Read(ref _armed);
            if (armed <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _armed, armed - 1, armed) == armed)
            {
                return true;
            }
        }
    }

    private static bool IsQuery(byte[] payload, string query) =>
        Encoding.ASCII.GetString(payload).TrimEnd('\0').Trim().Equals(query, StringComparison.OrdinalIgnoreCase);

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count, CancellationToken ct)
    {
        var bytes = new byte[count];
        var at = 0;
        while (at < count)
        {
            var read = await socket.ReceiveAsync(bytes.AsMemory(at), ct);
            if (read == 0)
            {
                throw new IOException("Connection closed.");
            }

            at += read;
        }

        return bytes;
    }
}

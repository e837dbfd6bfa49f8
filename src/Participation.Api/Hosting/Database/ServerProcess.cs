using System.Diagnostics;
using System.Globalization;

namespace Participation.Api.Hosting.Database;

/// <summary>
/// A postgres server behind the orphan-proof wrapper (see <see cref="ServerUser.OrphanProofCommand"/>):
/// it lives while our end of its stdin pipe is open.
/// </summary>
internal sealed class ServerProcess
{
    private const int TailLines = 30;

    private readonly Process _process;
    private readonly Task _output;
    private readonly Queue<string> _tail = new();
    private readonly ILogger _logger;

    private ServerProcess(Process process, int port, ILogger logger)
    {
        _process = process;
        _logger = logger;
        Port = port;
        _output = Task.WhenAll(PumpAsync(process.StandardError), PumpAsync(process.StandardOutput));
    }

    public int Port { get; }

    /// <summary>True once every server process has exited (they alone hold the output pipes).</summary>
    public bool Exited => _output.IsCompleted;

    public static ServerProcess Start(
        PostgresBinaries binaries, string dataDirectory, string workingDirectory, int port, IEnumerable<string> settings, ILogger logger)
    {
        List<string> arguments =
        [
            "-D", dataDirectory,
            "-p", port.ToString(CultureInfo.InvariantCulture),
            "-k", string.Empty, // no Unix socket: TCP only, and no 107-byte socket path limit
            "-c", "listen_addresses=127.0.0.1",
        ];
        foreach (var setting in settings)
        {
            arguments.Add("-c");
            arguments.Add(setting);
        }

        var start = ServerUser.OrphanProofCommand(binaries.Postgres, arguments, workingDirectory);
        return new ServerProcess(ServerUser.StartProcess(start), port, logger);
    }

    /// <summary>The last lines the server wrote, for error messages.</summary>
    public string Tail()
    {
        lock (_tail)
        {
            return _tail.Count == 0 ? "(the server wrote nothing)" : string.Join(" | ", _tail);
        }
    }

    public bool TailContains(string text)
    {
        lock (_tail)
        {
            return _tail.Any(line => line.Contains(text, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>Closes the server's stdin (fast shutdown) and waits; kills it after <paramref name="timeout"/>. False when killed.</summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        try
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The wrapper is already gone.
            }

            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
                await _output.WaitAsync(deadline.Token);
                return true;
            }
            catch (OperationCanceledException)
            {
                ServerUser.KillQuietly(_process);
                try
                {
                    await _output.WaitAsync(TimeSpan.FromSeconds(5));
                }
                catch (TimeoutException)
                {
                    // Killed processes close their pipes; give up waiting regardless.
                }

                return false;
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task PumpAsync(StreamReader reader)
    {
        try
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lock (_tail)
                {
                    _tail.Enqueue(line);
                    if (_tail.Count > TailLines)
                    {
                        _tail.Dequeue();
                    }
                }

                LocalPostgresLog.ServerOutput(_logger, Port, line);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Pipe closed: the server is gone.
        }
    }
}

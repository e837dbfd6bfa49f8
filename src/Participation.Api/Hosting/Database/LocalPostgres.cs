using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Participation.Api.Hosting.Database;

/// <summary>
/// A PostgreSQL server started from the installed server binaries (no Docker): a persistent one for
/// <c>dotnet run</c>, or a throwaway one for tests. The server stops when this object is disposed or
/// when our process dies, even by SIGKILL. Works as a normal user and as root (the server then runs
/// as the <c>postgres</c> OS user). Connections use TCP on 127.0.0.1 with trust authentication.
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    public const string SuperUser = "postgres";

    private const string PortFileName = "participation.port";

    private const UnixFileMode DataDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static readonly string[] ThrowawaySettings =
        ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=300"];

    // As fast as fsync=off for this workload, and a crash cannot corrupt the data (it may lose the last commits).
    private static readonly string[] PersistentSettings = ["synchronous_commit=off"];

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ZombieGrace = TimeSpan.FromSeconds(5);

    private readonly ServerProcess? _server;
    private readonly string? _throwawayDirectory;
    private readonly FileStream? _ownerLock;
    private readonly ILogger _logger;
    private int _disposed;

    private LocalPostgres(
        int port, string dataDirectory, string database, ServerProcess? server, string? throwawayDirectory, FileStream? ownerLock, ILogger logger)
    {
        Port = port;
        DataDirectory = dataDirectory;
        ConnectionString = ConnectionStringFor(database);
        _server = server;
        _throwawayDirectory = throwawayDirectory;
        _ownerLock = ownerLock;
        _logger = logger;
    }

    /// <summary><c>Host=127.0.0.1;Port=…;Username=postgres;Database=…</c> (trust authentication, no password).</summary>
    public string ConnectionString { get; }

    public int Port { get; }

    public string DataDirectory { get; }

    /// <summary>False when this instance reuses a server another process started (dispose leaves it running).</summary>
    public bool OwnsServer => _server is not null;

    /// <summary>The connection string of another database on this server.</summary>
    public string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = IPAddress.Loopback.ToString(),
            Port = Port,
            Username = SuperUser,
            Database = database,
        }.ConnectionString;

    /// <inheritdoc cref="StartPersistentAsync(string, string, LocalPostgresOptions, ILogger, CancellationToken)"/>
    public static Task<LocalPostgres> StartPersistentAsync(string dataDirectory, string database, ILogger logger, CancellationToken ct) =>
        StartPersistentAsync(dataDirectory, database, new LocalPostgresOptions(), logger, ct);

    /// <summary>
    /// Starts (initialising it if needed) the cluster in <paramref name="dataDirectory"/>, or reuses the server
    /// already running on it, and creates <paramref name="database"/> if missing. Data is kept.
    /// </summary>
    public static async Task<LocalPostgres> StartPersistentAsync(
        string dataDirectory, string database, LocalPostgresOptions options, ILogger logger, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var data = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory));
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            if (await FindLiveServerAsync(data, options.StartTimeout, ct) is { } live)
            {
                LocalPostgresLog.Reused(logger, data, live.Pid, live.Port);
                var reused = new LocalPostgres(live.Port, data, database, server: null, throwawayDirectory: null, ownerLock: null, logger);
                await PostgresDatabase.EnsureCreatedAsync(reused.ConnectionStringFor("postgres"), database, ct);
                LocalPostgresLog.DatabaseReady(logger, database, reused.Port, clock.ElapsedMilliseconds);
                return reused;
            }

            try
            {
                return await StartOwnPersistentAsync(data, database, options, logger, clock, ct);
            }
            catch (PostgresUnavailableException) when (
                attempt == 1 && PostmasterPid.TryRead(data)?.Probe(data) == PostmasterState.Running)
            {
                // Another process started a server on this data directory at the same moment: reuse it.
            }
        }
    }

    /// <inheritdoc cref="StartThrowawayAsync(string, LocalPostgresOptions, ILogger, CancellationToken)"/>
    public static Task<LocalPostgres> StartThrowawayAsync(string database, ILogger logger, CancellationToken ct) =>
        StartThrowawayAsync(database, new LocalPostgresOptions(), logger, ct);

    /// <summary>
    /// Starts a fresh cluster tuned for speed over durability in its own temporary folder, and creates
    /// <paramref name="database"/>. Disposing stops the server and deletes the folder; folders left by runs
    /// that died are cleaned up on the next start.
    /// </summary>
    public static async Task<LocalPostgres> StartThrowawayAsync(
        string database, LocalPostgresOptions options, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var clock = Stopwatch.StartNew();
        ServerUser.EnsureCanStartServer();
        var binaries = PostgresBinaries.Locate(options.BinDirectory);
        LocalPostgresLog.UsingBinaries(logger, binaries.Directory, binaries.Source);

        var root = Path.GetFullPath(options.ThrowawayRoot ?? ThrowawayClusters.DefaultRoot());
        ThrowawayClusters.PrepareRoot(root);
        await ThrowawayClusters.SweepAsync(root, binaries, logger, ct);

        var (directory, ownerLock) = ThrowawayClusters.CreateInstance(root);
        ServerProcess? server = null;
        try
        {
            await ServerUser.GiveToServerUserAsync(directory, recursive: false, ct);
            var data = Path.Combine(directory, ThrowawayClusters.DataFolderName);
            await InitDbAsync(binaries, data, directory, logger, ct);
            server = await LaunchAsync(binaries, data, directory, ThrowawaySettings, preferredPort: null, options.StartTimeout, logger, ct);
            var instance = new LocalPostgres(server.Port, data, database, server, directory, ownerLock, logger);
            await PostgresDatabase.EnsureCreatedAsync(instance.ConnectionStringFor("postgres"), database, ct);
            LocalPostgresLog.DatabaseReady(logger, database, server.Port, clock.ElapsedMilliseconds);
            return instance;
        }
        catch
        {
            if (server is not null)
            {
                await server.StopAsync(StopTimeout);
            }

            ThrowawayClusters.TryDeleteDirectory(directory);
            await ownerLock.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server if this instance started it (fast shutdown), and deletes a throwaway cluster.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_server is not null)
        {
            var clock = Stopwatch.StartNew();
            if (await _server.StopAsync(StopTimeout))
            {
                LocalPostgresLog.Stopped(_logger, Port, clock.ElapsedMilliseconds);
            }
            else
            {
                LocalPostgresLog.Killed(_logger, Port, StopTimeout.TotalSeconds);
            }
        }

        if (_throwawayDirectory is not null && ThrowawayClusters.TryDeleteDirectory(_throwawayDirectory) is { } failure)
        {
            LocalPostgresLog.CouldNotRemove(_logger, _throwawayDirectory, failure);
        }

        if (_ownerLock is not null)
        {
            await _ownerLock.DisposeAsync();
        }
    }

    internal static async Task InitDbAsync(PostgresBinaries binaries, string dataDirectory, string workingDirectory, ILogger logger, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        if (Path.GetDirectoryName(dataDirectory) is { } parent)
        {
            ServerUser.CreateDirectoryTree(parent, ThrowawayClusters.SearchableMode);
        }

        ServerUser.CreateDirectoryTree(dataDirectory, DataDirectoryMode);
        await ServerUser.GiveToServerUserAsync(dataDirectory, recursive: true, ct);

        // Without -E/--locale and no LANG, initdb silently picks SQL_ASCII. C.UTF-8 is missing on some systems
        // (macOS): fall back to C, which goes with any encoding. initdb empties the folder when it fails.
        var result = await RunInitDbAsync("C.UTF-8");
        if (result.ExitCode != 0 && result.StandardError.Contains("locale", StringComparison.OrdinalIgnoreCase))
        {
            result = await RunInitDbAsync("C");
        }

        if (result.ExitCode != 0)
        {
            throw new PostgresUnavailableException(
                $"initdb could not create a PostgreSQL cluster in '{dataDirectory}' (exit code {result.ExitCode}): {result.Tail()}");
        }

        LocalPostgresLog.Initialised(logger, dataDirectory, clock.ElapsedMilliseconds);

        Task<CommandResult> RunInitDbAsync(string locale) =>
            ServerUser.RunAsync(
                ServerUser.Command(
                    binaries.InitDb,
                    ["-D", dataDirectory, "-U", SuperUser, "-A", "trust", "-E", "UTF8", $"--locale={locale}", "--no-sync", "--no-instructions"],
                    workingDirectory),
                TimeSpan.FromSeconds(120),
                ct);
    }

    private static async Task<LocalPostgres> StartOwnPersistentAsync(
        string data, string database, LocalPostgresOptions options, ILogger logger, Stopwatch clock, CancellationToken ct)
    {
        ServerUser.EnsureCanStartServer();
        var binaries = PostgresBinaries.Locate(options.BinDirectory, PostgresBinaries.DataDirectoryMajorVersion(data));
        LocalPostgresLog.UsingBinaries(logger, binaries.Directory, binaries.Source);

        var parent = Path.GetDirectoryName(data) ?? "/";
        ServerUser.CreateDirectoryTree(parent, ThrowawayClusters.SearchableMode);
        if (ServerUser.IsRoot && ServerUser.FirstNotWorldSearchable(parent) is { } blocked)
        {
            throw new PostgresUnavailableException(
                $"The 'postgres' OS user cannot reach '{data}' because '{blocked}' is not world-searchable: set {DatabaseLocator.DataDirectorySetting} to a folder it can reach (for example under /tmp), or run as a normal user.");
        }

        if (File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            // As root, files may have been created by root meanwhile (our port file, a copy...): the server needs them.
            await ServerUser.GiveToServerUserAsync(data, recursive: true, ct);
        }
        else
        {
            await InitDbAsync(binaries, data, parent, logger, ct);
        }

        var server = await LaunchAsync(binaries, data, parent, PersistentSettings, ReadPortFile(data), options.StartTimeout, logger, ct);
        WritePortFile(data, server.Port);
        var instance = new LocalPostgres(server.Port, data, database, server, throwawayDirectory: null, ownerLock: null, logger);
        try
        {
            await PostgresDatabase.EnsureCreatedAsync(instance.ConnectionStringFor("postgres"), database, ct);
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }

        LocalPostgresLog.DatabaseReady(logger, database, server.Port, clock.ElapsedMilliseconds);
        return instance;
    }

    /// <summary>
    /// The server already running on <paramref name="data"/>, from its postmaster.pid: a live postgres for
    /// this folder that answers → reuse; a zombie → wait up to 5 s; otherwise the file is stale.
    /// </summary>
    private static async Task<(int Pid, int Port)?> FindLiveServerAsync(string data, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan? oddSince = null;
        while (true)
        {
            if (PostmasterPid.TryRead(data) is not { } pidFile)
            {
                return null;
            }

            var state = pidFile.Pid == 0 ? PostmasterState.Zombie : pidFile.Probe(data);
            switch (state)
            {
                case PostmasterState.Gone:
                    return null; // postgres replaces a lock file whose process is gone

                case PostmasterState.NotOurs:
                    PostmasterPid.DeleteStale(data); // PID reused by another program: postgres would refuse to start
                    return null;

                case PostmasterState.Zombie:
                    // An exited server nobody reaped yet, or a file being written (PID 0).
                    oddSince ??= clock.Elapsed;
                    if (clock.Elapsed - oddSince >= ZombieGrace)
                    {
                        PostmasterPid.DeleteStale(data);
                        return null;
                    }

                    break;

                case PostmasterState.Running:
                    oddSince = null;
                    if (pidFile.Port is { } port && await AnswersAsync(port, data, ct))
                    {
                        return (pidFile.Pid, port);
                    }

                    if (clock.Elapsed > timeout)
                    {
                        throw new PostgresUnavailableException(
                            $"A PostgreSQL server (PID {pidFile.Pid}) is running on '{data}' but does not answer on 127.0.0.1:{pidFile.Port}: stop it (kill -INT {pidFile.Pid}) and start the service again.");
                    }

                    break;
            }

            await Task.Delay(20, ct);
        }
    }

    /// <summary>Starts the server on a free port and waits until it accepts connections; retries when the port was taken meanwhile.</summary>
    private static async Task<ServerProcess> LaunchAsync(
        PostgresBinaries binaries,
        string data,
        string workingDirectory,
        string[] settings,
        int? preferredPort,
        TimeSpan timeout,
        ILogger logger,
        CancellationToken ct)
    {
        const int attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var clock = Stopwatch.StartNew();
            var port = attempt == 1 && preferredPort is { } preferred && IsPortFree(preferred) ? preferred : FreePort();
            var server = ServerProcess.Start(binaries, data, workingDirectory, port, settings, logger);
            bool ready;
            try
            {
                ready = await WaitUntilReadyAsync(server, data, timeout, ct);
            }
            catch
            {
                await server.StopAsync(StopTimeout);
                throw;
            }

            if (ready)
            {
                LocalPostgresLog.Started(logger, data, port, clock.ElapsedMilliseconds);
                return server;
            }

            await server.StopAsync(StopTimeout);
            if (attempt < attempts && (server.TailContains("could not bind") || server.TailContains("Address already in use")))
            {
                LocalPostgresLog.PortTaken(logger, port);
                continue;
            }

            throw new PostgresUnavailableException(
                $"PostgreSQL from {binaries.Directory} did not start on '{data}': {server.Tail()}");
        }
    }

    /// <summary>True when the server accepts connections; false when it exited; throws after <paramref name="timeout"/>.</summary>
    private static async Task<bool> WaitUntilReadyAsync(ServerProcess server, string data, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (server.Exited)
            {
                return false;
            }

            if (await AnswersAsync(server.Port, data, ct))
            {
                return true;
            }

            await Task.Delay(10, ct);
        }

        throw new PostgresUnavailableException(
            $"PostgreSQL did not accept connections on 127.0.0.1:{server.Port} within {timeout.TotalSeconds:0} s: {server.Tail()}");
    }

    /// <summary>Whether the server for <paramref name="data"/> (not some other one) accepts connections on <paramref name="port"/>.</summary>
    private static async Task<bool> AnswersAsync(int port, string data, CancellationToken ct)
    {
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = IPAddress.Loopback.ToString(),
            Port = port,
            Username = SuperUser,
            Database = "postgres",
            Pooling = false,
            Timeout = 5,
        }.ConnectionString;
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT current_setting('data_directory')", connection);
            return await command.ExecuteScalarAsync(ct) is string directory && PostmasterPid.SameDirectory(directory, data);
        }
        catch (Exception ex) when (ex is NpgsqlException or SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static bool IsPortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The port of the last run, so a developer's tools keep working across restarts.</summary>
    private static int? ReadPortFile(string data)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(data, PortFileName)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                && port is > 1024 and < 65536
                ? port
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void WritePortFile(string data, int port)
    {
        try
        {
            File.WriteAllText(Path.Combine(data, PortFileName), port.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only a convenience.
        }
    }
}

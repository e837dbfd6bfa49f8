using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;
using Participation.Api.Hosting.Database;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Hosting;

/// <summary>
/// Real servers from the installed binaries. Each test works in its own temporary folder (its own
/// throwaway root), so it never touches the clusters of other tests or of the assembly fixture.
/// </summary>
public sealed class LocalPostgresTests : IDisposable
{
    private readonly string _workspace =
        Path.Combine(Path.GetTempPath(), "participation-pg-tests-" + Guid.NewGuid().ToString("N")[..12]);

    private readonly ILogger _logger = new TestOutputLogger();

    public LocalPostgresTests()
    {
        Directory.CreateDirectory(_workspace);
        if (!OperatingSystem.IsWindows())
        {
            // As root the server runs as the postgres OS user, which must be able to search this folder.
            File.SetUnixFileMode(_workspace, (UnixFileMode)Convert.ToInt32("755", 8));
        }
    }

    private LocalPostgresOptions Options => new() { ThrowawayRoot = Path.Combine(_workspace, "throwaway") };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_workspace, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort.
        }
    }

    [Fact]
    public async Task Throwaway_server_answers_creates_databases_and_vanishes_on_dispose()
    {
        var server = await LocalPostgres.StartThrowawayAsync("lifecycle", Options, _logger, Ct);
        var instanceDirectory = Path.GetDirectoryName(server.DataDirectory)!;
        try
        {
            server.OwnsServer.ShouldBeTrue();
            Path.GetDirectoryName(instanceDirectory).ShouldBe(Options.ThrowawayRoot);
            File.Exists(Path.Combine(instanceDirectory, "owner.lock")).ShouldBeTrue();
            var builder = new NpgsqlConnectionStringBuilder(server.ConnectionString);
            builder.Host.ShouldBe("127.0.0.1");
            builder.Port.ShouldBe(server.Port);
            builder.Username.ShouldBe("postgres");
            builder.Database.ShouldBe("lifecycle");
            builder.Password.ShouldBeNull();

            (await ScalarAsync(server.ConnectionString, "select 1")).ShouldBe(1);
            (await ScalarAsync(server.ConnectionString, "select current_database()")).ShouldBe("lifecycle");
            (await ScalarAsync(server.ConnectionString, "show server_encoding")).ShouldBe("UTF8");
            (await ScalarAsync(server.ConnectionString, "show fsync")).ShouldBe("off");
            (await ScalarAsync(server.ConnectionString, "show listen_addresses")).ShouldBe("127.0.0.1");

            var second = await PostgresDatabase.EnsureCreatedAsync(server.ConnectionString, "second db", Ct);
            (await ScalarAsync(second, "select current_database()")).ShouldBe("second db");
            (await PostgresDatabase.EnsureCreatedAsync(server.ConnectionString, "second db", Ct)).ShouldBe(second);
        }
        finally
        {
            await server.DisposeAsync();
        }

        Directory.Exists(instanceDirectory).ShouldBeFalse();
        (await AnswersAsync(server.Port)).ShouldBeFalse();
    }

    [Fact]
    public async Task Persistent_server_is_reused_while_running_and_keeps_rows_across_restarts()
    {
        var data = Path.Combine(_workspace, "persistent", "postgres");
        int port;
        await using (var first = await LocalPostgres.StartPersistentAsync(data, "keep", Options, _logger, Ct))
        {
            first.OwnsServer.ShouldBeTrue();
            port = first.Port;
            await ExecuteAsync(first.ConnectionString, "create table kept(value int); insert into kept values (42)");
            (await ScalarAsync(first.ConnectionString, "show synchronous_commit")).ShouldBe("off");
            (await ScalarAsync(first.ConnectionString, "show fsync")).ShouldBe("on");

            await using (var second = await LocalPostgres.StartPersistentAsync(data, "keep", Options, _logger, Ct))
            {
                second.OwnsServer.ShouldBeFalse();
                second.Port.ShouldBe(first.Port);
                (await ScalarAsync(second.ConnectionString, "select value from kept")).ShouldBe(42);
            }

            (await AnswersAsync(port)).ShouldBeTrue("disposing the instance that reused the server must leave it running");
        }

        (await AnswersAsync(port)).ShouldBeFalse();
        File.Exists(Path.Combine(data, "postmaster.pid")).ShouldBeFalse();

        // A stale postmaster.pid whose PID now belongs to another live process of the server's OS user:
        // postgres itself would refuse to start ("Is another postmaster running?").
        using var impostor = Process.Start(ServerUser.Command("/bin/sleep", ["30"], _workspace))!;
        try
        {
            await File.WriteAllTextAsync(
                Path.Combine(data, "postmaster.pid"),
                string.Create(CultureInfo.InvariantCulture, $"{impostor.Id}\n{data}\n1700000000\n{port}\n\n127.0.0.1\n"),
                Ct);

            await using var restarted = await LocalPostgres.StartPersistentAsync(data, "keep", Options, _logger, Ct);
            restarted.OwnsServer.ShouldBeTrue();
            (await ScalarAsync(restarted.ConnectionString, "select value from kept")).ShouldBe(42);
        }
        finally
        {
            impostor.Kill();
        }
    }

    [Fact]
    public async Task Next_throwaway_start_removes_clusters_of_dead_runs_and_keeps_live_ones()
    {
        var root = Options.ThrowawayRoot!;
        ThrowawayClusters.PrepareRoot(root);
        var binaries = PostgresBinaries.Locate(overrideDirectory: null);

        // A run that died: its server still runs (pg_ctl detaches it) and nobody holds its owner.lock.
        var (dead, deadLock) = ThrowawayClusters.CreateInstance(root);
        var deadData = Path.Combine(dead, "data");
        var deadPort = FreePort();
        await using (deadLock)
        {
            await ServerUser.GiveToServerUserAsync(dead, recursive: false, Ct);
            await LocalPostgres.InitDbAsync(binaries, deadData, dead, _logger, Ct);
            var started = await ServerUser.RunAsync(
                ServerUser.Command(
                    binaries.PgCtl,
                    ["start", "-w", "-D", deadData, "-l", Path.Combine(dead, "server.log"),
                     "-o", $"-p {deadPort} -k '' -c listen_addresses=127.0.0.1 -c fsync=off"],
                    dead),
                TimeSpan.FromSeconds(30),
                Ct);
            started.ExitCode.ShouldBe(0, started.Tail());
        }

        // A run that is alive: it holds its lock.
        var (live, liveLock) = ThrowawayClusters.CreateInstance(root);
        try
        {
            (await AnswersAsync(deadPort)).ShouldBeTrue();

            await using var next = await LocalPostgres.StartThrowawayAsync("next", Options, _logger, Ct);

            Directory.Exists(dead).ShouldBeFalse();
            (await AnswersAsync(deadPort)).ShouldBeFalse();
            Directory.Exists(live).ShouldBeTrue();
            (await ScalarAsync(next.ConnectionString, "select 1")).ShouldBe(1);
        }
        finally
        {
            await liveLock.DisposeAsync();
            if (Directory.Exists(deadData))
            {
                await ThrowawayClusters.StopServerAsync(deadData, binaries, CancellationToken.None);
            }
        }
    }

    [Fact]
    public async Task A_bin_directory_override_without_the_server_fails_with_a_helpful_message()
    {
        var missing = Path.Combine(_workspace, "no-postgres-here");
        var options = Options with { BinDirectory = missing };

        var throwaway = await Should.ThrowAsync<PostgresUnavailableException>(
            () => LocalPostgres.StartThrowawayAsync("x", options, _logger, Ct));
        var persistent = await Should.ThrowAsync<PostgresUnavailableException>(
            () => LocalPostgres.StartPersistentAsync(Path.Combine(_workspace, "data"), "x", options, _logger, Ct));

        foreach (var message in new[] { throwaway.Message, persistent.Message })
        {
            message.ShouldContain(missing);
            message.ShouldContain("PARTICIPATION_PG_BIN");
            message.ShouldContain("Participation:PostgresBinDirectory");
        }

        Directory.Exists(options.ThrowawayRoot).ShouldBeFalse();
    }

    [Fact]
    public void No_installed_server_fails_with_an_install_hint()
    {
        var empty = Path.Combine(_workspace, "empty");
        Directory.CreateDirectory(empty);

        var error = Should.Throw<PostgresUnavailableException>(
            () => PostgresBinaries.Locate(overrideDirectory: null, preferredMajor: null, globRoot: empty, pathVariable: empty));

        error.Message.ShouldContain("ConnectionStrings:Marten");
        error.Message.ShouldContain("apt-get install postgresql");
    }

    [Fact]
    public void Binary_lookup_prefers_the_highest_complete_version_or_the_data_directory_version()
    {
        var root = Path.Combine(_workspace, "usr-lib-postgresql");
        foreach (var (version, programs) in new[]
                 {
                     ("13", new[] { "postgres", "initdb", "pg_ctl" }),
                     ("15", new[] { "postgres", "initdb", "pg_ctl" }),
                     ("17", new[] { "psql", "pg_dump" }), // client only
                 })
        {
            Directory.CreateDirectory(Path.Combine(root, version, "bin"));
            foreach (var program in programs)
            {
                File.WriteAllText(Path.Combine(root, version, "bin", program), string.Empty);
            }
        }

        PostgresBinaries.Locate(null, null, root, pathVariable: null).Directory.ShouldBe(Path.Combine(root, "15", "bin"));
        PostgresBinaries.Locate(null, 13, root, pathVariable: null).Directory.ShouldBe(Path.Combine(root, "13", "bin"));
        PostgresBinaries.Locate(null, 16, root, pathVariable: null).Directory.ShouldBe(Path.Combine(root, "15", "bin"));
    }

    [Fact]
    public async Task Locator_uses_ConnectionStrings_Marten_when_set_without_starting_a_server()
    {
        var configuration = Configuration(("ConnectionStrings:Marten", "Host=db.example;Database=participation"));

        var (connectionString, server) = await DatabaseLocator.ResolveAsync(configuration, _workspace, _logger, Ct);

        connectionString.ShouldBe("Host=db.example;Database=participation");
        server.ShouldBeNull();
    }

    [Fact]
    public void Locator_keeps_data_in_the_configured_folder_or_a_per_user_default()
    {
        var repository = Path.Combine(_workspace, "repo");
        var contentRoot = Path.Combine(repository, "src", "Participation.Api");
        Directory.CreateDirectory(contentRoot);
        File.WriteAllText(Path.Combine(repository, "Participation.sln"), string.Empty);

        DatabaseLocator.ChooseDataDirectory(Configuration(("Participation:LocalDatabase:DataDirectory", "../pg")), contentRoot)
            .ShouldBe(Path.Combine(repository, "src", "pg"));

        var chosen = DatabaseLocator.ChooseDataDirectory(Configuration(), contentRoot);
        if (ServerUser.IsRoot)
        {
            chosen.ShouldBe(Path.Combine(repository, ".data", "postgres"));
        }
        else
        {
            chosen.ShouldBe(Path.Combine(
                Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
                "participation",
                "postgres"));
        }
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Ct);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<bool> AnswersAsync(int port)
    {
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
            Pooling = false,
            Timeout = 2,
        }.ConnectionString;
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(Ct);
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class TestOutputLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}");
            }
        }
    }
}

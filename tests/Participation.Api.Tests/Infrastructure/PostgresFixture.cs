using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Participation.Api.Hosting.Database;
using Testcontainers.PostgreSql;
using Xunit;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL server for the whole test assembly (an xunit v3 assembly fixture). In order:
/// <c>PARTICIPATION_TEST_POSTGRES</c> (a connection string) if set; a Testcontainers
/// <c>postgres:17-alpine</c> container if a Docker engine answers; otherwise a throwaway
/// <see cref="LocalPostgres"/> cluster started from the installed server binaries.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string ConnectionStringVariable = "PARTICIPATION_TEST_POSTGRES";
    public const string DefaultDatabase = "participation_tests";

    private static readonly TimeSpan DockerPingTimeout = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _databaseCreation = new(1, 1);
    private LocalPostgres? _local;
    private PostgreSqlContainer? _container;
    private string? _connectionString;

    /// <summary>Connection string of the shared test database.</summary>
    public string ConnectionString =>
        _connectionString ?? throw new InvalidOperationException("The PostgresFixture has not been initialised.");

    /// <summary>Where the server comes from, for diagnostics: environment, Testcontainers or local.</summary>
    public string Source { get; private set; } = "none";

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        var fromEnvironment = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            _connectionString = fromEnvironment;
            Source = ConnectionStringVariable;
            return;
        }

        if (await DockerEngineAnswersAsync(ct))
        {
            var container = new PostgreSqlBuilder("postgres:17-alpine").WithDatabase(DefaultDatabase).Build();
            try
            {
                await container.StartAsync(ct);
                _container = container;
                _connectionString = container.GetConnectionString();
                Source = "Testcontainers";
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await container.DisposeAsync();
                TestContext.Current.SendDiagnosticMessage(
                    $"PostgresFixture: the Docker engine answers but the container did not start ({ex.Message}); using a local PostgreSQL.");
            }
        }

        try
        {
            _local = await LocalPostgres.StartThrowawayAsync(DefaultDatabase, new DiagnosticLogger(), ct);
        }
        catch (PostgresUnavailableException ex)
        {
            throw new PostgresUnavailableException(
                $"The tests need PostgreSQL: set {ConnectionStringVariable} to a connection string, run a Docker engine, or install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql); the local server reported: {ex.Message}",
                ex);
        }

        _connectionString = _local.ConnectionString;
        Source = "local";
    }

    /// <summary>
    /// Creates a fresh, empty database on the same server (dropping an older one of that name) and returns
    /// its connection string; use one per test class for isolation.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        var ct = TestContext.Current.CancellationToken;
        await _databaseCreation.WaitAsync(ct);
        try
        {
            return await PostgresDatabase.RecreateAsync(ConnectionString, name, ct);
        }
        finally
        {
            _databaseCreation.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_local is not null)
        {
            await _local.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        _databaseCreation.Dispose();
    }

    /// <summary>Cheap check before Testcontainers (which takes much longer to give up): DOCKER_HOST or a known socket, then GET /_ping.</summary>
    private static async Task<bool> DockerEngineAnswersAsync(CancellationToken ct)
    {
        foreach (var endpoint in DockerEndpoints())
        {
            if (await PingAsync(endpoint, ct))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<Uri> DockerEndpoints()
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (!string.IsNullOrWhiteSpace(dockerHost))
        {
            if (Uri.TryCreate(dockerHost, UriKind.Absolute, out var configured))
            {
                yield return configured;
            }

            yield break;
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        string?[] sockets =
        [
            "/var/run/docker.sock",
            string.IsNullOrEmpty(runtime) ? null : Path.Combine(runtime, "docker.sock"),
            string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".docker", "run", "docker.sock"),
            string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".docker", "desktop", "docker.sock"),
        ];
        foreach (var socket in sockets)
        {
            if (socket is not null && File.Exists(socket))
            {
                yield return new Uri("unix://" + socket);
            }
        }
    }

    private static async Task<bool> PingAsync(Uri endpoint, CancellationToken ct)
    {
        Uri baseAddress;
        var handler = new SocketsHttpHandler { ConnectTimeout = DockerPingTimeout };
        switch (endpoint.Scheme)
        {
            case "unix":
                var socketPath = endpoint.AbsolutePath;
                handler.ConnectCallback = async (_, token) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                };
                baseAddress = new Uri("http://docker/");
                break;
            case "tcp" when string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY")):
                baseAddress = new UriBuilder("http", endpoint.Host, endpoint.Port).Uri;
                break;
            case "http" or "https":
                baseAddress = endpoint;
                break;
            default:
                // TLS-protected TCP or a Windows named pipe: no cheap ping; let Testcontainers try (it falls back here on failure).
                handler.Dispose();
                return endpoint.Scheme is "tcp" || (endpoint.Scheme is "npipe" && OperatingSystem.IsWindows());
        }

        using var client = new HttpClient(handler) { Timeout = DockerPingTimeout };
        try
        {
            using var response = await client.GetAsync(new Uri(baseAddress, "_ping"), ct);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException || (ex is TaskCanceledException && !ct.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>Sends what LocalPostgres logs (binaries, data directory, port, timings) to xunit's diagnostic messages.</summary>
    private sealed class DiagnosticLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                TestContext.Current.SendDiagnosticMessage("PostgresFixture: " + formatter(state, exception));
            }
        }
    }
}

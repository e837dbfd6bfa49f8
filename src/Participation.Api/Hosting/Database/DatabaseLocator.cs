namespace Participation.Api.Hosting.Database;

/// <summary>
/// Decides where the database is: <c>ConnectionStrings:Marten</c> when configured, otherwise a persistent
/// local PostgreSQL started from the installed server binaries.
/// </summary>
public static partial class DatabaseLocator
{
    public const string ConnectionStringName = "Marten";
    public const string DataDirectorySetting = "Participation:LocalDatabase:DataDirectory";
    public const string BinDirectorySetting = PostgresBinaries.OverrideSetting;
    public const string DatabaseName = "participation";
    public const string SolutionFileName = "Participation.sln";

    /// <summary>
    /// Returns <c>ConnectionStrings:Marten</c> if configured (and no server); else starts (or reuses) the
    /// persistent local server and returns its connection string and the instance, which the caller
    /// disposes at shutdown.
    /// </summary>
    public static async Task<(string ConnectionString, LocalPostgres? Server)> ResolveAsync(
        IConfiguration configuration, string contentRootPath, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(logger);
        var configured = configuration.GetConnectionString(ConnectionStringName);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            UsingConfiguredConnectionString(logger);
            return (configured, null);
        }

        var dataDirectory = ChooseDataDirectory(configuration, contentRootPath);
        StartingLocalServer(logger, dataDirectory);
        var options = new LocalPostgresOptions { BinDirectory = configuration[BinDirectorySetting] };
        var server = await LocalPostgres.StartPersistentAsync(dataDirectory, DatabaseName, options, logger, ct);
        return (server.ConnectionString, server);
    }

    /// <summary>
    /// <c>Participation:LocalDatabase:DataDirectory</c> if set; else, as a normal user,
    /// <c>~/.local/share/participation/postgres</c>; as root, the repository's git-ignored
    /// <c>.data/postgres</c> when the <c>postgres</c> OS user can reach it, otherwise
    /// <c>{temp}/participation-0/postgres</c>.
    /// </summary>
    internal static string ChooseDataDirectory(IConfiguration configuration, string contentRootPath)
    {
        var configured = configuration[DataDirectorySetting];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured, contentRootPath);
        }

        if (!ServerUser.IsRoot)
        {
            var userData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
            return string.IsNullOrEmpty(userData)
                ? Path.Combine(Path.GetTempPath(), $"participation-{Environment.UserName}", "postgres")
                : Path.Combine(userData, "participation", "postgres");
        }

        if (FindRepositoryRoot(contentRootPath) is { } repository && ServerUser.FirstNotWorldSearchable(repository) is null)
        {
            return Path.Combine(repository, ".data", "postgres");
        }

        var temp = ServerUser.FirstNotWorldSearchable(Path.GetTempPath()) is null ? Path.GetTempPath() : "/tmp";
        return Path.Combine(temp, "participation-0", "postgres");
    }

    /// <summary>The nearest folder at or above <paramref name="start"/> holding Participation.sln.</summary>
    internal static string? FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database: ConnectionStrings:Marten is set, using that server")]
    private static partial void UsingConfiguredConnectionString(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database: ConnectionStrings:Marten is not set, starting a local PostgreSQL with data directory {DataDirectory}")]
    private static partial void StartingLocalServer(ILogger logger, string dataDirectory);
}

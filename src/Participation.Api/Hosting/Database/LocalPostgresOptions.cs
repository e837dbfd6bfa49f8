namespace Participation.Api.Hosting.Database;

/// <summary>Settings for <see cref="LocalPostgres"/>; the defaults suit the app and the tests.</summary>
public sealed record LocalPostgresOptions
{
    /// <summary>
    /// Folder holding <c>postgres</c>, <c>initdb</c> and <c>pg_ctl</c> (configuration
    /// <c>Participation:PostgresBinDirectory</c>). When null, the environment variable
    /// <c>PARTICIPATION_PG_BIN</c> is used, then the installed server is searched for.
    /// </summary>
    public string? BinDirectory { get; init; }

    /// <summary>How long the server may take to accept connections.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Common folder of throwaway clusters (one sub-folder per instance). Null means
    /// <c>{temp}/participation-pg</c>.
    /// </summary>
    public string? ThrowawayRoot { get; init; }
}

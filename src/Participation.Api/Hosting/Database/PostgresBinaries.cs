using System.Diagnostics;
using System.Globalization;

namespace Participation.Api.Hosting.Database;

/// <summary>Where the PostgreSQL server programs are.</summary>
internal sealed record PostgresBinaries(string Directory, string Source)
{
    public const string OverrideVariable = "PARTICIPATION_PG_BIN";
    public const string OverrideSetting = "Participation:PostgresBinDirectory";
    public const string DebianRoot = "/usr/lib/postgresql";

    public const string NotFoundMessage =
        "No PostgreSQL found: set ConnectionStrings:Marten to a PostgreSQL connection string, or install the "
        + "PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; elsewhere set " + OverrideVariable
        + " to its bin folder) so the service can start its own.";

    private static readonly string[] RequiredPrograms = ["postgres", "initdb", "pg_ctl"];

    public string Postgres => Path.Combine(Directory, "postgres");

    public string InitDb => Path.Combine(Directory, "initdb");

    public string PgCtl => Path.Combine(Directory, "pg_ctl");

    /// <summary>
    /// Override (setting, then <c>PARTICIPATION_PG_BIN</c>) → <c>/usr/lib/postgresql/*/bin</c>, highest
    /// complete version (or <paramref name="preferredMajor"/> when installed) → <c>pg_config --bindir</c> → PATH.
    /// </summary>
    public static PostgresBinaries Locate(string? overrideDirectory, int? preferredMajor = null) =>
        Locate(
            string.IsNullOrWhiteSpace(overrideDirectory)
                ? Environment.GetEnvironmentVariable(OverrideVariable)
                : overrideDirectory,
            preferredMajor,
            DebianRoot,
            Environment.GetEnvironmentVariable("PATH"));

    internal static PostgresBinaries Locate(string? overrideDirectory, int? preferredMajor, string globRoot, string? pathVariable)
    {
        if (!string.IsNullOrWhiteSpace(overrideDirectory))
        {
            return IsComplete(overrideDirectory)
                ? new PostgresBinaries(Path.GetFullPath(overrideDirectory), "override")
                : throw new PostgresUnavailableException(
                    $"No PostgreSQL server programs (postgres, initdb, pg_ctl) in '{overrideDirectory}', the folder set by "
                    + $"{OverrideSetting} or {OverrideVariable}: point it at the server's bin folder (for example "
                    + $"{DebianRoot}/15/bin) or unset it.");
        }

        var fromGlob = FromVersionedRoot(globRoot, preferredMajor);
        if (fromGlob is not null)
        {
            return new PostgresBinaries(fromGlob, globRoot);
        }

        var pathDirectories = (pathVariable ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        var pgConfig = pathDirectories.Select(d => Path.Combine(d, "pg_config")).FirstOrDefault(File.Exists);
        if (pgConfig is not null && PgConfigBinDirectory(pgConfig) is { } bindir && IsComplete(bindir))
        {
            return new PostgresBinaries(bindir, "pg_config --bindir");
        }

        var onPath = pathDirectories.FirstOrDefault(IsComplete);
        return onPath is not null
            ? new PostgresBinaries(Path.GetFullPath(onPath), "PATH")
            : throw new PostgresUnavailableException(NotFoundMessage);
    }

    /// <summary>Major version a data directory was created with (its PG_VERSION file), if any.</summary>
    public static int? DataDirectoryMajorVersion(string dataDirectory)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(dataDirectory, "PG_VERSION")).Trim();
            return int.TryParse(text.Split('.')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? FromVersionedRoot(string root, int? preferredMajor)
    {
        if (!System.IO.Directory.Exists(root))
        {
            return null;
        }

        var complete = System.IO.Directory.EnumerateDirectories(root)
            .Select(dir => (Dir: Path.Combine(dir, "bin"), Version: ParseVersion(Path.GetFileName(dir))))
            .Where(x => x.Version is not null && IsComplete(x.Dir))
            .OrderByDescending(x => x.Version)
            .ToList();

        var preferred = complete.FirstOrDefault(x => x.Version!.Major == preferredMajor);
        return preferred.Dir ?? complete.FirstOrDefault().Dir;
    }

    private static Version? ParseVersion(string name) =>
        Version.TryParse(name.Contains('.', StringComparison.Ordinal) ? name : name + ".0", out var version) ? version : null;

    private static bool IsComplete(string directory) =>
        RequiredPrograms.All(program => File.Exists(Path.Combine(directory, program)));

    private static string? PgConfigBinDirectory(string pgConfig)
    {
        try
        {
            var start = new ProcessStartInfo(pgConfig)
            {
                ArgumentList = { "--bindir" },
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd();
            return process.WaitForExit(5_000) && process.ExitCode == 0 ? output.Trim() : null;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return null;
        }
    }
}

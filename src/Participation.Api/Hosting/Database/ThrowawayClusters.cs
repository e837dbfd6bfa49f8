using System.Globalization;

namespace Participation.Api.Hosting.Database;

/// <summary>
/// Throwaway clusters live in one folder each under a common root, each with an <c>owner.lock</c> held
/// open exclusively by its owner. A folder whose lock can be taken belongs to a run that died: its
/// server is stopped and the folder removed.
/// </summary>
internal static class ThrowawayClusters
{
    public const string LockFileName = "owner.lock";
    public const string DataFolderName = "data";

    internal const UnixFileMode SearchableMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode SharedRootMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute
        | UnixFileMode.StickyBit;

    /// <summary>A folder without a lock file is an interrupted creation only while it is this young.</summary>
    private static readonly TimeSpan LocklessGrace = TimeSpan.FromMinutes(1);

    /// <summary><c>{temp}/participation-pg</c>; as root, <c>/tmp</c> when the temp folder is not reachable by the server user.</summary>
    public static string DefaultRoot()
    {
        var temp = Path.GetTempPath();
        if (ServerUser.IsRoot && ServerUser.FirstNotWorldSearchable(temp) is not null && Directory.Exists("/tmp"))
        {
            temp = "/tmp";
        }

        return Path.Combine(temp, "participation-pg");
    }

    /// <summary>Creates the root (sticky and world-writable like /tmp: users share it) and checks the server user can reach it.</summary>
    public static void PrepareRoot(string root)
    {
        if (!Directory.Exists(root))
        {
            if (Path.GetDirectoryName(root) is { } parent)
            {
                ServerUser.CreateDirectoryTree(parent, SearchableMode);
            }

            Directory.CreateDirectory(root);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(root, SharedRootMode);
            }
        }

        if (ServerUser.IsRoot && ServerUser.FirstNotWorldSearchable(root) is { } blocked)
        {
            throw new PostgresUnavailableException(
                $"The 'postgres' OS user cannot reach '{root}' because '{blocked}' is not world-searchable: make it searchable (chmod o+x) or point TMPDIR elsewhere.");
        }
    }

    /// <summary>A new instance folder with its lock taken.</summary>
    public static (string Directory, FileStream OwnerLock) CreateInstance(string root)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}-{Guid.NewGuid():N}")[..24];
            var directory = Path.Combine(root, name);
            Directory.CreateDirectory(directory);
            try
            {
                return (directory, new FileStream(Path.Combine(directory, LockFileName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException)
            {
                // A sweeper took the brand-new lock before we did (open and lock are two steps): try another folder.
                TryDeleteDirectory(directory);
            }
        }

        throw new PostgresUnavailableException($"Could not create a throwaway PostgreSQL folder under '{root}'.");
    }

    /// <summary>Stops the servers of dead runs and removes their folders.</summary>
    public static async Task SweepAsync(string root, PostgresBinaries binaries, ILogger logger, CancellationToken ct)
    {
        string[] directories;
        try
        {
            directories = Directory.GetDirectories(root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var directory in directories)
        {
            ct.ThrowIfCancellationRequested();
            var lockPath = Path.Combine(directory, LockFileName);
            FileStream? claim = null;
            try
            {
                if (File.Exists(lockPath))
                {
                    claim = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                }
                else if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(directory) < LocklessGrace)
                {
                    continue;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // Alive (locked), another user's, or removed meanwhile.
            }

            await using (claim)
            {
                await StopServerAsync(Path.Combine(directory, DataFolderName), binaries, ct);
                if (TryDeleteDirectory(directory) is { } failure)
                {
                    LocalPostgresLog.CouldNotRemove(logger, directory, failure);
                }
                else
                {
                    LocalPostgresLog.SweptStale(logger, directory);
                }
            }
        }
    }

    /// <summary>
    /// Stops a server still running on <paramref name="dataDirectory"/>: <c>pg_ctl stop -m immediate</c> as the
    /// server user, then SIGQUIT (the same thing) from us if it refused (a cluster of another user, as root).
    /// </summary>
    public static async Task StopServerAsync(string dataDirectory, PostgresBinaries binaries, CancellationToken ct)
    {
        if (PostmasterPid.TryRead(dataDirectory) is not { } pidFile || pidFile.Probe(dataDirectory) != PostmasterState.Running)
        {
            return;
        }

        var workingDirectory = Path.GetDirectoryName(dataDirectory) ?? "/";
        await ServerUser.RunAsync(
            ServerUser.Command(binaries.PgCtl, ["stop", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "10"], workingDirectory),
            TimeSpan.FromSeconds(15),
            ct);

        if (pidFile.Probe(dataDirectory) == PostmasterState.Running)
        {
            var kill = ServerUser.Command(
                "/bin/sh",
                ["-c", "kill -QUIT \"$1\"", "sh", pidFile.Pid.ToString(CultureInfo.InvariantCulture)],
                workingDirectory,
                asServerUser: false);
            await ServerUser.RunAsync(kill, TimeSpan.FromSeconds(5), ct);
            for (var i = 0; i < 100 && pidFile.Probe(dataDirectory) == PostmasterState.Running; i++)
            {
                await Task.Delay(50, ct);
            }
        }
    }

    /// <summary>Deletes a folder tree; returns why it failed, or null.</summary>
    public static string? TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ex.Message;
        }
    }
}

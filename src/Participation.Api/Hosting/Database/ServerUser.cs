using System.ComponentModel;
using System.Diagnostics;

namespace Participation.Api.Hosting.Database;

/// <summary>
/// Runs the PostgreSQL programs as the right OS user: ourselves, or, as root (which initdb, pg_ctl and
/// postgres refuse), the <c>postgres</c> user through <c>setpriv</c>.
/// </summary>
internal static class ServerUser
{
    public const string Name = "postgres";

    /// <summary>
    /// Runs <c>"$@"</c> in the background with stdin from /dev/null, then waits for end-of-file on its own
    /// stdin (a pipe our process keeps open) and stops the server with SIGINT (fast shutdown). If our process
    /// dies, even by SIGKILL, the pipe closes and the server stops. The shell drops its copies of
    /// stdout/stderr so that end-of-file on them means every server process has exited.
    /// </summary>
    private const string OrphanProofScript =
        "\"$@\" </dev/null & pid=$!; exec >/dev/null 2>&1; cat; kill -INT \"$pid\"; wait \"$pid\"";

    private static readonly Lazy<string?> SetsidPath = new(() => FindProgram("setsid"));
    private static readonly Lazy<string?> SetprivPath = new(() => FindProgram("setpriv"));

    public static bool IsRoot => !OperatingSystem.IsWindows() && Environment.IsPrivilegedProcess;

    /// <summary>Throws when this machine or account cannot start a server; one sentence saying what to do.</summary>
    public static void EnsureCanStartServer()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PostgresUnavailableException(
                "The service starts its own PostgreSQL only on Linux and macOS: set ConnectionStrings:Marten to a PostgreSQL connection string.");
        }

        if (!IsRoot)
        {
            return;
        }

        if (SetprivPath.Value is null)
        {
            throw new PostgresUnavailableException(
                "Running as root, the service starts PostgreSQL as the 'postgres' OS user with setpriv, which is missing: install util-linux, run as a normal user, or set ConnectionStrings:Marten.");
        }

        if (File.Exists("/etc/passwd")
            && !File.ReadLines("/etc/passwd").Any(line => line.StartsWith(Name + ":", StringComparison.Ordinal)))
        {
            throw new PostgresUnavailableException(
                "Running as root, the service starts PostgreSQL as the 'postgres' OS user, which does not exist: install the PostgreSQL server package (it creates that user), run as a normal user, or set ConnectionStrings:Marten.");
        }
    }

    /// <summary>A process start for a PostgreSQL program, as the server user when we are root (unless told otherwise).</summary>
    public static ProcessStartInfo Command(string program, IEnumerable<string> arguments, string workingDirectory, bool asServerUser = true)
    {
        var start = NewStart(workingDirectory);
        if (IsRoot && asServerUser)
        {
            start.FileName = SetprivPath.Value ?? "setpriv";
            AddSetprivArguments(start);
            start.ArgumentList.Add(program);
        }
        else
        {
            start.FileName = program;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>
    /// The server behind the orphan-proof wrapper, in its own session (no terminal Ctrl+C reaches it
    /// directly). Keep the process's standard input open for as long as the server must live.
    /// </summary>
    public static ProcessStartInfo OrphanProofCommand(string program, IEnumerable<string> arguments, string workingDirectory)
    {
        var start = NewStart(workingDirectory);
        start.RedirectStandardInput = true;
        var chain = new List<string>();
        if (SetsidPath.Value is { } setsid)
        {
            chain.Add(setsid);
        }

        if (IsRoot)
        {
            chain.Add(SetprivPath.Value ?? "setpriv");
            chain.AddRange(SetprivArguments());
        }

        chain.AddRange(["/bin/sh", "-c", OrphanProofScript, "sh", program]);
        chain.AddRange(arguments);
        start.FileName = chain[0];
        foreach (var argument in chain.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>Runs a command to completion, capturing its output.</summary>
    public static async Task<CommandResult> RunAsync(ProcessStartInfo start, TimeSpan timeout, CancellationToken ct)
    {
        using var process = StartProcess(start);
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(process);
            ct.ThrowIfCancellationRequested();
            throw new PostgresUnavailableException(
                $"'{DisplayName(start)}' did not finish within {timeout.TotalSeconds:0} s.");
        }

        return new CommandResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a process, turning a missing program into a clear error.</summary>
    public static Process StartProcess(ProcessStartInfo start)
    {
        try
        {
            return Process.Start(start)
                ?? throw new PostgresUnavailableException($"Could not start '{start.FileName}'.");
        }
        catch (Win32Exception ex)
        {
            throw new PostgresUnavailableException($"Could not start '{start.FileName}' ({ex.Message}): check the PostgreSQL installation.", ex);
        }
    }

    public static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }

    /// <summary>As root, hands a folder (optionally with its content) to the server user; otherwise nothing.</summary>
    public static async Task GiveToServerUserAsync(string path, bool recursive, CancellationToken ct)
    {
        if (!IsRoot)
        {
            return;
        }

        var start = NewStart(Path.GetDirectoryName(path) ?? "/");
        start.FileName = FindProgram("chown") ?? "chown";
        if (recursive)
        {
            start.ArgumentList.Add("-R");
        }

        start.ArgumentList.Add($"{Name}:{Name}");
        start.ArgumentList.Add(path);
        var result = await RunAsync(start, TimeSpan.FromSeconds(60), ct);
        if (result.ExitCode != 0)
        {
            throw new PostgresUnavailableException(
                $"Could not give '{path}' to the '{Name}' OS user (chown exit {result.ExitCode}): {result.Tail()}");
        }
    }

    /// <summary>The first of <paramref name="path"/> and its ancestors that others may not search (o+x), if any.</summary>
    public static string? FirstNotWorldSearchable(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        for (var dir = new DirectoryInfo(Path.GetFullPath(path)); dir is not null; dir = dir.Parent)
        {
            if (dir.Exists && (dir.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>Creates the missing folders of <paramref name="path"/>, giving each one it creates <paramref name="mode"/>.</summary>
    public static void CreateDirectoryTree(string path, UnixFileMode mode)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return;
        }

        if (Path.GetDirectoryName(full) is { } parent)
        {
            CreateDirectoryTree(parent, mode);
        }

        Directory.CreateDirectory(full);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(full, mode);
        }
    }

    public static string? FindProgram(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/bin").Append("/usr/sbin").Append("/sbin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>The program a start runs, looking through setpriv.</summary>
    public static string DisplayName(ProcessStartInfo start)
    {
        var separator = start.ArgumentList.IndexOf("--");
        return Path.GetFileName(
            separator >= 0 && separator + 1 < start.ArgumentList.Count ? start.ArgumentList[separator + 1] : start.FileName);
    }

    private static ProcessStartInfo NewStart(string workingDirectory)
    {
        var start = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };

        // libpq-style variables (PGPORT, PGDATA, PGOPTIONS...) would change what the server programs do.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("PG", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        return start;
    }

    private static void AddSetprivArguments(ProcessStartInfo start)
    {
        foreach (var argument in SetprivArguments())
        {
            start.ArgumentList.Add(argument);
        }
    }

    private static string[] SetprivArguments() => [$"--reuid={Name}", $"--regid={Name}", "--init-groups", "--"];
}

internal sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>The last lines of the output, for error messages.</summary>
    public string Tail(int maxLines = 8)
    {
        var lines = (StandardError + "\n" + StandardOutput)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no output)" : string.Join(" | ", lines.TakeLast(maxLines));
    }
}

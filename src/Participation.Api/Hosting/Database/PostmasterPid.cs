using System.Diagnostics;
using System.Globalization;

namespace Participation.Api.Hosting.Database;

internal enum PostmasterState
{
    /// <summary>No such process: the file is stale.</summary>
    Gone,

    /// <summary>The process has exited but is not reaped yet.</summary>
    Zombie,

    /// <summary>A live postgres process for this data directory (as far as we can tell).</summary>
    Running,

    /// <summary>The PID now belongs to another program or another data directory: the file is stale.</summary>
    NotOurs,
}

/// <summary>The <c>postmaster.pid</c> lock file of a data directory: line 1 PID, line 4 port.</summary>
internal sealed record PostmasterPid(int Pid, int? Port, string Text)
{
    public const string FileName = "postmaster.pid";

    /// <summary>The file's content, or null when there is none. A PID of 0 means unreadable (being written, or garbage).</summary>
    public static PostmasterPid? TryRead(string dataDirectory)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(dataDirectory, FileName));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new PostmasterPid(0, null, string.Empty);
        }

        var lines = text.Split('\n');
        var pid = ParseLine(lines, 0) ?? 0;
        return new PostmasterPid(pid, ParseLine(lines, 3), text);
    }

    public static void DeleteStale(string dataDirectory)
    {
        try
        {
            File.Delete(Path.Combine(dataDirectory, FileName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The server refuses to start and says why; nothing better to do here.
        }
    }

    /// <summary>What the PID in the file is now.</summary>
    public PostmasterState Probe(string dataDirectory)
    {
        if (Pid <= 0)
        {
            return PostmasterState.Gone;
        }

        return OperatingSystem.IsLinux() ? ProbeLinux(dataDirectory) : ProbePortable();
    }

    /// <summary>Same folder, even when one path goes through a symbolic link.</summary>
    public static bool SameDirectory(string a, string b)
    {
        if (string.Equals(Normalize(a), Normalize(b), StringComparison.Ordinal))
        {
            return true;
        }

        try
        {
            var left = File.ReadAllText(Path.Combine(a, FileName));
            return left.Length > 0 && left == File.ReadAllText(Path.Combine(b, FileName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Normalize(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    private PostmasterState ProbeLinux(string dataDirectory)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{Pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return PostmasterState.Gone;
        }

        // "PID (comm) S ...": comm may hold spaces and parentheses, so take the last ')'.
        var open = stat.IndexOf('(', StringComparison.Ordinal);
        var close = stat.LastIndexOf(')');
        if (open < 0 || close < open || close + 2 >= stat.Length)
        {
            return PostmasterState.Gone;
        }

        var state = stat[close + 2];
        if (state is 'Z' or 'X' or 'x')
        {
            return PostmasterState.Zombie;
        }

        var command = stat[(open + 1)..close];
        if (command is not ("postgres" or "postmaster"))
        {
            return PostmasterState.NotOurs;
        }

        // The postmaster changes into its data directory; when we may read its cwd, check it.
        try
        {
            var cwd = new DirectoryInfo($"/proc/{Pid}/cwd").ResolveLinkTarget(returnFinalTarget: false)?.FullName;
            return cwd is null || SameDirectory(cwd, dataDirectory) ? PostmasterState.Running : PostmasterState.NotOurs;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return PostmasterState.Running;
        }
    }

    private PostmasterState ProbePortable()
    {
        try
        {
            using var process = Process.GetProcessById(Pid);
            return process.HasExited ? PostmasterState.Gone
                : process.ProcessName is "postgres" or "postmaster" ? PostmasterState.Running
                : PostmasterState.NotOurs;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return PostmasterState.Gone;
        }
    }

    private static int? ParseLine(string[] lines, int index) =>
        lines.Length > index && int.TryParse(lines[index].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : null;
}

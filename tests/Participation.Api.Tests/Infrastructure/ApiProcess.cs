using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>
/// The API as a real operating-system process (the built Participation.Api.dll), on loopback, for tests of several
/// processes sharing one database and of a process dying under load.
/// </summary>
public sealed partial class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output;

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _standardOutput;

    private ApiProcess(
        Process process, Uri address, System.Collections.Concurrent.ConcurrentQueue<string> output, System.Collections.Concurrent.ConcurrentQueue<string> standardOutput)
    {
        _process = process;
        Address = address;
        _output = output;
        _standardOutput = standardOutput;
    }

    /// <summary>Every line the process wrote on standard output so far (the first 5000).</summary>
    public IReadOnlyList<string> StandardOutput => [.. _standardOutput];

    /// <summary>The last lines the process wrote (warnings and errors), for failure messages.</summary>
    public string RecentOutput
    {
        get
        {
            // The first errors the process logged (with the lines that follow them: the exception), then the last lines.
            var lines = _output.ToArray();
            var errors = lines.Select((line, i) => (line, i))
                .Where(x => x.line.Contains("fail:", StringComparison.Ordinal) || x.line.Contains("crit:", StringComparison.Ordinal))
                .OrderBy(x => x.line.Contains("ExceptionProblems", StringComparison.Ordinal) ? 0 : 1)
                .Take(3)
                .SelectMany(x => lines.Skip(x.i).Take(8));
            return string.Join(Environment.NewLine, errors.Append("...").Concat(lines.TakeLast(40)));
        }
    }

    public Uri Address { get; }

    public int Pid => _process.Id;

    /// <summary>Whether the process has ended (crashed, or killed by <see cref="Kill"/>).</summary>
    public bool HasExited => _process.HasExited;

    /// <param name="connectionString">The database.</param>
    /// <param name="ct">Cancels the wait for the process to listen.</param>
    /// <param name="environment">Environment variables set after the defaults below (a null value removes one).</param>
    public static async Task<ApiProcess> StartAsync(string connectionString, CancellationToken ct, IReadOnlyDictionary<string, string?>? environment = null)
    {
        // The API's own build output (artifacts/bin/Participation.Api/<configuration>/), not the copy beside the tests,
        // whose folder also holds the test assemblies that the API's command discovery would try to load.
        var testDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Path.Combine(testDirectory.Parent!.Parent!.FullName, "Participation.Api", testDirectory.Name, "Participation.Api.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"Build the API first: {dll} is missing.");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll },
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["ConnectionStrings__Marten"] = connectionString;
        start.Environment["Participation__AdminApiKey"] = AppFixture.AdminKey;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var standardOutput = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.Enqueue(e.Data);
            if (standardOutput.Count < 5000)
            {
                standardOutput.Enqueue(e.Data);
            }

            while (output.Count > 500 && output.TryDequeue(out string? _))
            {
            }

            if (ListeningOn().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) output.Enqueue(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(180), ct);
            return new ApiProcess(process, address, output, standardOutput);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("The API process did not start listening: " + string.Join(Environment.NewLine, output.TakeLast(30)));
        }
    }

    public HttpClient Client() => new() { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(120) };

    /// <summary>SIGKILL: no graceful shutdown, in-flight requests are cut off.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    // Also found inside a JSON log line (Production's console format): the address ends at a quote.
    [GeneratedRegex(@"Now listening on: (http://[^\s""]+)")]
    private static partial Regex ListeningOn();
}

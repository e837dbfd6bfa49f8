using System.Collections;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Participation.Api.Tests.Infrastructure;

/// <summary>One captured log entry: its level, category, the full line, and the path of the request it was written for.</summary>
/// <param name="RequestPath">
/// The <c>RequestPath</c> of ASP.NET Core's request scope when the entry was written inside a request (null otherwise):
/// tests running side by side on the shared host tell their own requests' entries from the others' by it.
/// </param>
public sealed record LogEntry(LogLevel Level, string Category, string Line, string? RequestPath, bool HasException);

/// <summary>Every log line of the test host (message, exception text and state), to prove secrets never reach logs.</summary>
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private IExternalScopeProvider? _scopes;

    public CapturedLogs() => Lines = new LineView(_entries);

    /// <summary>Each entry's full line, in the order written.</summary>
    public IReadOnlyCollection<string> Lines { get; }

    /// <summary>Each entry with its level and request path, in the same order as <see cref="Lines"/>.</summary>
    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private string? CurrentRequestPath()
    {
        var path = new System.Runtime.CompilerServices.StrongBox<string?>();
        _scopes?.ForEachScope(
            static (scope, found) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, value) in pairs)
                    {
                        if (key == "RequestPath" && value is not null)
                        {
                            found.Value = value.ToString();
                        }
                    }
                }
            },
            path);
        return path.Value;
    }

    private sealed class LineView(ConcurrentQueue<LogEntry> entries) : IReadOnlyCollection<string>
    {
        public int Count => entries.Count;

        public IEnumerator<string> GetEnumerator() => entries.Select(e => e.Line).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class Logger(string category, CapturedLogs owner) : ILogger
    {
        // Scopes go through the factory's external scope provider (ISupportExternalScope), which calls no provider logger.
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : state?.ToString();
            var line = $"{logLevel} {category}: {formatter(state, exception)} {values} {exception}";
            owner._entries.Enqueue(new LogEntry(logLevel, category, line, owner.CurrentRequestPath(), exception is not null));
        }
    }
}

namespace Participation.Api.Hosting.Database;

internal static partial class LocalPostgresLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL binaries: {BinDirectory} (found via {Source})")]
    public static partial void UsingBinaries(ILogger logger, string binDirectory, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Initialised PostgreSQL data directory {DataDirectory} in {ElapsedMs} ms")]
    public static partial void Initialised(ILogger logger, string dataDirectory, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL started: data directory {DataDirectory}, port {Port}, ready in {ElapsedMs} ms (connect with: psql -h 127.0.0.1 -p {Port} -U postgres)")]
    public static partial void Started(ILogger logger, string dataDirectory, int port, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reusing the PostgreSQL server already running on {DataDirectory} (PID {Pid}, port {Port})")]
    public static partial void Reused(ILogger logger, string dataDirectory, int pid, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database {Database} is ready on port {Port}; {ElapsedMs} ms in all")]
    public static partial void DatabaseReady(ILogger logger, string database, int port, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL on port {Port} stopped in {ElapsedMs} ms")]
    public static partial void Stopped(ILogger logger, int port, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL on port {Port} did not stop within {TimeoutSeconds} s and was killed")]
    public static partial void Killed(ILogger logger, int port, double timeoutSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Port {Port} was taken before PostgreSQL could bind it; trying another port")]
    public static partial void PortTaken(ILogger logger, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed the throwaway PostgreSQL cluster of a finished run: {Directory}")]
    public static partial void SweptStale(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove {Directory}: {Reason}")]
    public static partial void CouldNotRemove(ILogger logger, string directory, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "postgres[{Port}]: {Line}")]
    public static partial void ServerOutput(ILogger logger, int port, string line);
}

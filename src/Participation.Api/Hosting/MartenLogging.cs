using Marten;
using Marten.Services;
using Npgsql;

namespace Participation.Api.Hosting;

/// <summary>
/// Marten's logger for this service. Marten's default one writes a failed command at Error with the value of every
/// parameter: events and participant snapshots, that is the personal data of the token (<c>custom</c>, <c>form</c>,
/// <c>optin</c>), its jti and its sub, into the logs. This one writes the statement text only (every value is a
/// parameter, so the text holds none), and a lost race on a participant's stream, which the participation writer
/// decides again, at Debug: it is expected under concurrency, not an error.
/// </summary>
public sealed partial class MartenLogging(ILogger<IDocumentStore> logger) : IMartenLogger, IMartenSessionLogger
{
    public IMartenSessionLogger StartSession(IQuerySession session) => this;

    public void SchemaChange(string sql) => LogSchemaChange(logger, sql);

    public void LogSuccess(NpgsqlCommand command)
    {
    }

    public void LogSuccess(NpgsqlBatch batch)
    {
    }

    public void LogFailure(NpgsqlCommand command, Exception ex)
    {
        ArgumentNullException.ThrowIfNull(command);
        Failure(ex, command.CommandText);
    }

    public void LogFailure(NpgsqlBatch batch, Exception ex)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Failure(ex, string.Join(Environment.NewLine, batch.BatchCommands.Cast<NpgsqlBatchCommand>().Select(c => c.CommandText)));
    }

    public void LogFailure(Exception ex, string message) => LogError(logger, Describe(ex), message);

    public void RecordSavedChanges(IDocumentSession session, IChangeSet commit)
    {
    }

    public void OnBeforeExecute(NpgsqlCommand command)
    {
    }

    public void OnBeforeExecute(NpgsqlBatch batch)
    {
    }

    private void Failure(Exception exception, string statements)
    {
        if (ParticipationHosting.IsWriteRace(exception))
        {
            LogWriteRace(logger, exception.GetType().Name);
        }
        else
        {
            LogCommandFailed(logger, Describe(exception), statements);
        }
    }

    /// <summary>
    /// The failure without its data: PostgreSQL's error context (<c>Where</c>) quotes the JSON it could not read, and
    /// exception data carry it into any log line that includes the exception, so only the error's state and message
    /// are written.
    /// </summary>
    internal static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException postgres)
            {
                return $"{postgres.GetType().Name} {postgres.SqlState}: {postgres.MessageText}";
            }
        }

        var innermost = exception;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return innermost == exception ? exception.GetType().Name : $"{exception.GetType().Name} ({innermost.GetType().Name})";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Executed schema update SQL:\n{Sql}")]
    private static partial void LogSchemaChange(ILogger logger, string sql);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A write lost a race on a participant's stream ({ExceptionType}): decided again")]
    private static partial void LogWriteRace(ILogger logger, string exceptionType);

    [LoggerMessage(Level = LogLevel.Error, Message = "A database command failed ({Failure}; parameter values are not logged):\n{Statements}")]
    private static partial void LogCommandFailed(ILogger logger, string failure, string statements);

    [LoggerMessage(Level = LogLevel.Error, Message = "Marten: {Message} ({Failure})")]
    private static partial void LogError(ILogger logger, string failure, string message);
}

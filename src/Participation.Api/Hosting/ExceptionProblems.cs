using JasperFx;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Participation.Api.Hosting;

/// <summary>
/// Last line of defence: every exception becomes problem+json without a stack trace. A database that cannot be
/// reached, or a write whose outcome is unknown, is a 503 the client may retry with the same token (the replay
/// check then answers 201 or the 409 carrying the original participation, never a second acceptance).
/// </summary>
public sealed partial class ExceptionProblems(ILogger<ExceptionProblems> logger, IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(exception);

        int status;
        string code;
        string detail;
        if (exception is BadHttpRequestException bad)
        {
            status = bad.StatusCode;
            code = Problems.RequestInvalid;
            detail = "The request could not be read.";
        }
        else if (exception is Participations.UnstorableRequestException)
        {
            status = StatusCodes.Status400BadRequest;
            code = Problems.RequestInvalid;
            detail = "The request carries text that cannot be stored (U+0000).";
        }
        else if (exception is Accounts.SecretsUnavailableException)
        {
            LogSecretsUnavailable(logger, exception);
            status = StatusCodes.Status503ServiceUnavailable;
            code = Problems.ServiceUnavailable;
            detail = "The service cannot use this account's keys right now.";
        }
        else if (IsTransient(exception))
        {
            LogUnavailable(logger, exception.GetType().Name);
            status = StatusCodes.Status503ServiceUnavailable;
            code = Problems.ServiceUnavailable;
            detail = "The service could not reach its database or could not confirm the write: retry the same request.";
            httpContext.Response.Headers.RetryAfter = "1";
        }
        else
        {
            LogUnhandled(logger, exception);
            status = StatusCodes.Status500InternalServerError;
            code = Problems.InternalError;
            detail = "An unexpected error occurred.";
        }

        httpContext.Response.StatusCode = status;
        var result = Problems.Create(status, code, detail);
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = result.ProblemDetails,
            Exception = null,
        });
    }

    internal static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case NpgsqlException:
                case TimeoutException:
                case ConcurrencyException:
                case Marten.Exceptions.ExistingStreamIdCollisionException:
                case System.Net.Sockets.SocketException:
                    return true;
            }
        }

        return exception is AggregateException aggregate && aggregate.InnerExceptions.Any(IsTransient);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database unavailable or write outcome unknown ({ExceptionType}): answered 503")]
    private static partial void LogUnavailable(ILogger logger, string exceptionType);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Stored secrets cannot be decrypted (master key configuration): answered 503")]
    private static partial void LogSecretsUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception: answered 500")]
    private static partial void LogUnhandled(ILogger logger, Exception exception);
}

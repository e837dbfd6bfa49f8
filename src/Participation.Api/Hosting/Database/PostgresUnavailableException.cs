namespace Participation.Api.Hosting.Database;

/// <summary>
/// No PostgreSQL server could be found or started. The message is one sentence that tells the
/// user what to install or set; it never contains a password.
/// </summary>
public sealed class PostgresUnavailableException : Exception
{
    public PostgresUnavailableException()
        : base("No PostgreSQL server is available.")
    {
    }

    public PostgresUnavailableException(string message)
        : base(message)
    {
    }

    public PostgresUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

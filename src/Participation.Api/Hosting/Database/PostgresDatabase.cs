using System.Text;
using Npgsql;

namespace Participation.Api.Hosting.Database;

/// <summary>Creates databases on a server, given a connection string to any database of it.</summary>
public static class PostgresDatabase
{
    private const string DuplicateDatabase = "42P04";
    private const string UniqueViolation = "23505";

    /// <summary>Creates <paramref name="database"/> unless it exists; returns its connection string.</summary>
    public static async Task<string> EnsureCreatedAsync(string serverConnectionString, string database, CancellationToken ct)
    {
        ValidateName(database);
        await using var connection = new NpgsqlConnection(AdminConnectionString(serverConnectionString));
        await connection.OpenAsync(ct);
        if (!await ExistsAsync(connection, database, ct))
        {
            await CreateAsync(connection, database, ct);
        }

        return WithDatabase(serverConnectionString, database);
    }

    /// <summary>
    /// Drops <paramref name="database"/> if it exists (closing its sessions) and creates it empty; returns
    /// its connection string. For test isolation only.
    /// </summary>
    public static async Task<string> RecreateAsync(string serverConnectionString, string database, CancellationToken ct)
    {
        ValidateName(database);
        await using var connection = new NpgsqlConnection(AdminConnectionString(serverConnectionString));
        await connection.OpenAsync(ct);
        await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {QuoteIdentifier(database)} WITH (FORCE)", connection))
        {
            await drop.ExecuteNonQueryAsync(ct);
        }

        // Pooled connections of this process to the dropped database are dead now.
        var connectionString = WithDatabase(serverConnectionString, database);
        await using (var pooled = new NpgsqlConnection(connectionString))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        await CreateAsync(connection, database, ct);
        return connectionString;
    }

    /// <summary>The same connection string pointing at another database.</summary>
    public static string WithDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database }.ConnectionString;

    internal static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string AdminConnectionString(string serverConnectionString)
    {
        // CREATE DATABASE works from any database; keep the given one (it may be the only one we may use),
        // default to "postgres", and do not leave a pool behind.
        var builder = new NpgsqlConnectionStringBuilder(serverConnectionString) { Pooling = false };
        if (string.IsNullOrEmpty(builder.Database))
        {
            builder.Database = "postgres";
        }

        return builder.ConnectionString;
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, string database, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection)
        {
            Parameters = { new NpgsqlParameter { Value = database } },
        };
        return await command.ExecuteScalarAsync(ct) is not null;
    }

    private static async Task CreateAsync(NpgsqlConnection connection, string database, CancellationToken ct)
    {
        try
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {QuoteIdentifier(database)}", connection);
            await create.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException ex) when (ex.SqlState is DuplicateDatabase or UniqueViolation)
        {
            // Created concurrently by someone else: fine.
        }
    }

    private static void ValidateName(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        if (Encoding.UTF8.GetByteCount(database) > 63 || database.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("A PostgreSQL database name has at most 63 bytes and no NUL character.", nameof(database));
        }
    }
}

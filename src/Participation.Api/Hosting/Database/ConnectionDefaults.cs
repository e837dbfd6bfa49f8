using System.Data.Common;
using Npgsql;

namespace Participation.Api.Hosting.Database;

/// <summary>
/// Npgsql settings the service applies to its connection string unless the operator's connection string sets them.
/// </summary>
/// <remarks>
/// Auto-prepare: Npgsql prepares, on each physical connection, the statements it sees at least twice, so PostgreSQL
/// stops parsing and planning them on every request; and because a pooled connection holding prepared statements is
/// reset without <c>DISCARD ALL</c>, Marten's append function keeps its cached plans too. Measured with
/// <c>bench/run.sh --focus</c>: about 30 % less PostgreSQL CPU per participation (docs/benchmarks.md). It changes no
/// behaviour: Marten names its columns, so a migration adding columns cannot invalidate a prepared statement's result.
/// </remarks>
public static class ConnectionDefaults
{
    public const int MaxAutoPrepare = 50;
    public const int AutoPrepareMinUsages = 2;

    public static string Apply(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!IsSet(given, "Max Auto Prepare", "MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = MaxAutoPrepare;
        }

        if (!IsSet(given, "Auto Prepare Min Usages", "AutoPrepareMinUsages"))
        {
            builder.AutoPrepareMinUsages = AutoPrepareMinUsages;
        }

        return builder.ConnectionString;
    }

    private static bool IsSet(DbConnectionStringBuilder given, params string[] names) =>
        names.Any(given.ContainsKey);
}

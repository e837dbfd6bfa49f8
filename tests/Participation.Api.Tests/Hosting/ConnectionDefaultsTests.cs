using Npgsql;
using Participation.Api.Hosting.Database;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Hosting;

public sealed class ConnectionDefaultsTests
{
    [Fact]
    public void Auto_prepare_is_added_when_the_connection_string_does_not_say()
    {
        var applied = new NpgsqlConnectionStringBuilder(ConnectionDefaults.Apply("Host=db;Database=participation;Username=app"));

        applied.MaxAutoPrepare.ShouldBe(ConnectionDefaults.MaxAutoPrepare);
        applied.AutoPrepareMinUsages.ShouldBe(ConnectionDefaults.AutoPrepareMinUsages);
        applied.Host.ShouldBe("db");
        applied.Database.ShouldBe("participation");
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0", 0, ConnectionDefaults.AutoPrepareMinUsages)]
    [InlineData("Host=db;maxautoprepare=7;Auto Prepare Min Usages=5", 7, 5)]
    [InlineData("Host=db;AUTO PREPARE MIN USAGES=9", ConnectionDefaults.MaxAutoPrepare, 9)]
    public void What_the_operator_set_is_kept(string connectionString, int maxAutoPrepare, int minUsages)
    {
        var applied = new NpgsqlConnectionStringBuilder(ConnectionDefaults.Apply(connectionString));

        applied.MaxAutoPrepare.ShouldBe(maxAutoPrepare);
        applied.AutoPrepareMinUsages.ShouldBe(minUsages);
    }
}

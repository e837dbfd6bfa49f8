using Participation.Api.Hosting;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Hosting;

public sealed class HealthProbeTests
{
    [Theory]
    [InlineData(null, null, "http://127.0.0.1:8080/health/ready")]
    [InlineData(null, "9000;9001", "http://127.0.0.1:9000/health/ready")]
    [InlineData("http://+:8081", "9000", "http://127.0.0.1:8081/health/ready")]
    [InlineData("https://*:8443;http://0.0.0.0:5000", null, "http://127.0.0.1:5000/health/ready")]
    [InlineData("http://[::]:7000/", null, "http://127.0.0.1:7000/health/ready")]
    [InlineData("https://*:8443", "9000", "http://127.0.0.1:9000/health/ready")]
    public void The_probe_finds_the_port_the_service_listens_on(string? urls, string? httpPorts, string expected)
    {
        var environment = new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = urls, ["ASPNETCORE_HTTP_PORTS"] = httpPorts };

        HealthProbe.Target([HealthProbe.Flag], name => environment.GetValueOrDefault(name)).ShouldBe(new Uri(expected));
    }

    [Fact]
    public void A_url_after_the_flag_is_probed_as_given() =>
        HealthProbe.Target([HealthProbe.Flag, "http://10.0.0.5:9999/health/ready"], _ => "http://+:8081")
            .ShouldBe(new Uri("http://10.0.0.5:9999/health/ready"));
}

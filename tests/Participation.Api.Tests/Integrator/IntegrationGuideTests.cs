using System.Diagnostics;
using System.Net;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Integrator;

/// <summary>
/// The token-minting snippets of docs/integration.md, run against the service: the C# one compiled into this test
/// project, the Node.js one run by <c>node</c> (built-in crypto only), the Python and Java ones where those runtimes
/// are installed. The guide must show each snippet file verbatim, so what partners copy is what was tested.
/// </summary>
public sealed class IntegrationGuideTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static readonly TheoryData<string> Snippets = new() { "MintToken.cs", "mint-token.mjs", "mint_token.py", "MintToken.java", "mint-token.php" };

    [Theory]
    [MemberData(nameof(Snippets))]
    public void The_guide_shows_each_snippet_verbatim(string file)
    {
        var guide = RepositoryFiles.Read("docs", "integration.md");
        var snippet = RepositoryFiles.Read("docs", "snippets", file).TrimEnd();
        guide.ShouldContain(snippet, Case.Sensitive, $"docs/integration.md does not show docs/snippets/{file} verbatim");
    }

    [Fact]
    public async Task The_csharp_snippet_mints_a_token_the_service_accepts()
    {
        var campaign = await _given.CampaignAsync(await _given.HmacAccountAsync(), perParticipant: 2);

        var token = Partner.Participation.SecureTokens.Mint(TestTokens.Secret, "csharp-user", campaign, TimeSpan.FromMinutes(10),
            limit: new { nb = 4 }, gift: new { label = "Coffee mug", cw = true });

        var answer = await ParticipateOverLoopbackAsync(campaign, token);
        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        answer.Json.GetProperty("sub").GetString().ShouldBe("csharp-user");
        answer.Json.GetProperty("limit").GetInt32().ShouldBe(4);
        answer.Json.GetProperty("gift").GetProperty("label").GetString().ShouldBe("Coffee mug");
    }

    [Fact]
    public async Task The_nodejs_snippet_mints_a_token_the_service_accepts()
    {
        var (campaign, token) = await MintWithAsync("node", "mint-token.mjs");
        var answer = await ParticipateOverLoopbackAsync(campaign, token);
        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        answer.Json.GetProperty("sub").GetString().ShouldBe("node-user");
    }

    [Fact]
    public async Task The_python_snippet_mints_a_token_the_service_accepts()
    {
        var (campaign, token) = await MintWithAsync("python3", "mint_token.py");
        (await ParticipateOverLoopbackAsync(campaign, token)).Status.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task The_java_snippet_mints_a_token_the_service_accepts()
    {
        var (campaign, token) = await MintWithAsync("java", "MintToken.java");
        (await ParticipateOverLoopbackAsync(campaign, token)).Status.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task The_php_snippet_mints_a_token_the_service_accepts()
    {
        var (campaign, token) = await MintWithAsync("php", "mint-token.php");
        (await ParticipateOverLoopbackAsync(campaign, token)).Status.ShouldBe(HttpStatusCode.Created);
    }

    /// <summary>
    /// Runs a snippet as the guide says (<c>PARTICIPATION_SECRET=... program file campaignId sub</c>) for a new
    /// campaign; skips when the runtime is not installed.
    /// </summary>
    private async Task<(string Campaign, string Token)> MintWithAsync(string program, string file)
    {
        var executable = FindOnPath(program);
        if (executable is null)
        {
            Assert.Skip($"{program} is not installed here: its snippet is shown in docs/integration.md but not run.");
        }

        var campaign = await _given.CampaignAsync(await _given.HmacAccountAsync());
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepositoryFiles.PathOf("docs", "snippets", file));
        start.ArgumentList.Add(campaign);
        start.ArgumentList.Add(program.TrimEnd('3') + "-user");
        start.Environment["PARTICIPATION_SECRET"] = TestTokens.Secret;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        process.ExitCode.ShouldBe(0, await error);
        var token = (await output).Trim();
        token.Split('.').Length.ShouldBe(3, token);
        return (campaign, token);
    }

    private async Task<ApiAnswer> ParticipateOverLoopbackAsync(string campaign, string token)
    {
        using var client = app.KestrelClient();
        return await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations?qual_token={Uri.EscapeDataString(token)}", null, Ct));
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);
}

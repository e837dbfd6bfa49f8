using System.Diagnostics;
using System.Net;
using System.Text.Json;
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
    /// The guide's "From your code" line of each snippet (the function called with a limit, and a gift where it takes
    /// one), run by its runtime: the token carries them and the service accepts it.
    /// </summary>
    [Theory]
    [InlineData("node")]
    [InlineData("python3")]
    [InlineData("php")]
    public async Task Each_snippet_used_from_code_as_the_guide_shows_mints_a_token_the_service_accepts(string program)
    {
        var executable = FindOnPath(program);
        if (executable is null)
        {
            Assert.Skip($"{program} is not installed here: its snippet is shown in docs/integration.md but not run.");
        }

        var campaign = await _given.CampaignAsync(await _given.HmacAccountAsync());
        var snippets = RepositoryFiles.PathOf("docs", "snippets");
        var guide = RepositoryFiles.Read("docs", "integration.md");
        string[] arguments;
        switch (program)
        {
            case "node":
                guide.ShouldContain("`import { mintToken } from './mint-token.mjs';` then\n`mintToken({ secret, sub: 'user-42', campaignId: '123456', lifetimeSeconds: 900, limit: { nb: 5 } })`");
                arguments =
                [
                    "--input-type=module", "-e",
                    "const { mintToken } = await import(new URL('mint-token.mjs', 'file://' + process.argv[1] + '/').href);" +
                    "console.log(mintToken({ secret: process.env.PARTICIPATION_SECRET, sub: 'user-42', campaignId: process.argv[2], lifetimeSeconds: 900, limit: { nb: 5 } }));",
                    snippets, campaign,
                ];
                break;
            case "python3":
                guide.ShouldContain("`from mint_token import mint_token` then\n`mint_token(secret, \"user-42\", \"123456\", 900, limit={\"nb\": 5})`");
                arguments =
                [
                    "-c",
                    "import os, sys; sys.path.insert(0, sys.argv[1]); from mint_token import mint_token; " +
                    "print(mint_token(os.environ['PARTICIPATION_SECRET'], \"user-42\", sys.argv[2], 900, limit={\"nb\": 5}))",
                    snippets, campaign,
                ];
                break;
            default:
                guide.ShouldContain("`require_once 'mint-token.php';` then\n`mint_token($secret, 'user-42', '123456', 900, ['nb' => 5], ['label' => 'Coffee mug', 'cw' => true])`");
                arguments =
                [
                    "-r",
                    "require_once $argv[1] . '/mint-token.php'; " +
                    "echo mint_token(getenv('PARTICIPATION_SECRET'), 'user-42', $argv[2], 900, ['nb' => 5], ['label' => 'Coffee mug', 'cw' => true]), PHP_EOL;",
                    snippets, campaign,
                ];
                break;
        }

        var token = await RunAsync(executable, arguments);
        var payload = JsonDocument.Parse(TestTokens.DecodePayload(token)).RootElement;
        (payload.GetProperty("exp").GetInt64() - payload.GetProperty("iat").GetInt64()).ShouldBe(900);
        var answer = await ParticipateOverLoopbackAsync(campaign, token);
        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        answer.Json.GetProperty("sub").GetString().ShouldBe("user-42");
        answer.Json.GetProperty("limit").GetInt32().ShouldBe(5);
        if (program == "php")
        {
            answer.Json.GetProperty("gift").GetProperty("label").GetString().ShouldBe("Coffee mug");
        }
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
        var token = await RunAsync(executable, [RepositoryFiles.PathOf("docs", "snippets", file), campaign, program.TrimEnd('3') + "-user"]);
        return (campaign, token);
    }

    /// <summary>Runs a program with the test secret in <c>PARTICIPATION_SECRET</c> (bounded) and returns the token it printed.</summary>
    private static async Task<string> RunAsync(string executable, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

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
        return token;
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

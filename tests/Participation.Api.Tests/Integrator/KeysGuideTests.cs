using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Hosting;
using Participation.Api.Tests.Auth;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Integrator;

/// <summary>
/// The worked examples of docs/keys.md, as a partner would use them: every settings body the guide shows is sent as
/// written, its example tokens verify with its secrets, and its snippets (openssl signing, a JWK Set from a PEM, a JWE
/// made with Node.js's own crypto) give tokens the service accepts, over HTTP against the real database.
/// </summary>
public sealed partial class KeysGuideTests(AppFixture app) : IAsyncLifetime
{
    private readonly Given _given = new(app);
    private readonly string _folder = Directory.CreateTempSubdirectory("keys-guide-").FullName;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Guide => RepositoryFiles.Read("docs", "keys.md");

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }

    public static readonly TheoryData<string, string> Snippets = new()
    {
        { "sign-rs256.sh", "" },
        { "jwks-from-pem.sh", "" },
        { "encrypt-token.mjs", "   " },
    };

    [Theory]
    [MemberData(nameof(Snippets))]
    public void The_guide_shows_each_snippet_verbatim(string file, string indent)
    {
        var snippet = RepositoryFiles.Read("docs", "snippets", file).TrimEnd();
        var shown = string.Join('\n', snippet.Split('\n').Select(line => line.Length == 0 ? line : indent + line));
        Guide.ShouldContain(shown, Case.Sensitive, $"docs/keys.md does not show docs/snippets/{file} verbatim");
    }

    [Fact]
    public async Task Every_settings_body_the_guide_shows_is_accepted_as_written()
    {
        var bodies = SettingsBodies().ToList();
        bodies.Count.ShouldBeGreaterThanOrEqualTo(5, "the hmac body, the three rotation steps, the jwks body, the encryption body");
        bodies.ShouldContain(b => b.Contains("\"jwks\"", StringComparison.Ordinal));
        bodies.ShouldContain(b => b.Contains("\"optional\"", StringComparison.Ordinal));

        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();
        foreach (var body in bodies)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            var answer = await ApiAnswer.From(await admin.PutAsync($"/v1/accounts/{account}/secure-token", content, Ct));
            answer.Status.ShouldBe(HttpStatusCode.OK, $"{body}\n{answer.Body}");
        }
    }

    [Fact]
    public async Task The_example_tokens_verified_with_the_documented_secrets_while_they_were_valid_and_are_expired_now()
    {
        var tokens = ExampleTokens().ToList();
        tokens.Count.ShouldBe(2);
        var rotation = SettingsBodies().Single(b => b.Contains("\"2025-01\"", StringComparison.Ordinal) && b.Contains("\"2026-01\"", StringComparison.Ordinal));
        var (settings, errors) = SecureTokenRequestValidator.Validate(JsonSerializer.Deserialize<SecureTokenRequest>(rotation, JsonBody.Options)!);
        errors.ShouldBeEmpty();

        // 1 January 2026, one minute after their iat: both the token without kid and the one naming 2026-01 verify.
        var then = new SecureTokenValidator(new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1767225660)), new RecordingLogger<SecureTokenValidator>());
        foreach (var token in tokens)
        {
            var (verified, error) = await then.ValidateAsync(token, "guide", 1, settings!, Ct);
            error.ShouldBeNull(token);
            verified!.Sub.ShouldBe("user-42");
            verified.CampaignId.ShouldBe("123456");
        }

        // Now: expired, as the guide warns.
        var now = new SecureTokenValidator(TimeProvider.System, new RecordingLogger<SecureTokenValidator>());
        foreach (var token in tokens)
        {
            (await now.ValidateAsync(token, "guide", 1, settings!, Ct)).Error!.Code.ShouldBe(TokenErrorCodes.Expired);
        }
    }

    [Fact]
    public async Task The_openssl_key_and_token_work_with_publicKey_then_with_a_jwks_made_from_the_same_pem()
    {
        // The guide's two openssl commands, as written.
        foreach (var command in new[]
        {
            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out partner-2025.key",
            "openssl pkey -in partner-2025.key -pubout -out partner-2025.pem",
        })
        {
            Guide.ShouldContain(command);
            await RunAsync("bash", ["-c", command]);
        }

        var pem = await File.ReadAllTextAsync(Path.Combine(_folder, "partner-2025.pem"), Ct);
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 10);
        await _given.PutSecureTokenAsync(account, new { method = "publicKey", algorithms = new[] { "RS256" }, publicKeys = new[] { new { kid = "partner-2025", pem } } });

        var answer = await ParticipateAsync(campaign, await SignAsync(campaign, "openssl-user"));
        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        answer.Json.GetProperty("sub").GetString().ShouldBe("openssl-user");

        // The same key published as a JWK Set by the guide's Node.js one-liner, behind the guide's jwks settings.
        await RunAsync("bash", [RepositoryFiles.PathOf("docs", "snippets", "jwks-from-pem.sh")]);
        await using var jwks = await JwksServer.StartAsync(Ct);
        jwks.Serve(await File.ReadAllTextAsync(Path.Combine(_folder, "jwks.json"), Ct));
        var jwksBody = SettingsBodies().Single(b => b.Contains("\"jwks\"", StringComparison.Ordinal));
        using (var admin = app.AdminClient())
        {
            var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(jwksBody)!;
            body["jwksUri"] = JsonSerializer.SerializeToElement(jwks.Uri.AbsoluteUri);
            (await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", body, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await ParticipateAsync(campaign, await SignAsync(campaign, "openssl-user"))).Status.ShouldBe(HttpStatusCode.Created);
        jwks.Requests.ShouldBe(1);
    }

    [Fact]
    public async Task The_encryption_example_gives_a_jwe_the_service_decrypts_and_verifies()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 10);
        using var admin = app.AdminClient();

        // Step 1, the guide's body; the response has the members the guide shows.
        Guide.ShouldContain("""-d '{"alg": "RSA-OAEP-256"}'""");
        using var keyBody = new StringContent("""{"alg": "RSA-OAEP-256"}""", Encoding.UTF8, "application/json");
        var created = await ApiAnswer.From(await admin.PostAsync($"/v1/accounts/{account}/encryption-keys", keyBody, Ct));
        created.Status.ShouldBe(HttpStatusCode.Created, created.Body);
        created.Json.EnumerateObject().Select(p => p.Name).ShouldBe(["kid", "alg", "createdAt", "jwk"]);
        created.Json.GetProperty("jwk").EnumerateObject().Select(p => p.Name).ShouldBe(["kty", "use", "alg", "kid", "n", "e"]);

        // Step 2, the guide's body with "encryption": "optional".
        var optional = SettingsBodies().Single(b => b.Contains("\"optional\"", StringComparison.Ordinal));
        using (var content = new StringContent(optional, Encoding.UTF8, "application/json"))
        {
            (await admin.PutAsync($"/v1/accounts/{account}/secure-token", content, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        // Steps 3 and 4: the public JWKS, without credentials, and the guide's Node.js snippet around an HS256 token.
        using (var anonymous = app.Client())
        {
            await File.WriteAllTextAsync(Path.Combine(_folder, "jwks.json"), await anonymous.GetStringAsync($"/v1/accounts/{account}/jwks.json", Ct), Ct);
        }

        var secret = JsonDocument.Parse(optional).RootElement.GetProperty("secret").GetString()!;
        var signed = TestTokens.Hs256(secret, TestTokens.Claims("encrypting-user", campaign, jti: TestTokens.NewJti()));
        var jwe = (await RunAsync("node", [RepositoryFiles.PathOf("docs", "snippets", "encrypt-token.mjs"), "jwks.json", signed])).Trim();
        jwe.Split('.').Length.ShouldBe(5, jwe);

        var accepted = await ParticipateAsync(campaign, jwe);
        accepted.Status.ShouldBe(HttpStatusCode.Created, accepted.Body);
        accepted.Json.GetProperty("sub").GetString().ShouldBe("encrypting-user");
        (await ParticipateAsync(campaign, jwe)).ShouldBeProblem(HttpStatusCode.Conflict, "token_replayed");

        var other = (await RunAsync("node", [RepositoryFiles.PathOf("docs", "snippets", "encrypt-token.mjs"), "jwks.json",
            TestTokens.Hs256(secret, TestTokens.Claims("encrypting-user", campaign, jti: TestTokens.NewJti()))])).Trim().Split('.');
        other[3] = other[3][..^2] + (other[3][^2] == 'A' ? 'B' : 'A') + other[3][^1];
        (await ParticipateAsync(campaign, string.Join('.', other))).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_decryption_failed");
    }

    /// <summary>
    /// The JSON settings bodies of the guide: one-line <c>-d '{"method"...}'</c> arguments, inline
    /// <c>`{"method"...}`</c>, and fenced <c>json</c> blocks starting with <c>{"method"</c>.
    /// </summary>
    private static IEnumerable<string> SettingsBodies()
    {
        var guide = Guide;
        foreach (Match match in CurlBody().Matches(guide))
        {
            yield return match.Groups[1].Value;
        }

        foreach (Match match in InlineBody().Matches(guide))
        {
            yield return match.Groups[1].Value;
        }

        foreach (Match match in JsonBlock().Matches(guide))
        {
            if (match.Groups[1].Value.TrimStart().StartsWith("{\"method\"", StringComparison.Ordinal))
            {
                yield return match.Groups[1].Value;
            }
        }
    }

    /// <summary>The example tokens of the guide: lines that are a compact JWS and nothing else.</summary>
    private static IEnumerable<string> ExampleTokens() =>
        Guide.Split('\n').Select(l => l.Trim()).Where(l => ExampleToken().IsMatch(l));

    private async Task<string> SignAsync(string campaign, string sub) =>
        (await RunAsync("bash", [RepositoryFiles.PathOf("docs", "snippets", "sign-rs256.sh")], new() { ["CAMPAIGN"] = campaign, ["SUB"] = sub })).Trim();

    private async Task<ApiAnswer> ParticipateAsync(string campaign, string token)
    {
        using var client = app.KestrelClient();
        return await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct));
    }

    /// <summary>Runs a program in the test's folder (bounded to one minute); its standard output. Fails on a non-zero exit.</summary>
    private async Task<string> RunAsync(string program, string[] arguments, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = _folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        process.ExitCode.ShouldBe(0, $"{program} {string.Join(' ', arguments)}: {await error}");
        return await output;
    }

    [GeneratedRegex("""-d '(\{"method".*?\})'""")]
    private static partial Regex CurlBody();

    [GeneratedRegex("""`(\{"method".*?\})`""")]
    private static partial Regex InlineBody();

    [GeneratedRegex("""```json\n(.*?)```""", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();

    [GeneratedRegex("""^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$""")]
    private static partial Regex ExampleToken();
}

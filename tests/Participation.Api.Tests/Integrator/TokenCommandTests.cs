using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JasperFx.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Participation.Api.Cli;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Integrator;

/// <summary>
/// <c>token mint</c> and <c>token inspect</c>, parsed by JasperFx's command line as <c>dotnet run -- token ...</c>
/// parses them, and run against the test database (the service's host, built as the command line builds it).
/// </summary>
public sealed class TokenCommandTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record CommandResult(bool Succeeded, string Output, string Error)
    {
        public string Token => Output.Trim();
    }

    private async Task<CommandResult> RunAsync(params string[] args)
    {
        var factory = new CommandFactory();
        factory.RegisterCommand<TokenCommand>();
        var run = factory.BuildRun(args);
        run.Command.ShouldBeOfType<TokenCommand>($"'{string.Join(' ', args)}' did not parse");
        var input = (TokenInput)run.Input;
        input.HostBuilder = new ExistingHost(app.Host);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var succeeded = await new TokenCommand { Out = output, Error = error }.Execute(input);
        return new CommandResult(succeeded, output.ToString(), error.ToString());
    }

    private async Task<ApiAnswer> ParticipateAsync(string campaign, string token)
    {
        using var client = app.Client();
        return await ApiAnswer.From(await client.PostAsJsonAsync($"/v1/campaigns/{campaign}/participations", new { token }, Ct));
    }

    private static JsonElement Payload(string token) => JsonDocument.Parse(TestTokens.DecodePayload(token)).RootElement;

    [Fact]
    public async Task Mint_signs_with_the_account_secret_from_the_database_and_the_service_accepts_the_token()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);

        var minted = await RunAsync("token", "mint", "--campaign", campaign, "--sub", "alice", "--limit-nb", "5", "--gift-label", "Mug", "--cw", "false");

        minted.Succeeded.ShouldBeTrue(minted.Error);
        var payload = Payload(minted.Token);
        payload.GetProperty("sub").GetString().ShouldBe("alice");
        payload.GetProperty("campaignId").GetString().ShouldBe(campaign);
        payload.GetProperty("jti").GetString().ShouldNotBeNullOrEmpty();
        payload.GetProperty("limit").GetProperty("nb").GetInt32().ShouldBe(5);
        (payload.GetProperty("exp").GetInt64() - payload.GetProperty("iat").GetInt64()).ShouldBe(3600);
        minted.Error.ShouldContain($"/play/{campaign}?qual_token=");
        minted.Error.ShouldNotContain(TestTokens.Secret);

        var answer = await ParticipateAsync(campaign, minted.Token);
        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        answer.Json.GetProperty("limit").GetInt32().ShouldBe(5);
        answer.Json.GetProperty("canWin").GetBoolean().ShouldBeFalse();
        answer.Json.GetProperty("gift").GetProperty("label").GetString().ShouldBe("Mug");
    }

    [Fact]
    public async Task Mint_options_shape_the_claims()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account);

        var expired = await RunAsync("token", "mint", "--campaign", campaign, "--exp", "5m-ago", "--iat", "1h-ago", "--jti", "none", "--can-play", "false");
        expired.Succeeded.ShouldBeTrue(expired.Error);
        var payload = Payload(expired.Token);
        payload.TryGetProperty("jti", out _).ShouldBeFalse();
        payload.GetProperty("limit").GetProperty("canPlay").GetBoolean().ShouldBeFalse();
        payload.GetProperty("exp").GetInt64().ShouldBeLessThan(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        (await ParticipateAsync(campaign, expired.Token)).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_expired");

        var noExpiry = await RunAsync("token", "mint", "--campaign", campaign, "--exp", "none", "--jti", "order-42");
        Payload(noExpiry.Token).TryGetProperty("exp", out _).ShouldBeFalse();
        Payload(noExpiry.Token).GetProperty("jti").GetString().ShouldBe("order-42");
    }

    [Fact]
    public async Task Mint_with_a_given_secret_works_without_the_database_settings_and_explains_mistakes()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account);

        var withSecret = await RunAsync("token", "mint", "--campaign", campaign, "--secret", TestTokens.Secret);
        withSecret.Succeeded.ShouldBeTrue(withSecret.Error);
        (await ParticipateAsync(campaign, withSecret.Token)).Status.ShouldBe(HttpStatusCode.Created);

        var unknown = await RunAsync("token", "mint", "--campaign", "no-such-campaign-" + Guid.NewGuid().ToString("N"));
        unknown.Succeeded.ShouldBeFalse();
        unknown.Error.ShouldContain("No campaign");

        var otherAccount = await RunAsync("token", "mint", "--campaign", campaign, "--account", "someone-else");
        otherAccount.Succeeded.ShouldBeFalse();
        otherAccount.Error.ShouldContain($"belongs to account '{account}'");

        var missing = await RunAsync("token", "mint");
        missing.Succeeded.ShouldBeFalse();
        missing.Error.ShouldContain("--campaign is required");
    }

    [Fact]
    public async Task Mint_refuses_an_account_that_verifies_public_keys()
    {
        var account = await _given.HmacAccountAsync();
        await _given.PutSecureTokenAsync(account, new { method = "publicKey", algorithms = new[] { "RS256" }, publicKeys = new[] { new { kid = "k1", pem = TestTokens.Rsa.PublicKeyPem } } });
        var campaign = await _given.CampaignAsync(account);

        var result = await RunAsync("token", "mint", "--campaign", campaign);

        result.Succeeded.ShouldBeFalse();
        result.Error.ShouldContain("public keys");
    }

    [Fact]
    public async Task Inspect_explains_an_acceptable_token_claim_by_claim_and_consumes_nothing()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 3);
        var claims = TestTokens.Claims("bob", campaign, jti: TestTokens.NewJti(), iat: DateTimeOffset.UtcNow, exp: DateTimeOffset.UtcNow.AddHours(1));
        claims["custom"] = new { email = "bob@example.com" };
        var token = TestTokens.Hs256(TestTokens.Secret, claims);

        var inspected = await RunAsync("token", "inspect", token);

        inspected.Succeeded.ShouldBeTrue(inspected.Output);
        inspected.Output.ShouldContain("✓ signature    valid");
        inspected.Output.ShouldContain("✓ sub          'bob'");
        inspected.Output.ShouldContain($"{campaign}: matches the campaign");
        inspected.Output.ShouldContain("'bob': 0 of 3 accepted");
        inspected.Output.ShouldContain("would be accepted (201): participation #1 of 3");
        inspected.Output.ShouldContain("custom");
        inspected.Output.ShouldNotContain("bob@example.com");
        inspected.Output.ShouldNotContain(token);

        // Nothing was consumed: the token takes part, then inspecting it again tells it was used.
        (await ParticipateAsync(campaign, token)).Status.ShouldBe(HttpStatusCode.Created);
        var replayed = await RunAsync("token", "inspect", token, "--campaign", campaign);
        replayed.Succeeded.ShouldBeFalse();
        replayed.Output.ShouldContain("'bob': 1 of 3 accepted");
        replayed.Output.ShouldContain("409 token_replayed");
    }

    [Fact]
    public async Task Inspect_names_the_claim_or_rule_that_refuses_a_token()
    {
        var account = await _given.HmacAccountAsync(extraSettings: new { clockSkewSeconds = 30 });
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        var otherCampaign = await _given.CampaignAsync(account);
        var now = DateTimeOffset.UtcNow;

        var expired = await RunAsync("token", "inspect", TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("u1", campaign, iat: now.AddHours(-2), exp: now.AddHours(-1))));
        expired.Succeeded.ShouldBeFalse();
        expired.Output.ShouldContain("✗ exp");
        expired.Output.ShouldContain("401 token_expired");
        expired.Output.ShouldContain("✓ sub");

        var forged = await RunAsync("token", "inspect", TestTokens.Hs256("another-secret-of-at-least-32-bytes!!", TestTokens.Claims("u1", campaign)));
        forged.Output.ShouldContain("✗ signature    checked and invalid");
        forged.Output.ShouldContain("401 token_invalid_signature");
        forged.Output.ShouldContain("(unverified)");

        var elsewhere = await RunAsync("token", "inspect", TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("u1", otherCampaign)), "--campaign", campaign);
        elsewhere.Output.ShouldContain("403 token_campaign_mismatch");

        var barred = TestTokens.Claims("u2", campaign);
        barred["limit"] = new { canPlay = false };
        (await RunAsync("token", "inspect", TestTokens.Hs256(TestTokens.Secret, barred))).Output.ShouldContain("403 participant_not_allowed");

        (await ParticipateAsync(campaign, TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("u3", campaign, jti: TestTokens.NewJti())))).Status.ShouldBe(HttpStatusCode.Created);
        var atLimit = await RunAsync("token", "inspect", TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("u3", campaign, jti: TestTokens.NewJti())));
        atLimit.Output.ShouldContain("403 participation_limit_reached");
        atLimit.Output.ShouldContain("(limit 1, 0 left)");

        var garbage = await RunAsync("token", "inspect", "not-a-token", "--campaign", campaign);
        garbage.Output.ShouldContain("✗ structure");
        garbage.Output.ShouldContain("401 token_malformed");
    }

    /// <summary>Hands the already built service to a command, as <c>RunJasperFxCommands</c> does for <c>dotnet run -- ...</c>.</summary>
    private sealed class ExistingHost(IHost host) : IHostBuilder
    {
        public IDictionary<object, object> Properties { get; } = new Dictionary<object, object>();

        public IHost Build() => host;

        public IHostBuilder ConfigureAppConfiguration(Action<HostBuilderContext, IConfigurationBuilder> configureDelegate) => this;

        public IHostBuilder ConfigureContainer<TContainerBuilder>(Action<HostBuilderContext, TContainerBuilder> configureDelegate) => this;

        public IHostBuilder ConfigureHostConfiguration(Action<IConfigurationBuilder> configureDelegate) => this;

        public IHostBuilder ConfigureServices(Action<HostBuilderContext, IServiceCollection> configureDelegate) => this;

        public IHostBuilder UseServiceProviderFactory<TContainerBuilder>(IServiceProviderFactory<TContainerBuilder> factory)
            where TContainerBuilder : notnull => this;

        public IHostBuilder UseServiceProviderFactory<TContainerBuilder>(Func<HostBuilderContext, IServiceProviderFactory<TContainerBuilder>> factory)
            where TContainerBuilder : notnull => this;
    }
}

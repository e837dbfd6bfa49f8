using System.Net;
using System.Net.Http.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Management;

public sealed class ManagingAccountsAndCampaignsTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ManagementNeedsTheAdminKey()
    {
        using var anonymous = app.Client();
        (await ApiAnswer.From(await anonymous.PutAsJsonAsync($"/v1/accounts/{Given.NewId("a")}", new { name = "x" }, Ct)))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "api_key_missing");

        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", "wrong-key");
        (await ApiAnswer.From(await anonymous.GetAsync($"/v1/campaigns/{Given.NewId("c")}", Ct)))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "api_key_invalid");
    }

    [Fact]
    public async Task AnAccountIsCreatedThenRenamed()
    {
        using var admin = app.AdminClient();
        var id = Given.NewId("acc");
        (await admin.PutAsJsonAsync($"/v1/accounts/{id}", new { name = "First" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var renamed = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{id}", new { name = "Second" }, Ct));
        renamed.Status.ShouldBe(HttpStatusCode.OK);
        renamed.Json.GetProperty("name").GetString().ShouldBe("Second");
    }

    [Fact]
    public async Task InvalidBodiesListEachInvalidField()
    {
        using var admin = app.AdminClient();
        var account = Given.NewId("acc");
        (await ApiAnswer.From(await admin.PutAsJsonAsync("/v1/accounts/bad%20id", new { name = "x" }, Ct)))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        (await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{account}", new { name = "x", color = "red" }, Ct)))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        (await admin.PutAsJsonAsync($"/v1/accounts/{account}", new { name = "ok" }, Ct)).EnsureSuccessStatusCode();

        var settings = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", new
        {
            method = "hmac",
            algorithms = new[] { "HS512", "RS256" },
            secret = "too-short",
            clockSkewSeconds = -1,
        }, Ct));
        settings.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        var errors = settings.Json.GetProperty("errors");
        errors.TryGetProperty("algorithms[1]", out _).ShouldBeTrue(settings.Body);
        errors.TryGetProperty("secret", out _).ShouldBeTrue(settings.Body);
        errors.TryGetProperty("clockSkewSeconds", out _).ShouldBeTrue(settings.Body);
        settings.Body.ShouldNotContain("too-short");

        var campaign = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/campaigns/{Given.NewId("cmp")}", new
        {
            accountId = account,
            name = "",
            limits = new { perParticipant = 0 },
            tokenLimit = "capped",
        }, Ct));
        campaign.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        var campaignErrors = campaign.Json.GetProperty("errors");
        campaignErrors.TryGetProperty("name", out _).ShouldBeTrue(campaign.Body);
        campaignErrors.TryGetProperty("limits.perParticipant", out _).ShouldBeTrue(campaign.Body);
        campaignErrors.TryGetProperty("maxTokenLimit", out _).ShouldBeTrue(campaign.Body);
    }

    [Fact]
    public async Task SecretsAreNeverReturned()
    {
        const string secret = "a-very-private-partner-secret-0123456789-abcdef";
        var account = await _given.HmacAccountAsync(secret);
        using var admin = app.AdminClient();

        var settings = await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/secure-token", Ct));

        settings.Status.ShouldBe(HttpStatusCode.OK);
        settings.Body.ShouldNotContain(secret);
        settings.Json.GetProperty("method").GetString().ShouldBe("hmac");
        settings.Json.GetProperty("secrets")[0].GetProperty("secret").GetString().ShouldBe("<redacted>");
    }

    [Fact]
    public async Task PublicKeysAreValidatedAndKidSelectsTheKey()
    {
        var account = await _given.HmacAccountAsync();
        await _given.PutSecureTokenAsync(account, new
        {
            method = "publicKey",
            algorithms = new[] { "RS256", "ES256" },
            publicKeys = new[]
            {
                new { kid = "rsa-1", pem = TestTokens.Rsa.PublicKeyPem },
                new { kid = "ec-1", pem = TestTokens.EcP256.PublicKeyPem },
            },
        });
        var campaign = await _given.CampaignAsync(account, perParticipant: 5);
        using var client = app.Client();

        foreach (var (alg, kid) in new[] { ("RS256", "rsa-1"), ("ES256", "ec-1"), ("ES256", (string?)null) })
        {
            var token = TestTokens.Asymmetric(alg, TestTokens.Claims("kim", campaign, jti: TestTokens.NewJti()), kid);
            var answer = await ApiAnswer.From(await client.PostAsync($"/v1/campaigns/{campaign}/participations?qual_token={token}", null, Ct));
            answer.Status.ShouldBe(HttpStatusCode.Created, $"{alg} {kid}: {answer.Body}");
        }

        using var admin = app.AdminClient();
        var bad = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", new
        {
            method = "publicKey",
            publicKeys = new[] { new { kid = "x", pem = "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----" } },
        }, Ct));
        bad.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        bad.Json.GetProperty("errors").TryGetProperty("publicKeys[0].pem", out _).ShouldBeTrue(bad.Body);
    }

    [Fact]
    public async Task ACampaignCannotMoveToAnotherAccountAndUnknownAccountsAreRefused()
    {
        var first = await _given.HmacAccountAsync();
        var second = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(first);
        using var admin = app.AdminClient();

        (await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/campaigns/{campaign}", new { accountId = second, name = "moved" }, Ct)))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        (await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/campaigns/{Given.NewId("c")}", new { accountId = Given.NewId("nobody"), name = "x" }, Ct)))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");

        var read = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}", Ct));
        read.Status.ShouldBe(HttpStatusCode.OK);
        read.Json.GetProperty("accountId").GetString().ShouldBe(first);
        read.Json.GetProperty("limits").GetProperty("perParticipant").GetInt32().ShouldBe(1);
        read.Json.GetProperty("tokenLimit").GetString().ShouldBe("allow");
    }

    [Fact]
    public async Task EveryAnswerCarriesTheSecurityHeaders()
    {
        using var client = app.KestrelClient();
        foreach (var response in new[]
        {
            await client.GetAsync("/health/live", Ct),
            await client.PostAsync($"/v1/campaigns/{Given.NewId("none")}/participations", null, Ct),
            await client.GetAsync("/v1/accounts/x", Ct),
        })
        {
            response.Headers.GetValues("X-Content-Type-Options").ShouldBe(["nosniff"]);
            response.Headers.GetValues("Referrer-Policy").ShouldBe(["no-referrer"]);
            response.Headers.GetValues("X-Frame-Options").ShouldBe(["DENY"]);
            response.Headers.Contains("Server").ShouldBeFalse();
        }

        (await client.GetAsync("/v1/accounts/x", Ct)).Headers.CacheControl!.NoStore.ShouldBeTrue();
    }

    [Fact]
    public async Task HealthEndpointsAnswer()
    {
        using var client = app.Client();
        (await client.GetAsync("/health/live", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Ready once the database answers and the participation handler is built (HandlerWarmup): seconds after start.
        var ready = await client.GetAsync("/health/ready", Ct);
        for (var attempt = 0; ready.StatusCode != HttpStatusCode.OK && attempt < 600; attempt++)
        {
            ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            await Task.Delay(100, Ct);
            ready = await client.GetAsync("/health/ready", Ct);
        }

        ready.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

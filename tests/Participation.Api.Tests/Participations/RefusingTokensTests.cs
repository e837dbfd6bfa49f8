using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Participations;

/// <summary>Every refusal of DESIGN.md reached over HTTP: problem+json, the stable code, nothing echoed, no state change.</summary>
public sealed class RefusingTokensTests(AppFixture app) : IAsyncLifetime
{
    private const string Sub = "mallory";
    private const string Issuer = "https://partner.example";
    private const string Audience = "participation";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string _campaign = "";
    private string _strictCampaign = "";

    public async ValueTask InitializeAsync()
    {
        var given = new Given(app);
        var account = await given.HmacAccountAsync();
        _campaign = await given.CampaignAsync(account, perParticipant: 5);

        var strict = await given.HmacAccountAsync(extraSettings: new
        {
            issuer = Issuer,
            audience = Audience,
            requireExpiration = true,
            maxTokenAgeSeconds = 300,
            clockSkewSeconds = 30,
        });
        _strictCampaign = await given.CampaignAsync(strict, perParticipant: 5);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public static TheoryData<string, HttpStatusCode, string> Cases => new()
    {
        { "malformed", HttpStatusCode.Unauthorized, "token_malformed" },
        { "too-large", HttpStatusCode.Unauthorized, "token_too_large" },
        { "bad-signature", HttpStatusCode.Unauthorized, "token_invalid_signature" },
        { "alg-none", HttpStatusCode.Unauthorized, "token_algorithm_not_allowed" },
        { "alg-not-allowed", HttpStatusCode.Unauthorized, "token_algorithm_not_allowed" },
        { "unknown-kid", HttpStatusCode.Unauthorized, "key_not_found" },
        { "expired", HttpStatusCode.Unauthorized, "token_expired" },
        { "not-yet-valid", HttpStatusCode.Unauthorized, "token_not_yet_valid" },
        { "too-old", HttpStatusCode.Unauthorized, "token_too_old" },
        { "wrong-issuer", HttpStatusCode.Unauthorized, "token_issuer_invalid" },
        { "wrong-audience", HttpStatusCode.Unauthorized, "token_audience_invalid" },
        { "no-exp-required", HttpStatusCode.Unauthorized, "token_missing_claim" },
        { "no-sub", HttpStatusCode.Unauthorized, "token_missing_claim" },
        { "sub-with-nul", HttpStatusCode.Unauthorized, "token_claim_invalid" },
        { "exp-before-iat", HttpStatusCode.Unauthorized, "token_claim_invalid" },
        { "encrypted", HttpStatusCode.Unauthorized, "token_decryption_failed" },
        { "other-campaign", HttpStatusCode.Forbidden, "token_campaign_mismatch" },
    };

    private (string Campaign, string Token) Build(string name)
    {
        var now = DateTimeOffset.UtcNow;
        var c = _campaign;
        var s = _strictCampaign;
        string Hs(object claims) => TestTokens.Hs256(TestTokens.Secret, claims);
        Dictionary<string, object?> Claims(string campaign) => TestTokens.Claims(Sub, campaign, jti: TestTokens.NewJti());
        Dictionary<string, object?> StrictClaims(DateTimeOffset? iat = null, DateTimeOffset? exp = null, string iss = Issuer, string aud = Audience) =>
            TestTokens.Claims(Sub, s, jti: TestTokens.NewJti(), iat: iat ?? now, exp: exp ?? now.AddMinutes(5), iss: iss, aud: aud);

        return name switch
        {
            "malformed" => (c, "not-a-token"),
            "too-large" => (c, Hs(new Dictionary<string, object?>(Claims(c)) { ["custom"] = new { pad = new string('x', 9000) } })),
            "bad-signature" => (c, TestTokens.Hs256("another-secret-that-is-long-enough-0123456789", Claims(c))),
            "alg-none" => (c, TestTokens.Unsigned(Claims(c), "nOnE")),
            "alg-not-allowed" => (c, TestTokens.Hmac("HS512", TestTokens.Secret + TestTokens.Secret, Claims(c))),
            "unknown-kid" => (c, TestTokens.Hs256(TestTokens.Secret, Claims(c), kid: "nope")),
            "expired" => (s, Hs(StrictClaims(iat: now.AddMinutes(-4), exp: now.AddMinutes(-2)))),
            "not-yet-valid" => (c, Hs(TestTokens.Claims(Sub, c, jti: TestTokens.NewJti(), nbf: now.AddHours(1)))),
            "too-old" => (s, Hs(StrictClaims(iat: now.AddMinutes(-10), exp: now.AddMinutes(5)))),
            "wrong-issuer" => (s, Hs(StrictClaims(iss: "https://evil.example"))),
            "wrong-audience" => (s, Hs(StrictClaims(aud: "someone-else"))),
            "no-exp-required" => (s, Hs(TestTokens.Claims(Sub, s, jti: TestTokens.NewJti(), iat: now, iss: Issuer, aud: Audience))),
            "no-sub" => (c, Hs(new Dictionary<string, object?> { ["campaignId"] = c, ["jti"] = TestTokens.NewJti() })),
            "sub-with-nul" => (c, Hs(TestTokens.Claims("mal\0lory", c, jti: TestTokens.NewJti()))),
            "exp-before-iat" => (c, Hs(TestTokens.Claims(Sub, c, jti: TestTokens.NewJti(), iat: now, exp: now.AddSeconds(-30)))),
            "encrypted" => (c, TestTokens.JweShaped()),
            "other-campaign" => (c, Hs(Claims(s))),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EachRefusalHasItsCodeEchoesNothingAndChangesNothing(string name, HttpStatusCode status, string code)
    {
        var (campaign, token) = Build(name);
        using var client = app.Client();

        var answer = await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations",
            new FormUrlEncodedContent([new("qual_token", token)]),
            Ct));

        answer.ShouldBeProblem(status, code);
        answer.Body.ShouldNotContain(token);
        foreach (var part in token.Split('.').Where(p => p.Length >= 8))
        {
            answer.Body.ShouldNotContain(part);
        }

        answer.Body.ShouldNotContain(TestTokens.Secret);
        answer.Body.ShouldNotContain(Sub);

        using var admin = app.AdminClient();
        var history = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}/participants/{Sub}", Ct));
        history.Json.GetProperty("accepted").GetInt32().ShouldBe(0);
        history.Json.GetProperty("rejections").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task NoTokenIsTokenMissing()
    {
        using var client = app.Client();
        (await ApiAnswer.From(await client.PostAsync($"/v1/campaigns/{_campaign}/participations", null, Ct)))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "token_missing");
    }

    [Fact]
    public async Task TwoDifferentTokensAreAmbiguous()
    {
        using var client = app.Client();
        var a = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(Sub, _campaign, jti: TestTokens.NewJti()));
        var b = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(Sub, _campaign, jti: TestTokens.NewJti()));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/campaigns/{_campaign}/participations?qual_token={a}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", b);

        (await ApiAnswer.From(await client.SendAsync(request, Ct))).ShouldBeProblem(HttpStatusCode.BadRequest, "token_ambiguous");
    }

    [Fact]
    public async Task AJsonBodyThatIsNotATokenObjectIsRequestInvalid()
    {
        using var client = app.Client();
        var answer = await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{_campaign}/participations",
            new StringContent("{\"token\": 42}", System.Text.Encoding.UTF8, "application/json"),
            Ct));
        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");

        var unknown = await ApiAnswer.From(await client.PostAsJsonAsync(
            $"/v1/campaigns/{_campaign}/participations", new { token = "x", other = 1 }, Ct));
        unknown.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
    }

    [Fact]
    public async Task AnUnknownCampaignIsCampaignNotFound()
    {
        using var client = app.Client();
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(Sub, "nope", jti: TestTokens.NewJti()));
        (await ApiAnswer.From(await client.PostAsync($"/v1/campaigns/{Given.NewId("missing")}/participations?qual_token={token}", null, Ct)))
            .ShouldBeProblem(HttpStatusCode.NotFound, "campaign_not_found");
    }

    [Fact]
    public async Task ATokenTooLargeForKestrelsDefaultRequestLineIsStillAnsweredByTheService()
    {
        using var client = app.KestrelClient();
        var token = new string('a', 20_000);
        (await ApiAnswer.From(await client.PostAsync($"/v1/campaigns/{_campaign}/participations?qual_token={token}", null, Ct)))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "token_too_large");
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Management;

/// <summary>Account keys: created once, stored hashed, scoped to their account; other accounts' resources are 404.</summary>
public sealed class ApiKeysAndIsolationTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HttpClient ClientWithKey(string key)
    {
        var client = app.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private async Task<string> NewKeyAsync(string accountId)
    {
        using var admin = app.AdminClient();
        var answer = await ApiAnswer.From(await admin.PostAsync($"/v1/accounts/{accountId}/api-keys", null, Ct));
        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        return answer.Json.GetProperty("key").GetString()!;
    }

    [Fact]
    public async Task AKeyIsShownOnceStoredHashedListedByPrefixAndRevocable()
    {
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();

        var created = await ApiAnswer.From(await admin.PostAsync($"/v1/accounts/{account}/api-keys", null, Ct));
        created.Status.ShouldBe(HttpStatusCode.Created);
        var key = created.Json.GetProperty("key").GetString()!;
        var prefix = created.Json.GetProperty("prefix").GetString()!;
        key.ShouldStartWith("pk_");
        key.ShouldStartWith(prefix + "_");
        key.Length.ShouldBeGreaterThan(50);
        created.Response.Headers.CacheControl!.NoStore.ShouldBeTrue();

        using (var own = ClientWithKey(key))
        {
            (await own.GetAsync($"/v1/accounts/{account}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var list = await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/api-keys", Ct));
        list.Body.ShouldNotContain(key);
        var listed = list.Json.EnumerateArray().Single();
        listed.GetProperty("prefix").GetString().ShouldBe(prefix);
        listed.GetProperty("lastUsedAt").ValueKind.ShouldBe(JsonValueKind.String);

        await using (var session = app.Store.QuerySession())
        {
            var raw = await session.QueryAsync<string>("select data::text from participation.mt_doc_apikey", Ct);
            var secretPart = key[(prefix.Length + 1)..];
            raw.ShouldNotContain(r => r.Contains(secretPart, StringComparison.Ordinal));
        }

        (await admin.DeleteAsync($"/v1/accounts/{account}/api-keys/{prefix}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        using var revoked = ClientWithKey(key);
        (await ApiAnswer.From(await revoked.GetAsync($"/v1/accounts/{account}", Ct)))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "api_key_invalid");
    }

    [Fact]
    public async Task AKeyWithTheRightPrefixButAWrongSecretIsRefused()
    {
        var account = await _given.HmacAccountAsync();
        var key = await NewKeyAsync(account);
        using var forged = ClientWithKey(key[..^4] + "AAAA");
        (await ApiAnswer.From(await forged.GetAsync($"/v1/accounts/{account}", Ct)))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "api_key_invalid");
    }

    [Fact]
    public async Task AnAccountKeyManagesItsOwnAccountAndCampaignsButCannotCreateAccounts()
    {
        var account = await _given.HmacAccountAsync();
        using var own = ClientWithKey(await NewKeyAsync(account));

        (await own.PutAsJsonAsync($"/v1/accounts/{account}", new { name = "Renamed by its own key" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await own.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", new { method = "hmac", secret = TestTokens.Secret }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var campaign = Given.NewId("cmp");
        (await own.PutAsJsonAsync($"/v1/campaigns/{campaign}", new { accountId = account, name = "Own" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await own.GetAsync($"/v1/campaigns/{campaign}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await own.PostAsync($"/v1/accounts/{account}/api-keys", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);

        (await ApiAnswer.From(await own.PutAsJsonAsync($"/v1/accounts/{Given.NewId("new")}", new { name = "x" }, Ct)))
            .ShouldBeProblem(HttpStatusCode.NotFound, "account_not_found");
    }

    public static TheoryData<string, string> ForeignCalls => new()
    {
        { "GET", "/v1/accounts/{A}" },
        { "PUT", "/v1/accounts/{A}" },
        { "GET", "/v1/accounts/{A}/secure-token" },
        { "PUT", "/v1/accounts/{A}/secure-token" },
        { "POST", "/v1/accounts/{A}/api-keys" },
        { "GET", "/v1/accounts/{A}/api-keys" },
        { "DELETE", "/v1/accounts/{A}/api-keys/{KEY}" },
        { "GET", "/v1/accounts/{A}/audit" },
        { "GET", "/v1/campaigns/{C}" },
        { "PUT", "/v1/campaigns/{C}" },
        { "GET", "/v1/campaigns/{C}/participants/someone" },
        { "GET", "/v1/campaigns/{C}/report" },
        { "GET", "/v1/campaigns/{C}/participations" },
    };

    [Theory]
    [MemberData(nameof(ForeignCalls))]
    public async Task AnotherAccountsKeyGetsNotFoundAndChangesNothing(string method, string route)
    {
        var a = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(a, perParticipant: 2);
        var aKey = await NewKeyAsync(a);
        var b = await _given.HmacAccountAsync();
        using var bClient = ClientWithKey(await NewKeyAsync(b));
        var aPrefix = aKey[..aKey.LastIndexOf('_')];

        var url = route.Replace("{A}", a, StringComparison.Ordinal).Replace("{C}", campaign, StringComparison.Ordinal).Replace("{KEY}", aPrefix, StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "PUT")
        {
            request.Content = JsonContent.Create(url.Contains("/campaigns/", StringComparison.Ordinal)
                ? new { accountId = a, name = "hijacked" }
                : url.EndsWith("secure-token", StringComparison.Ordinal)
                    ? new { method = "hmac", secret = "an-attacker-chosen-secret-0123456789-abcdef" }
                    : (object)new { name = "hijacked" });
        }

        var answer = await ApiAnswer.From(await bClient.SendAsync(request, Ct));

        answer.Status.ShouldBe(HttpStatusCode.NotFound, answer.Body);
        answer.ContentType.ShouldBe("application/problem+json");
        answer.Body.ShouldNotContain(a);

        using var admin = app.AdminClient();
        (await admin.GetFromJsonAsync<JsonElement>($"/v1/accounts/{a}", Ct)).GetProperty("name").GetString().ShouldBe("Test partner");
        (await admin.GetFromJsonAsync<JsonElement>($"/v1/campaigns/{campaign}", Ct)).GetProperty("name").GetString().ShouldBe("Test campaign");
        using var aClient = ClientWithKey(aKey);
        (await aClient.GetAsync($"/v1/accounts/{a}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var settings = await admin.GetFromJsonAsync<JsonElement>($"/v1/accounts/{a}/secure-token", Ct);
        settings.GetProperty("version").GetInt64().ShouldBe(1);
    }

    [Fact]
    public async Task ATokenSignedWithAnotherAccountsSecretIsRefused()
    {
        const string secretOfB = "secret-of-account-b-0123456789-abcdefghijkl";
        var a = await _given.HmacAccountAsync();
        await _given.HmacAccountAsync(secretOfB);
        var campaignOfA = await _given.CampaignAsync(a);
        using var client = app.Client();
        var token = TestTokens.Hs256(secretOfB, TestTokens.Claims("eve", campaignOfA, jti: TestTokens.NewJti()));

        (await ApiAnswer.From(await client.PostAsync($"/v1/campaigns/{campaignOfA}/participations?qual_token={token}", null, Ct)))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "token_invalid_signature");
    }
}

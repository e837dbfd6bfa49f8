using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Participation.Api.Accounts;
using Participation.Api.Hosting;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Management;

/// <summary>Encryption key pairs (generated here, private part encrypted at rest), the public JWKS, and jwks/encryption settings.</summary>
public sealed class EncryptionKeysTests(AppFixture app)
{
    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "k"];

    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<ApiAnswer> CreateKey(string accountId, object? body, HttpClient? client = null)
    {
        using var admin = app.AdminClient();
        var http = client ?? admin;
        return await ApiAnswer.From(body is null
            ? await http.PostAsync($"/v1/accounts/{accountId}/encryption-keys", null, Ct)
            : await http.PostAsJsonAsync($"/v1/accounts/{accountId}/encryption-keys", body, Ct));
    }

    private async Task<ApiAnswer> Jwks(string accountId)
    {
        using var anonymous = app.Client();
        return await ApiAnswer.From(await anonymous.GetAsync($"/v1/accounts/{accountId}/jwks.json", Ct));
    }

    [Fact]
    public async Task AnRsaKeyIsGeneratedByDefaultAndOnlyItsPublicPartIsReturned()
    {
        var account = await _given.HmacAccountAsync();

        var created = await CreateKey(account, body: null);

        created.Status.ShouldBe(HttpStatusCode.Created, created.Body);
        var jwk = created.Json.GetProperty("jwk");
        var kid = created.Json.GetProperty("kid").GetString()!;
        created.Json.GetProperty("alg").GetString().ShouldBe("RSA-OAEP-256");
        created.Response.Headers.Location!.ToString().ShouldBe($"/v1/accounts/{account}/encryption-keys/{kid}");
        jwk.GetProperty("kty").GetString().ShouldBe("RSA");
        jwk.GetProperty("use").GetString().ShouldBe("enc");
        jwk.GetProperty("alg").GetString().ShouldBe("RSA-OAEP-256");
        jwk.GetProperty("kid").GetString().ShouldBe(kid);
        Convert.FromBase64String(Pad(jwk.GetProperty("n").GetString()!)).Length.ShouldBe(256);
        foreach (var member in PrivateMembers.Concat(["crv", "x", "y"]))
        {
            jwk.TryGetProperty(member, out _).ShouldBeFalse(member);
        }

        created.Response.Headers.CacheControl!.NoStore.ShouldBeTrue();
    }

    [Fact]
    public async Task AnEcdhEsKeyIsAP256Key()
    {
        var account = await _given.HmacAccountAsync();

        var created = await CreateKey(account, new { alg = "ECDH-ES" });

        created.Status.ShouldBe(HttpStatusCode.Created, created.Body);
        var jwk = created.Json.GetProperty("jwk");
        jwk.GetProperty("kty").GetString().ShouldBe("EC");
        jwk.GetProperty("crv").GetString().ShouldBe("P-256");
        jwk.GetProperty("alg").GetString().ShouldBe("ECDH-ES");
        foreach (var member in PrivateMembers.Concat(["n", "e"]))
        {
            jwk.TryGetProperty(member, out _).ShouldBeFalse(member);
        }
    }

    [Fact]
    public async Task TheKidIsTheRfc7638ThumbprintOfThePublicKey()
    {
        var account = await _given.HmacAccountAsync();
        var jwk = (await CreateKey(account, new { alg = "ECDH-ES" })).Json.GetProperty("jwk");
        var canonical = $$"""{"crv":"P-256","kty":"EC","x":"{{jwk.GetProperty("x").GetString()}}","y":"{{jwk.GetProperty("y").GetString()}}"}""";
        var thumbprint = TestTokens.Base64Url(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical)));
        jwk.GetProperty("kid").GetString().ShouldBe(thumbprint);
    }

    [Theory]
    [InlineData("RSA-OAEP")]
    [InlineData("RSA1_5")]
    [InlineData("ECDH-ES+A256KW")]
    [InlineData("dir")]
    [InlineData("rsa-oaep-256")]
    public async Task OtherAlgorithmsAreRefused(string alg)
    {
        var account = await _given.HmacAccountAsync();
        var answer = await CreateKey(account, new { alg });
        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        answer.Json.GetProperty("errors").TryGetProperty("alg", out _).ShouldBeTrue();
        (await CreateKey(account, new { alg = "RSA-OAEP-256", extra = 1 })).ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
    }

    [Fact]
    public async Task ThePrivateKeyIsEncryptedAtRest()
    {
        var account = await _given.HmacAccountAsync();
        var created = (await CreateKey(account, body: null)).Json;
        var kid = created.GetProperty("kid").GetString()!;

        await using var session = app.Store.QuerySession();
        var stored = await session.LoadAsync<EncryptionKeyDocument>(kid, Ct);
        stored.ShouldNotBeNull();
        stored.AccountId.ShouldBe(account);
        stored.ProtectedPrivateKey.ShouldStartWith("dp1:");

        // Opened with the service's protector, it is the private half of the published key.
        var protector = app.Host.Services.GetRequiredService<SecretProtector>();
        using var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(Convert.FromBase64String(protector.Unprotect(stored.ProtectedPrivateKey)), out _);
        TestTokens.Base64Url(rsa.ExportParameters(false).Modulus).ShouldBe(created.GetProperty("jwk").GetProperty("n").GetString());

        var raw = await session.Json.FindByIdAsync<EncryptionKeyDocument>(kid, Ct);
        var document = JsonDocument.Parse(raw!).RootElement;
        var publicKey = document.EnumerateObject().Single(p => p.Name.Equals("publicKey", StringComparison.OrdinalIgnoreCase)).Value;
        foreach (var member in PrivateMembers)
        {
            publicKey.TryGetProperty(member, out _).ShouldBeFalse(member);
        }
    }

    [Fact]
    public async Task TheJwksIsPublicAndListsTheAccountsPublicKeysOnly()
    {
        var account = await _given.HmacAccountAsync();
        var other = await _given.HmacAccountAsync();
        var rsa = (await CreateKey(account, body: null)).Json.GetProperty("kid").GetString();
        var ec = (await CreateKey(account, new { alg = "ECDH-ES" })).Json.GetProperty("kid").GetString();
        var foreign = (await CreateKey(other, body: null)).Json.GetProperty("kid").GetString();

        var jwks = await Jwks(account);

        jwks.Status.ShouldBe(HttpStatusCode.OK, jwks.Body);
        jwks.ContentType.ShouldBe("application/json");
        jwks.Response.Headers.CacheControl!.Public.ShouldBeTrue();
        var keys = jwks.Json.GetProperty("keys").EnumerateArray().ToList();
        keys.Select(k => k.GetProperty("kid").GetString()).ShouldBe([rsa, ec]);
        keys.ShouldAllBe(k => k.GetProperty("use").GetString() == "enc");
        jwks.Body.ShouldNotContain(foreign!);
        foreach (var key in keys)
        {
            foreach (var member in PrivateMembers)
            {
                key.TryGetProperty(member, out _).ShouldBeFalse(member);
            }
        }
    }

    [Fact]
    public async Task AnUnknownAccountHasAnEmptyJwksSoThePublicRouteRevealsNoAccount()
    {
        var unknown = await Jwks(Given.NewId("nobody"));
        unknown.Status.ShouldBe(HttpStatusCode.OK);
        unknown.Json.GetProperty("keys").GetArrayLength().ShouldBe(0);

        (await Jwks("bad%20id")).ShouldBeProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task KeysAreManagedWithAnApiKeyOfTheAccountOnly()
    {
        var account = await _given.HmacAccountAsync();
        var other = await _given.HmacAccountAsync();
        using var anonymous = app.Client();
        (await ApiAnswer.From(await anonymous.PostAsync($"/v1/accounts/{account}/encryption-keys", null, Ct)))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "api_key_missing");

        using var admin = app.AdminClient();
        var otherKey = (await admin.PostAsync($"/v1/accounts/{other}/api-keys", null, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        using var otherClient = app.Client();
        otherClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await otherKey).GetProperty("key").GetString());

        (await CreateKey(account, body: null, otherClient)).ShouldBeProblem(HttpStatusCode.NotFound, "account_not_found");
        var kid = (await CreateKey(account, body: null)).Json.GetProperty("kid").GetString();
        (await ApiAnswer.From(await otherClient.DeleteAsync($"/v1/accounts/{account}/encryption-keys/{kid}", Ct)))
            .ShouldBeProblem(HttpStatusCode.NotFound, "account_not_found");
        (await ApiAnswer.From(await admin.DeleteAsync($"/v1/accounts/{other}/encryption-keys/{kid}", Ct)))
            .ShouldBeProblem(HttpStatusCode.NotFound, "not_found");
        (await CreateKey(other, body: null, otherClient)).Status.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task KeysAreListedDeletedAndAudited()
    {
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();
        var first = (await CreateKey(account, body: null)).Json.GetProperty("kid").GetString();
        var second = (await CreateKey(account, new { alg = "ECDH-ES" })).Json.GetProperty("kid").GetString();

        var list = await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/encryption-keys", Ct));
        list.Json.EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ShouldBe([first, second]);
        list.Body.ShouldNotContain("protected", Case.Insensitive);

        (await admin.DeleteAsync($"/v1/accounts/{account}/encryption-keys/{first}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await Jwks(account)).Json.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ShouldBe([second]);
        (await ApiAnswer.From(await admin.DeleteAsync($"/v1/accounts/{account}/encryption-keys/{first}", Ct)))
            .ShouldBeProblem(HttpStatusCode.NotFound, "not_found");
        foreach (var hostile in new[] { "x'--", "a%20b", new string('k', 300) })
        {
            (await ApiAnswer.From(await admin.DeleteAsync($"/v1/accounts/{account}/encryption-keys/{hostile}", Ct)))
                .ShouldBeProblem(HttpStatusCode.NotFound, "not_found");
        }

        var audit = await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/audit", Ct));
        var types = audit.Json.EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        types.Count(t => t == "encryptionKeyCreated").ShouldBe(2);
        types.Count(t => t == "encryptionKeyDeleted").ShouldBe(1);
        audit.Json.EnumerateArray().Where(e => e.GetProperty("type").GetString()!.StartsWith("encryptionKey", StringComparison.Ordinal))
            .ShouldAllBe(e => e.GetProperty("by").GetString() == "admin");
    }

    [Fact]
    public async Task AnAccountHasAtMostTenKeys()
    {
        var account = await _given.HmacAccountAsync();
        for (var i = 0; i < EncryptionKeyStore.MaxKeysPerAccount; i++)
        {
            (await CreateKey(account, new { alg = "ECDH-ES" })).Status.ShouldBe(HttpStatusCode.Created);
        }

        (await CreateKey(account, new { alg = "ECDH-ES" })).ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
    }

    [Fact]
    public async Task RequiredEncryptionNeedsAKeyAndTheLastKeyCannotBeDeletedWhileRequired()
    {
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();
        var settings = new { method = "hmac", secret = TestTokens.Secret, encryption = "required" };

        var refused = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", settings, Ct));
        refused.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        refused.Json.GetProperty("errors").TryGetProperty("encryption", out _).ShouldBeTrue();

        // optional needs no key: plain tokens keep working until the partner encrypts.
        (await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", settings with { encryption = "optional" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var kid = (await CreateKey(account, body: null)).Json.GetProperty("kid").GetString();
        var saved = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", settings, Ct));
        saved.Status.ShouldBe(HttpStatusCode.OK, saved.Body);
        saved.Json.GetProperty("encryption").GetString().ShouldBe("required");

        (await ApiAnswer.From(await admin.DeleteAsync($"/v1/accounts/{account}/encryption-keys/{kid}", Ct)))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        var second = (await CreateKey(account, body: null)).Json.GetProperty("kid").GetString();
        (await admin.DeleteAsync($"/v1/accounts/{account}/encryption-keys/{kid}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await ApiAnswer.From(await admin.DeleteAsync($"/v1/accounts/{account}/encryption-keys/{second}", Ct)))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
    }

    [Fact]
    public async Task ConcurrentDeletionsNeverLeaveARequiredAccountWithoutAKey()
    {
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();
        var kids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            kids.Add((await CreateKey(account, new { alg = "ECDH-ES" })).Json.GetProperty("kid").GetString()!);
        }

        (await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", new { method = "hmac", secret = TestTokens.Secret, encryption = "required" }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.OK);

        var answers = await Task.WhenAll(kids.Select(async kid => await ApiAnswer.From(await admin.DeleteAsync($"/v1/accounts/{account}/encryption-keys/{kid}", Ct))));

        answers.Count(a => a.Status == HttpStatusCode.NoContent).ShouldBe(5);
        answers.Single(a => a.Status != HttpStatusCode.NoContent).ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        (await Jwks(account)).Json.GetProperty("keys").GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task ConcurrentCreationsStopAtTenKeys()
    {
        var account = await _given.HmacAccountAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 14).Select(_ => CreateKey(account, new { alg = "ECDH-ES" })));

        answers.Count(a => a.Status == HttpStatusCode.Created).ShouldBe(EncryptionKeyStore.MaxKeysPerAccount);
        answers.Where(a => a.Status != HttpStatusCode.Created).ShouldAllBe(a => a.Status == HttpStatusCode.BadRequest && a.Code == "request_invalid");
        (await Jwks(account)).Json.GetProperty("keys").GetArrayLength().ShouldBe(EncryptionKeyStore.MaxKeysPerAccount);
    }

    [Fact]
    public async Task TheJwksMethodNeedsAnAbsoluteUriAndNoOtherKeys()
    {
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();
        async Task<ApiAnswer> Put(object body) =>
            await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", body, Ct));

        (await Put(new { method = "jwks", algorithms = new[] { "RS256" } })).ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid")
            .Json.GetProperty("errors").TryGetProperty("jwksUri", out _).ShouldBeTrue();
        foreach (var uri in new[] { "/relative/jwks.json", "ftp://partner.example/jwks", "https://user:pw@partner.example/jwks", "https://partner.example/jwks#x", "not a uri" })
        {
            var refused = await Put(new { method = "jwks", jwksUri = uri });
            refused.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
            refused.Json.GetProperty("errors").TryGetProperty("jwksUri", out _).ShouldBeTrue(uri);
        }

        (await Put(new { method = "jwks", jwksUri = "https://partner.example/jwks", algorithms = new[] { "HS256" } }))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        (await Put(new { method = "jwks", jwksUri = "https://partner.example/jwks", secret = TestTokens.Secret }))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        (await Put(new { method = "hmac", secret = TestTokens.Secret, jwksUri = "https://partner.example/jwks" }))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");

        var saved = await Put(new { method = "jwks", jwksUri = "https://partner.example/.well-known/jwks.json", algorithms = new[] { "RS256", "ES256" } });
        saved.Status.ShouldBe(HttpStatusCode.OK, saved.Body);
        var shown = await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/secure-token", Ct));
        shown.Json.GetProperty("method").GetString().ShouldBe("jwks");
        shown.Json.GetProperty("jwksUri").GetString().ShouldBe("https://partner.example/.well-known/jwks.json");
        shown.Json.GetProperty("algorithms").EnumerateArray().Select(a => a.GetString()).ShouldBe(["RS256", "ES256"]);

        // The Testing environment allows http (a loopback JWKS server); production does not unless configured.
        (await Put(new { method = "jwks", jwksUri = "http://127.0.0.1:1/jwks.json" })).Status.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public void OutsideDevelopmentAndTestingAJwksUriMustBeHttps()
    {
        var request = new SecureTokenRequest { Method = TokenMethod.Jwks, JwksUri = "http://partner.example/jwks" };
        SecureTokenRequestValidator.Validate(request).Errors.ShouldContainKey("jwksUri");
        SecureTokenRequestValidator.Validate(request, allowHttpJwks: true).Settings.ShouldNotBeNull();
        SecureTokenRequestValidator.Validate(request with { JwksUri = "https://partner.example/jwks" }).Settings!.JwksUri
            .ShouldBe("https://partner.example/jwks");
    }

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }
}

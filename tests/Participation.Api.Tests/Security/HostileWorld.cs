using System.Net.Http.Json;
using System.Text;
using Jose;
using Microsoft.IdentityModel.Tokens;
using Participation.Api.Tests.Infrastructure;
using Xunit;

namespace Participation.Api.Tests.Security;

/// <summary>
/// The accounts and campaigns the hostile corpus attacks, used by nothing else: no valid token is ever sent to
/// them, so any event on their participant streams is a state change made by an attack.
/// </summary>
public sealed class HostileWorld(AppFixture app) : IAsyncLifetime
{
    public const string OtherSecret = "other-partner-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    public const string StrictSecret = "strict-partner-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    public const string AttackerSecret = "attacker-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123";
    public const string Issuer = "https://partner.example";
    public const string Audience = "participation";

    /// <summary>HS256 account (<see cref="TestTokens.Secret"/>, no kid): two campaigns.</summary>
    public string Hmac { get; private set; } = "";

    public string Hmac2 { get; private set; } = "";

    /// <summary>Another HS256 account with its own secret.</summary>
    public string Other { get; private set; } = "";

    /// <summary>publicKey account: RS256 and ES256, keys <c>rsa-1</c> (<see cref="TestTokens.Rsa"/>) and <c>ec-1</c> (P-256).</summary>
    public string Pub { get; private set; } = "";

    /// <summary>HS256 account checking issuer and audience.</summary>
    public string Strict { get; private set; } = "";

    /// <summary>HS256 account accepting encrypted tokens (encryption optional) with one RSA-OAEP-256 key of its own.</summary>
    public string Enc { get; private set; } = "";

    /// <summary>The public JWK of <see cref="Enc"/>'s encryption key, as its JWKS publishes it.</summary>
    public Jwk EncKey { get; private set; } = null!;

    public IReadOnlyList<string> Campaigns => [Hmac, Hmac2, Other, Pub, Strict, Enc];

    /// <summary>The participant every attack names: must never be echoed, logged, or get a history.</summary>
    public string Sub { get; } = "canary-" + Guid.NewGuid().ToString("N");

    public AsymmetricTestKey Attacker { get; } = TestTokens.NewRsa();

    public object AttackerJwk
    {
        get
        {
            var parameters = ((RsaSecurityKey)Attacker.SigningKey).Rsa.ExportParameters(false);
            return new { kty = "RSA", e = TestTokens.Base64Url(parameters.Exponent), n = TestTokens.Base64Url(parameters.Modulus) };
        }
    }

    public string[] AttackerX5c => HostileTokenCorpus.SelfSignedChain(Attacker);

    public async ValueTask InitializeAsync()
    {
        var given = new Given(app);
        var hmac = await given.HmacAccountAsync();
        Hmac = await given.CampaignAsync(hmac, perParticipant: 5);
        Hmac2 = await given.CampaignAsync(hmac, perParticipant: 5);
        Other = await given.CampaignAsync(await given.HmacAccountAsync(OtherSecret), perParticipant: 5);
        Strict = await given.CampaignAsync(await given.HmacAccountAsync(StrictSecret, new { issuer = Issuer, audience = Audience }), perParticipant: 5);

        var pub = Given.NewId("acc");
        using (var admin = app.AdminClient())
        {
            (await admin.PutAsJsonAsync($"/v1/accounts/{pub}", new { name = "Public key partner" }, TestContext.Current.CancellationToken))
                .EnsureSuccessStatusCode();
        }

        await given.PutSecureTokenAsync(pub, new
        {
            method = "publicKey",
            algorithms = new[] { "RS256", "ES256" },
            publicKeys = new[]
            {
                new { kid = "rsa-1", pem = TestTokens.Rsa.PublicKeyPem },
                new { kid = "ec-1", pem = TestTokens.EcP256.PublicKeyPem },
            },
        });
        Pub = await given.CampaignAsync(pub, perParticipant: 5);

        var enc = await given.HmacAccountAsync(extraSettings: new { encryption = "optional" });
        Enc = await given.CampaignAsync(enc, perParticipant: 5);
        using (var admin = app.AdminClient())
        {
            var created = await admin.PostAsJsonAsync($"/v1/accounts/{enc}/encryption-keys", new { alg = "RSA-OAEP-256" }, TestContext.Current.CancellationToken);
            created.EnsureSuccessStatusCode();
            var jwk = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(TestContext.Current.CancellationToken)).GetProperty("jwk").GetRawText();
            EncKey = JwkSet.FromJson($$"""{"keys":[{{jwk}}]}""", JWT.DefaultSettings.JsonMapper).Keys.Single();
        }
    }

    /// <summary>A compact JWE (RSA-OAEP-256, A256GCM, with the key's kid) of <paramref name="content"/>, to <see cref="Enc"/>'s key or <paramref name="to"/>.</summary>
    public string Encrypt(string content, object? to = null, IDictionary<string, object>? headers = null) =>
        JWT.Encode(
            content,
            to ?? EncKey,
            JweAlgorithm.RSA_OAEP_256,
            JweEncryption.A256GCM,
            extraHeaders: headers ?? new Dictionary<string, object> { ["kid"] = EncKey.KeyId, ["cty"] = "JWT" });

    /// <summary>A JWE whose protected header is exactly <paramref name="headerJson"/> (its other parts from a real one: it cannot decrypt).</summary>
    public string EncryptedWithHeader(string headerJson)
    {
        var parts = Encrypt(Hs(Claims(Enc))).Split('.');
        parts[0] = TestTokens.Base64Url(Encoding.UTF8.GetBytes(headerJson));
        return string.Join('.', parts);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Claims naming the canary participant (or <paramref name="sub"/>) and <paramref name="campaign"/>, with a fresh jti.</summary>
    public Dictionary<string, object?> Claims(string campaign, string? sub = null) =>
        TestTokens.Claims(sub ?? Sub, campaign, jti: TestTokens.NewJti());

    /// <summary>The payload JSON text of <see cref="Claims"/>.</summary>
    public string PayloadJson(string campaign) => Payload(campaign);

    /// <summary>
    /// A payload JSON text: <c>sub</c> (the canary, or the raw JSON <paramref name="subJson"/>), <c>campaignId</c> (a
    /// string, or the raw JSON <paramref name="campaignJson"/>), a fresh <c>jti</c>, then <paramref name="members"/> verbatim.
    /// </summary>
    public string Payload(string campaign, string? members = null, string? subJson = null, string? campaignJson = null, bool withJti = true)
    {
        var text = $"{{\"sub\":{subJson ?? Quote(Sub)},\"campaignId\":{campaignJson ?? Quote(campaign)}";
        if (withJti)
        {
            text += $",\"jti\":\"{TestTokens.NewJti()}\"";
        }

        if (!string.IsNullOrWhiteSpace(members))
        {
            text += "," + members.Trim();
        }

        return text + "}";

        static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);
    }

    /// <summary>HS256 with the <see cref="Hmac"/> account's secret; <paramref name="header"/> members merge over the default header.</summary>
    public string Hs(object payload, object? header = null) =>
        TestTokens.Sign("HS256", TestTokens.HmacKey(TestTokens.Secret), payload, header);

    /// <summary>HS256 with the <see cref="Hmac"/> account's secret over exactly these JSON texts.</summary>
    public string HsRaw(string headerJson, string payloadJson) =>
        TestTokens.SignRaw("HS256", TestTokens.HmacKey(TestTokens.Secret), headerJson, payloadJson);

    /// <summary>HS256 with the <see cref="Hmac"/> account's secret over exactly these bytes (not necessarily UTF-8).</summary>
    public string SignBytes(byte[] header, byte[] payload) =>
        TestTokens.SignEncoded("HS256", TestTokens.HmacKey(TestTokens.Secret), TestTokens.Base64Url(header), TestTokens.Base64Url(payload));
}

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

    /// <summary>Another account accepting encrypted tokens, with an encryption key of its own (<see cref="Enc2Key"/>).</summary>
    public string Enc2 { get; private set; } = "";

    public Jwk Enc2Key { get; private set; } = null!;

    /// <summary>jwks account (RS256): its keys come from <see cref="PartnerKeys"/>, which publishes <see cref="TestTokens.Rsa"/> as <c>jwks-1</c>.</summary>
    public string Jwks { get; private set; } = "";

    /// <summary>The partner's own JWKS endpoint, configured on the <see cref="Jwks"/> account.</summary>
    public JwksServer PartnerKeys { get; private set; } = null!;

    /// <summary>
    /// The attacker's server, on loopback: it publishes the attacker's key under the victims' kids (<c>jwks-1</c>,
    /// <c>rsa-1</c>) and its own (<c>attacker</c>), so a service that fetched a <c>jku</c> or <c>x5u</c> would find a key
    /// that verifies the attack. It counts every request on any path: it must never get one.
    /// </summary>
    public JwksServer AttackerKeys { get; private set; } = null!;

    /// <summary>The attacker's JWK Set URL, for <c>jku</c> headers.</summary>
    public string AttackerJku => AttackerKeys.Uri.ToString();

    /// <summary>An attacker's certificate URL, for <c>x5u</c> headers (the same server).</summary>
    public string AttackerX5u => AttackerKeys.At("/cert.pem").ToString();

    public IReadOnlyList<string> Campaigns => [Hmac, Hmac2, Other, Pub, Strict, Enc, Enc2, Jwks];

    /// <summary>The accounts of the world: their audit streams and documents must not change either.</summary>
    public IReadOnlyList<string> Accounts => _accounts;

    private readonly List<string> _accounts = [];

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
        var ct = TestContext.Current.CancellationToken;
        var given = new Given(app);
        var hmac = await given.HmacAccountAsync();
        Hmac = await given.CampaignAsync(hmac, perParticipant: 5);
        Hmac2 = await given.CampaignAsync(hmac, perParticipant: 5);
        var other = await given.HmacAccountAsync(OtherSecret);
        Other = await given.CampaignAsync(other, perParticipant: 5);
        var strict = await given.HmacAccountAsync(StrictSecret, new { issuer = Issuer, audience = Audience });
        Strict = await given.CampaignAsync(strict, perParticipant: 5);

        var pub = await NewAccountAsync("Public key partner");

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
        EncKey = await NewEncryptionKeyAsync(enc);
        var enc2 = await given.HmacAccountAsync(OtherSecret, extraSettings: new { encryption = "optional" });
        Enc2 = await given.CampaignAsync(enc2, perParticipant: 5);
        Enc2Key = await NewEncryptionKeyAsync(enc2);

        PartnerKeys = await JwksServer.StartAsync(ct);
        PartnerKeys.Publish(TestJwk.Of(TestTokens.Rsa, "jwks-1", "RS256"));
        AttackerKeys = await JwksServer.StartAsync(ct);
        AttackerKeys.Publish(TestJwk.Of(Attacker, "jwks-1", "RS256"), TestJwk.Of(Attacker, "rsa-1", "RS256"), TestJwk.Of(Attacker, "attacker", "RS256"));
        var jwks = await NewAccountAsync("JWKS partner");
        await given.PutSecureTokenAsync(jwks, new { method = "jwks", algorithms = new[] { "RS256" }, jwksUri = PartnerKeys.Uri.ToString() });
        Jwks = await given.CampaignAsync(jwks, perParticipant: 5);

        _accounts.AddRange([hmac, other, strict, pub, enc, enc2, jwks]);
    }

    private async Task<string> NewAccountAsync(string name)
    {
        var id = Given.NewId("acc");
        using var admin = app.AdminClient();
        (await admin.PutAsJsonAsync($"/v1/accounts/{id}", new { name }, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        return id;
    }

    private async Task<Jwk> NewEncryptionKeyAsync(string account)
    {
        using var admin = app.AdminClient();
        var created = await admin.PostAsJsonAsync($"/v1/accounts/{account}/encryption-keys", new { alg = "RSA-OAEP-256" }, TestContext.Current.CancellationToken);
        created.EnsureSuccessStatusCode();
        var jwk = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(TestContext.Current.CancellationToken)).GetProperty("jwk").GetRawText();
        return JwkSet.FromJson($$"""{"keys":[{{jwk}}]}""", JWT.DefaultSettings.JsonMapper).Keys.Single();
    }

    /// <summary>
    /// What an attack could change, read from the database: events and streams that name a campaign or account of the
    /// world or the canary participant (in their stream id or their data, whatever the stream), participant history
    /// documents, participation rows and campaign place rows of its campaigns, and the world's account, campaign and
    /// key documents with their versions. Equal before and after a refused request: nothing changed.
    /// </summary>
    public async Task<string> StateAsync(CancellationToken ct)
    {
        await using var connection = new Npgsql.NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            with ids as (select unnest(@ids) as id)
            select json_build_object(
              'events', (select count(*) from participation.mt_events e
                         where exists (select 1 from ids where strpos(e.stream_id, ids.id) > 0 or strpos(e.data::text, ids.id) > 0)),
              'maxEventVersion', (select coalesce(max(e.version), 0) from participation.mt_events e
                         where exists (select 1 from ids where strpos(e.stream_id, ids.id) > 0)),
              'streams', (select count(*) || ':' || coalesce(sum(s.version), 0) from participation.mt_streams s
                         where exists (select 1 from ids where strpos(s.id, ids.id) > 0)),
              'participantEvents', (select count(*) from participation.mt_events e
                         where e.stream_id like 'participation:%' and split_part(e.stream_id, ':', 2) = any(@campaigns)),
              'histories', (select count(*) from participation.mt_doc_participant h where h.data ->> 'campaignId' = any(@campaigns)),
              'rows', (select count(*) from participation.participation_rows r where r.campaign_id = any(@campaigns)),
              'places', (select count(*) || ':' || coalesce(sum(p.accepted), 0) from participation.campaign_places p where p.campaign_id = any(@campaigns)),
              'campaigns', (select string_agg(c.id || '@' || c.mt_version, ',' order by c.id) from participation.mt_doc_campaign c where c.id = any(@campaigns)),
              'accounts', (select string_agg(a.id || '@' || a.mt_version, ',' order by a.id) from participation.mt_doc_account a where a.id = any(@accounts)),
              'apiKeys', (select count(*) from participation.mt_doc_apikey k where k.data ->> 'accountId' = any(@accounts)),
              'encryptionKeys', (select count(*) from participation.mt_doc_encryptionkeydocument k where k.data ->> 'accountId' = any(@accounts))
            )::text
            """;
        command.Parameters.AddWithValue("ids", (string[])[.. Campaigns, .. Accounts, Sub]);
        command.Parameters.AddWithValue("campaigns", Campaigns.ToArray());
        command.Parameters.AddWithValue("accounts", Accounts.ToArray());
        return (string)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>A compact JWE (RSA-OAEP-256, A256GCM, with the key's kid) of <paramref name="content"/>, to <see cref="Enc"/>'s key or <paramref name="to"/>.</summary>
    public string Encrypt(string content, object? to = null, IDictionary<string, object>? headers = null) =>
        JWT.Encode(
            content,
            to ?? EncKey,
            JweAlgorithm.RSA_OAEP_256,
            JweEncryption.A256GCM,
            extraHeaders: headers ?? new Dictionary<string, object> { ["kid"] = (to as Jwk)?.KeyId ?? EncKey.KeyId, ["cty"] = "JWT" });

    /// <summary>A JWE whose protected header is exactly <paramref name="headerJson"/> (its other parts from a real one: it cannot decrypt).</summary>
    public string EncryptedWithHeader(string headerJson)
    {
        var parts = Encrypt(Hs(Claims(Enc))).Split('.');
        parts[0] = TestTokens.Base64Url(Encoding.UTF8.GetBytes(headerJson));
        return string.Join('.', parts);
    }

    public async ValueTask DisposeAsync()
    {
        if (PartnerKeys is not null)
        {
            await PartnerKeys.DisposeAsync();
        }

        if (AttackerKeys is not null)
        {
            await AttackerKeys.DisposeAsync();
        }
    }

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

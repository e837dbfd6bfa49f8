using System.Net;
using System.Net.Http.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Participations;

/// <summary>
/// Key rotation through the management API: a key is added next to the current one, partners switch, the old one is
/// removed, and no valid token signed with a key still configured is ever refused. Settings are read from the
/// database on every request, so a change made through one API process applies to the very next request on another
/// (here: the change goes through the in-memory host, the tokens through the Kestrel host, each with its own caches).
/// </summary>
public sealed class KeyRotationTests(AppFixture app) : IAsyncLifetime
{
    private const string Secret1 = "rotation-secret-1-0123456789-0123456789-0123456789-0123456789-01";
    private const string Secret2 = "rotation-secret-2-0123456789-0123456789-0123456789-0123456789-01";
    private const string Secret3 = "rotation-secret-3-0123456789-0123456789-0123456789-0123456789-01";

    private readonly Given _given = new(app);
    private JwksServer _jwks = null!;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _jwks = await JwksServer.StartAsync(Ct);

    public async ValueTask DisposeAsync() => await _jwks.DisposeAsync();

    /// <summary>Participates on the other API process (Kestrel), so no in-process cache can hide a stale configuration.</summary>
    private async Task<ApiAnswer> Participate(string campaignId, string token)
    {
        using var client = app.KestrelClient();
        return await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaignId}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct));
    }

    private static Dictionary<string, object?> Claims(string campaign) =>
        TestTokens.Claims("rotating-user", campaign, jti: TestTokens.NewJti());

    private async Task ShouldAccept(string campaign, string token, string because) =>
        (await Participate(campaign, token)).Status.ShouldBe(HttpStatusCode.Created, because);

    [Fact]
    public async Task HmacSecretsRotateWithoutRefusingATokenOfAConfiguredSecret()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1000);
        string Hs(string secret, string? kid) => TestTokens.Hs256(secret, Claims(campaign), kid);
        async Task Configure(params (string Kid, string Secret)[] secrets) =>
            await _given.PutSecureTokenAsync(account, new { method = "hmac", secrets = secrets.Select(s => new { kid = s.Kid, secret = s.Secret }) });

        await Configure(("s1", Secret1));
        await ShouldAccept(campaign, Hs(Secret1, "s1"), "s1 with kid");
        await ShouldAccept(campaign, Hs(Secret1, null), "s1 without kid");

        // Step 1: s2 added next to s1. Both work, with or without kid (current and previous).
        await Configure(("s1", Secret1), ("s2", Secret2));
        foreach (var (secret, kid) in new[] { (Secret1, "s1"), (Secret2, "s2"), (Secret1, (string?)null), (Secret2, null) })
        {
            await ShouldAccept(campaign, Hs(secret, kid), $"{kid ?? "no kid"} after adding s2");
        }

        // Step 2: s1 removed. s2 works; s1 is refused from the next request on.
        await Configure(("s2", Secret2));
        await ShouldAccept(campaign, Hs(Secret2, "s2"), "s2 after removing s1");
        await ShouldAccept(campaign, Hs(Secret2, null), "s2 without kid after removing s1");
        (await Participate(campaign, Hs(Secret1, "s1"))).ShouldBeProblem(HttpStatusCode.Unauthorized, "key_not_found");
        (await Participate(campaign, Hs(Secret1, null))).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_invalid_signature");
    }

    [Fact]
    public async Task EveryConfiguredKeyWithItsKidWorksThroughARotationSequence()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1000);
        var all = new[] { ("s1", Secret1), ("s2", Secret2), ("s3", Secret3) };
        (string, string)[][] steps =
        [
            [all[0]],
            [all[0], all[1]],
            [all[1]],
            [all[1], all[2]],
            [all[0], all[1], all[2]],
            [all[2]],
        ];

        foreach (var step in steps)
        {
            await _given.PutSecureTokenAsync(account, new { method = "hmac", secrets = step.Select(s => new { kid = s.Item1, secret = s.Item2 }) });
            var configured = step.Select(s => s.Item1).ToHashSet();
            foreach (var (kid, secret) in all)
            {
                var answer = await Participate(campaign, TestTokens.Hs256(secret, Claims(campaign), kid));
                if (configured.Contains(kid))
                {
                    answer.Status.ShouldBe(HttpStatusCode.Created, $"{kid} configured in [{string.Join(", ", configured)}]");
                }
                else
                {
                    answer.ShouldBeProblem(HttpStatusCode.Unauthorized, "key_not_found");
                }
            }
        }
    }

    [Fact]
    public async Task PublicKeysRotateWithoutRefusingATokenOfAConfiguredKey()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1000);
        var oldKey = TestTokens.NewRsa();
        var newKey = TestTokens.NewEc("ES256");
        string Sign(AsymmetricTestKey key, string alg, string? kid) =>
            TestTokens.Sign(alg, key.SigningKey, Claims(campaign), kid is null ? null : new { kid });
        async Task Configure(params (string Kid, AsymmetricTestKey Key)[] keys) => await _given.PutSecureTokenAsync(account, new
        {
            method = "publicKey",
            algorithms = new[] { "RS256", "ES256" }.Where(a => keys.Any(k => (a == "ES256") == (k.Key == newKey))).ToArray(),
            publicKeys = keys.Select(k => new { kid = k.Kid, pem = k.Key.PublicKeyPem }),
        });

        await Configure(("2024", oldKey));
        await ShouldAccept(campaign, Sign(oldKey, "RS256", "2024"), "old key");

        await Configure(("2024", oldKey), ("2025", newKey));
        await ShouldAccept(campaign, Sign(oldKey, "RS256", "2024"), "old key during rotation");
        await ShouldAccept(campaign, Sign(oldKey, "RS256", null), "old key without kid during rotation");
        await ShouldAccept(campaign, Sign(newKey, "ES256", "2025"), "new key during rotation");
        await ShouldAccept(campaign, Sign(newKey, "ES256", null), "new key without kid during rotation");

        await Configure(("2025", newKey));
        await ShouldAccept(campaign, Sign(newKey, "ES256", "2025"), "new key after rotation");
        (await Participate(campaign, Sign(oldKey, "RS256", "2024"))).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_algorithm_not_allowed");
    }

    [Fact]
    public async Task AJwksRotationIsPickedUpByAnUnknownKidAndAnOutageKeepsTheKnownKeys()
    {
        var key1 = TestTokens.NewRsa();
        var key2 = TestTokens.NewRsa();
        _jwks.Publish(TestJwk.Of(key1, "k1"));
        var account = await _given.HmacAccountAsync();
        await _given.PutSecureTokenAsync(account, new { method = "jwks", algorithms = new[] { "RS256" }, jwksUri = _jwks.Uri.AbsoluteUri });
        var campaign = await _given.CampaignAsync(account, perParticipant: 1000);
        string Sign(AsymmetricTestKey key, string kid) => TestTokens.Sign("RS256", key.SigningKey, Claims(campaign), new { kid });

        await ShouldAccept(campaign, Sign(key1, "k1"), "k1");
        _jwks.Requests.ShouldBe(1);

        // The partner publishes k2 and signs with it: the first such token triggers the refetch and is accepted.
        _jwks.Publish(TestJwk.Of(key1, "k1"), TestJwk.Of(key2, "k2"));
        await ShouldAccept(campaign, Sign(key2, "k2"), "k2 right after publication");
        await ShouldAccept(campaign, Sign(key1, "k1"), "k1 still published");
        _jwks.Requests.ShouldBe(2);

        // The endpoint goes down: the known keys keep working, unknown kids are refused without hammering it.
        _jwks.Status = 503;
        await ShouldAccept(campaign, Sign(key1, "k1"), "k1 during the outage");
        await ShouldAccept(campaign, Sign(key2, "k2"), "k2 during the outage");
        (await Participate(campaign, Sign(TestTokens.NewRsa(), "k3"))).ShouldBeProblem(HttpStatusCode.Unauthorized, "key_not_found");
        _jwks.Requests.ShouldBe(2);
    }

    [Fact]
    public async Task ConcurrentSettingsChangesEachGetTheirOwnVersionAndEveryProcessUsesTheLastOne()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1000);
        using var admin = app.AdminClient();
        var before = (await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/secure-token", Ct))).Json.GetProperty("version").GetInt64();

        // Twenty settings changes and twenty renames at once: caches of key material are keyed by settings version,
        // so two changes must never share one, and a rename must never put older settings back.
        string SecretOf(int i) => $"concurrent-secret-{i:D2}-0123456789-0123456789-0123456789-0123456789";
        var puts = Enumerable.Range(0, 20).Select(async i => await ApiAnswer.From(await admin.PutAsJsonAsync(
            $"/v1/accounts/{account}/secure-token", new { method = "hmac", secrets = new[] { new { kid = $"c{i}", secret = SecretOf(i) } } }, Ct)));
        var renames = Enumerable.Range(0, 20).Select(async i => await ApiAnswer.From(await admin.PutAsJsonAsync(
            $"/v1/accounts/{account}", new { name = $"Renamed {i}" }, Ct)));
        var answers = await Task.WhenAll(puts.Concat(renames));
        answers.Where(a => a.Status != HttpStatusCode.OK).Select(a => a.Body).ShouldBeEmpty();

        var versions = answers.Take(20).Select(a => a.Json.GetProperty("version").GetInt64()).Order().ToList();
        versions.ShouldBe(Enumerable.Range(1, 20).Select(i => before + i).ToList());
        var shown = (await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/secure-token", Ct))).Json;
        shown.GetProperty("version").GetInt64().ShouldBe(before + 20);
        var last = shown.GetProperty("secrets")[0].GetProperty("kid").GetString()!;
        var lastIndex = int.Parse(last[1..], System.Globalization.CultureInfo.InvariantCulture);
        answers.Take(20).Single(a => a.Json.GetProperty("version").GetInt64() == before + 20)
            .Json.GetProperty("secrets")[0].GetProperty("kid").GetString().ShouldBe(last);

        // Both processes verify with the stored settings: the last secret works, any other is refused.
        foreach (var kestrel in new[] { true, false })
        {
            using var client = kestrel ? app.KestrelClient() : app.Client();
            async Task<ApiAnswer> Send(string token) => await ApiAnswer.From(await client.PostAsync(
                $"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct));
            (await Send(TestTokens.Hs256(SecretOf(lastIndex), Claims(campaign), last))).Status.ShouldBe(HttpStatusCode.Created);
            (await Send(TestTokens.Hs256(SecretOf(lastIndex), Claims(campaign)))).Status.ShouldBe(HttpStatusCode.Created);
            var other = (lastIndex + 1) % 20;
            (await Send(TestTokens.Hs256(SecretOf(other), Claims(campaign), $"c{other}"))).ShouldBeProblem(HttpStatusCode.Unauthorized, "key_not_found");
            (await Send(TestTokens.Hs256(SecretOf(other), Claims(campaign)))).ShouldBeProblem(HttpStatusCode.Unauthorized, "token_invalid_signature");
        }
    }

    [Fact]
    public async Task AThousandConcurrentRequestsWithANewKidMakeOneRequestToTheJwksEndpoint()
    {
        var key1 = TestTokens.NewRsa();
        var key2 = TestTokens.NewRsa();
        _jwks.Publish(TestJwk.Of(key1, "k1"));
        var account = await _given.HmacAccountAsync();
        await _given.PutSecureTokenAsync(account, new { method = "jwks", algorithms = new[] { "RS256" }, jwksUri = _jwks.Uri.AbsoluteUri });
        var campaign = await _given.CampaignAsync(account, perParticipant: 1000);
        string Sign(AsymmetricTestKey key, string kid, int i) =>
            TestTokens.Sign("RS256", key.SigningKey, TestTokens.Claims($"burst-{i}", campaign, jti: TestTokens.NewJti()), new { kid });
        using var client = app.Client();
        async Task<ApiAnswer> Check(string token) => await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/eligibility", new FormUrlEncodedContent([new("qual_token", token)]), Ct));

        (await Check(Sign(key1, "k1", 0))).Status.ShouldBe(HttpStatusCode.OK);
        _jwks.Requests.ShouldBe(1);

        // The partner rotates to k2; a thousand tokens naming it arrive at once through the API (eligibility checks
        // verify like participations, consume nothing). They share one refetch, slowed down so that they pile up.
        _jwks.Publish(TestJwk.Of(key1, "k1"), TestJwk.Of(key2, "k2"));
        _jwks.Delay = TimeSpan.FromMilliseconds(500);
        var tokens = Enumerable.Range(1, 1000).Select(i => Sign(key2, "k2", i)).ToList();
        var answers = await Task.WhenAll(tokens.Select(Check));

        answers.Where(a => a.Status != HttpStatusCode.OK).Select(a => a.Body).ShouldBeEmpty();
        answers.ShouldAllBe(a => a.Json.GetProperty("eligible").GetBoolean());
        _jwks.Requests.ShouldBe(2);

        // A thousand forged kids right after: refused, and not one more request (the cooldown).
        var attacker = TestTokens.NewRsa();
        var forged = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => Check(Sign(attacker, $"forged-{i}", i))));
        forged.ShouldAllBe(a => a.Status == HttpStatusCode.Unauthorized && a.Code == "key_not_found");
        _jwks.Requests.ShouldBe(2);
    }

    [Fact]
    public async Task ChangingTheJwksUriAppliesAtTheNextRequest()
    {
        var key = TestTokens.NewRsa();
        await using var other = await JwksServer.StartAsync(Ct);
        _jwks.Publish(TestJwk.Of(key, "shared-kid"));
        other.Publish(TestJwk.Of(TestTokens.NewRsa(), "shared-kid"));
        var account = await _given.HmacAccountAsync();
        await _given.PutSecureTokenAsync(account, new { method = "jwks", algorithms = new[] { "RS256" }, jwksUri = _jwks.Uri.AbsoluteUri });
        var campaign = await _given.CampaignAsync(account, perParticipant: 1000);
        await ShouldAccept(campaign, TestTokens.Sign("RS256", key.SigningKey, Claims(campaign), new { kid = "shared-kid" }), "first URI");

        await _given.PutSecureTokenAsync(account, new { method = "jwks", algorithms = new[] { "RS256" }, jwksUri = other.Uri.AbsoluteUri });
        (await Participate(campaign, TestTokens.Sign("RS256", key.SigningKey, Claims(campaign), new { kid = "shared-kid" })))
            .ShouldBeProblem(HttpStatusCode.Unauthorized, "token_invalid_signature");
        other.Requests.ShouldBe(1);
    }
}

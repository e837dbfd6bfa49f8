using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Management;

public sealed class SecretsAndAuditTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnHmacSecretIsEncryptedAtRestAndNeverInAResponseTheAuditOrTheLogs()
    {
        var secret = "secret-" + Guid.NewGuid().ToString("N") + "-long-enough";
        var account = await _given.HmacAccountAsync(secret);
        var campaign = await _given.CampaignAsync(account, perParticipant: 5);
        using var admin = app.AdminClient();
        using var client = app.Client();

        // It still verifies tokens...
        var token = TestTokens.Hs256(secret, TestTokens.Claims("sam", campaign, jti: TestTokens.NewJti()));
        (await client.PostAsync($"/v1/campaigns/{campaign}/participations?qual_token={token}", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        // ...and a bad request that carries it in the body does not echo it.
        var invalid = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", new { method = "hmac", secret, clockSkewSeconds = 9999 }, Ct));
        invalid.Status.ShouldBe(HttpStatusCode.BadRequest);
        var unknownMember = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", new { method = "hmac", secret, extra = secret }, Ct));
        unknownMember.Status.ShouldBe(HttpStatusCode.BadRequest);

        var responses = new[]
        {
            invalid.Body,
            unknownMember.Body,
            await admin.GetStringAsync($"/v1/accounts/{account}/secure-token", Ct),
            await admin.GetStringAsync($"/v1/accounts/{account}", Ct),
            await admin.GetStringAsync($"/v1/accounts/{account}/audit", Ct),
        };
        responses.ShouldAllBe(body => !body.Contains(secret, StringComparison.Ordinal));

        await using var session = app.Store.QuerySession();
        var stored = await session.QueryAsync<string>("select data::text from participation.mt_doc_account where id = ?", Ct, account);
        stored.Single().ShouldNotContain(secret);
        stored.Single().ShouldContain("dp1:");
        var events = await session.QueryAsync<string>("select data::text from participation.mt_events where stream_id = ?", Ct, "audit:" + account);
        events.ShouldNotBeEmpty();
        events.ShouldAllBe(e => !e.Contains(secret, StringComparison.Ordinal));
        var keyRing = await session.QueryAsync<string>("select data::text from participation.mt_doc_dataprotectionkeydocument", Ct);
        keyRing.ShouldNotBeEmpty();
        keyRing.ShouldAllBe(k => k.Contains("masterKeyEncrypted", StringComparison.Ordinal) && !k.Contains("<masterKey ", StringComparison.Ordinal) && !k.Contains("<masterKey>", StringComparison.Ordinal));

        app.Logs.Lines.ShouldNotBeEmpty();
        app.Logs.Lines.ShouldAllBe(line => !line.Contains(secret, StringComparison.Ordinal) && !line.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ChangesAreAuditedWithTheKeyThatMadeThem()
    {
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();
        var created = await ApiAnswer.From(await admin.PostAsync($"/v1/accounts/{account}/api-keys", null, Ct));
        var key = created.Json.GetProperty("key").GetString()!;
        var prefix = created.Json.GetProperty("prefix").GetString()!;
        using var own = app.Client();
        own.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var campaign = Given.NewId("cmp");
        (await own.PutAsJsonAsync($"/v1/campaigns/{campaign}", new { accountId = account, name = "Audited", limits = new { perParticipant = 4 } }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.Created);

        var audit = await ApiAnswer.From(await own.GetAsync($"/v1/accounts/{account}/audit", Ct));

        audit.Status.ShouldBe(HttpStatusCode.OK, audit.Body);
        var entries = audit.Json.EnumerateArray().Select(e => (Type: e.GetProperty("type").GetString(), By: e.GetProperty("by").GetString(), e)).ToList();
        entries.Select(e => e.Type).ShouldBe(["accountSaved", "secureTokenConfigured", "apiKeyCreated", "campaignSaved"]);
        entries.Take(3).ShouldAllBe(e => e.By == "admin");
        entries[3].By.ShouldBe(prefix);
        var tokenSettings = entries[1].e.GetProperty("data");
        tokenSettings.GetProperty("method").GetString().ShouldBe("hmac");
        tokenSettings.GetProperty("algorithms")[0].GetString().ShouldBe("HS256");
        entries[3].e.GetProperty("data").GetProperty("configuration").GetProperty("limits").GetProperty("perParticipant").GetInt32().ShouldBe(4);
        entries.ShouldAllBe(e => e.e.GetProperty("at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task ConcurrentChangesToOneAccountAreEachAuditedOnce()
    {
        // Every management write of an account appends to the one audit stream of that account; writes that race
        // (API keys, campaigns, token settings at once) must all succeed and each leave exactly one audit event.
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();
        var campaigns = Enumerable.Range(0, 8).Select(_ => Given.NewId("cmp")).ToList();
        var writes = new List<Task<HttpResponseMessage>>();
        for (var i = 0; i < 8; i++)
        {
            writes.Add(admin.PostAsync($"/v1/accounts/{account}/api-keys", null, Ct));
            writes.Add(admin.PutAsJsonAsync($"/v1/campaigns/{campaigns[i]}", new { accountId = account, name = $"Race {i}", limits = new { perParticipant = 1 } }, Ct));
            writes.Add(admin.PutAsJsonAsync($"/v1/accounts/{account}/secure-token", new { method = "hmac", secret = TestTokens.Secret }, Ct));
        }

        var answers = await Task.WhenAll(writes);
        foreach (var answer in answers)
        {
            ((int)answer.StatusCode).ShouldBeInRange(200, 201, await answer.Content.ReadAsStringAsync(Ct));
            answer.Dispose();
        }

        var audit = await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/audit", Ct));
        audit.Status.ShouldBe(HttpStatusCode.OK, audit.Body);
        var types = audit.Json.EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        types.Count(t => t == "apiKeyCreated").ShouldBe(8);
        types.Count(t => t == "campaignSaved").ShouldBe(8);
        types.Count(t => t == "secureTokenConfigured").ShouldBe(9, "one by the arrangement, eight by the race");

        await using var session = app.Store.QuerySession();
        var versions = await session.QueryAsync<long>("select version from participation.mt_events where stream_id = ? order by version", Ct, "audit:" + account);
        versions.ShouldBe(Enumerable.Range(1, versions.Count).Select(v => (long)v).ToList(), "the audit stream has no gap and no duplicate");
    }

    [Fact]
    public async Task ConcurrentCreationsOfOneAccountCreateItOnce()
    {
        var account = Given.NewId("acc");
        using var admin = app.AdminClient();
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            admin.PutAsJsonAsync($"/v1/accounts/{account}", new { name = $"Racer {i}" }, Ct)));

        answers.Count(a => a.StatusCode == HttpStatusCode.Created).ShouldBe(1);
        answers.Count(a => a.StatusCode == HttpStatusCode.OK).ShouldBe(7);
        foreach (var answer in answers)
        {
            answer.Dispose();
        }

        var audit = await ApiAnswer.From(await admin.GetAsync($"/v1/accounts/{account}/audit", Ct));
        var saved = audit.Json.EnumerateArray().Where(e => e.GetProperty("type").GetString() == "accountSaved").ToList();
        saved.Count.ShouldBe(8);
        saved.Count(e => e.GetProperty("data").GetProperty("created").GetBoolean()).ShouldBe(1);
        saved[0].GetProperty("data").GetProperty("created").GetBoolean().ShouldBeTrue("the first record of the stream is the creation");
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Management;

/// <summary>docs/operations.md's master key rotation, done as an operator would: restart with a new key.</summary>
public sealed class MasterKeyRotationTests(AppFixture app)
{
    private static async Task<(WebApplication Host, HttpClient Client)> StartAsync(
        string connectionString, string masterKey, string? previous, CancellationToken ct, params string[] previousAsArray)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Participation:MasterKey"] = masterKey,
            ["Participation:PreviousMasterKeys"] = previous,
        };
        for (var i = 0; i < previousAsArray.Length; i++)
        {
            settings[$"Participation:PreviousMasterKeys:{i}"] = previousAsArray[i];
        }

        var (host, address) = await KestrelHost.StartAsync(connectionString, ct, "Production", settings);
        return (host, new HttpClient { BaseAddress = address });
    }

    private static async Task<HttpStatusCode> ParticipateAsync(HttpClient client, string secret, CancellationToken ct)
    {
        var token = TestTokens.Hs256(secret, TestTokens.Claims("rotating-" + Guid.NewGuid().ToString("N"), "rot", jti: TestTokens.NewJti()));
        return (await client.PostAsync($"/v1/campaigns/rot/participations?qual_token={token}", null, ct)).StatusCode;
    }

    [Fact(Timeout = 180_000)]
    public async Task SecretsStayUsableAcrossAMasterKeyRotationAndNeedTheKeyThatSealedThem()
    {
        var ct = TestContext.Current.CancellationToken;
        var connectionString = await app.CreateDatabaseAsync("participation_master_key_tests");
        var oldKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var newKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var secret = "rotation-secret-" + Guid.NewGuid().ToString("N");

        var (first, client) = await StartAsync(connectionString, oldKey, null, ct);
        using (client)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
            (await client.PutAsJsonAsync("/v1/accounts/acc", new { name = "A" }, ct)).EnsureSuccessStatusCode();
            (await client.PutAsJsonAsync("/v1/accounts/acc/secure-token", new { method = "hmac", secret }, ct)).EnsureSuccessStatusCode();
            (await client.PutAsJsonAsync("/v1/campaigns/rot", new { accountId = "acc", name = "R", limits = new { perParticipant = 1 } }, ct)).EnsureSuccessStatusCode();
            client.DefaultRequestHeaders.Authorization = null;
            (await ParticipateAsync(client, secret, ct)).ShouldBe(HttpStatusCode.Created);
        }

        await first.StopAsync(ct);
        await first.DisposeAsync();

        // Step 2 of the runbook: the new key current, the old one previous. The stored secret still opens.
        var (second, rotated) = await StartAsync(connectionString, newKey, oldKey, ct);
        using (rotated)
        {
            (await ParticipateAsync(rotated, secret, ct)).ShouldBe(HttpStatusCode.Created);
        }

        await second.StopAsync(ct);
        await second.DisposeAsync();

        // The previous keys given as a JSON array (Participation__PreviousMasterKeys__0, __1, ...) count the same.
        var decoy = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var (asArray, arrayClient) = await StartAsync(connectionString, newKey, null, ct, decoy, oldKey);
        using (arrayClient)
        {
            (await ParticipateAsync(arrayClient, secret, ct)).ShouldBe(HttpStatusCode.Created);
        }

        await asArray.StopAsync(ct);
        await asArray.DisposeAsync();

        // Without the key that sealed the ring, nothing opens: the secret is unusable (a 503 with a critical log line, never a 201), and the
        // operator learns it from the logs rather than by a silent acceptance.
        var (third, withoutOld) = await StartAsync(connectionString, newKey, null, ct);
        using (withoutOld)
        {
            var status = await ParticipateAsync(withoutOld, secret, ct);
            status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        }

        await third.StopAsync(ct);
        await third.DisposeAsync();
    }
}

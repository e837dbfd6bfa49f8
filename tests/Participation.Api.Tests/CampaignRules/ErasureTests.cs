using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Marten.Events;
using Npgsql;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.CampaignRules;

/// <summary><c>DELETE /v1/campaigns/{campaignId}/participants/{sub}</c>: personal data goes, the count stays.</summary>
public sealed class ErasureTests(AppFixture app)
{
    private const string Email = "ophelia@example.com";
    private const string Label = "A bike for Ophelia";

    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string PersonalToken(string campaign, string sub, string jti)
    {
        var claims = TestTokens.Claims(sub, campaign, jti: jti);
        claims["custom"] = new { email = Email };
        claims["form"] = new { firstName = "Ophelia", city = "Elsinore" };
        claims["optin"] = new { newsletter = true };
        claims["gift"] = new { label = Label, cw = true };
        return TestTokens.Hs256(TestTokens.Secret, claims);
    }

    private async Task<ApiAnswer> Participate(HttpClient client, string campaign, string token) =>
        await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct));

    /// <summary>Every stored text of the participant's stream: the events as PostgreSQL holds them.</summary>
    private Task<string> RawEventsAsync(string streamKey) =>
        RawTextAsync("select coalesce(string_agg(data::text, E'\\n' order by seq_id), '') from participation.mt_events where stream_id = $1", streamKey);

    /// <summary>The participant's inline snapshot as stored: the state every participation reads.</summary>
    private Task<string> RawSnapshotAsync(string streamKey) =>
        RawTextAsync("select coalesce((select data::text from participation.mt_doc_participant where id = $1), '')", streamKey);

    private async Task<string> RawTextAsync(string sql, string streamKey)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue(streamKey);
        return (string)(await command.ExecuteScalarAsync(Ct))!;
    }

    [Fact]
    public async Task ErasureRemovesPersonalDataAndTheLimitAndReplayProtectionStillHold()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        using var client = app.Client();
        var firstJti = "jti-ophelia-" + Guid.NewGuid().ToString("N");
        var first = PersonalToken(campaign, "ophelia", firstJti);
        var accepted = await Participate(client, campaign, first);
        accepted.Status.ShouldBe(HttpStatusCode.Created, accepted.Body);
        var refusedToken = PersonalToken(campaign, "ophelia", "jti-refused-" + Guid.NewGuid().ToString("N"));
        var blocked = TestTokens.Claims("ophelia", campaign, jti: "jti-blocked-" + Guid.NewGuid().ToString("N"));
        blocked["limit"] = new { canPlay = false };
        (await Participate(client, campaign, TestTokens.Hs256(TestTokens.Secret, blocked))).ShouldBeProblem(HttpStatusCode.Forbidden, "participant_not_allowed");
        var streamKey = $"participation:{campaign}:ophelia";
        (await RawEventsAsync(streamKey)).ShouldContain(Email);
        (await RawSnapshotAsync(streamKey)).ShouldContain(firstJti);

        using var admin = app.AdminClient();
        var erased = await admin.DeleteAsync($"/v1/campaigns/{campaign}/participants/ophelia", Ct);
        erased.StatusCode.ShouldBe(HttpStatusCode.NoContent, await erased.Content.ReadAsStringAsync(Ct));

        var raw = await RawEventsAsync(streamKey);
        foreach (var personal in new[] { Email, "Ophelia", "Elsinore", "newsletter", Label, firstJti, "jti-blocked" })
        {
            raw.ShouldNotContain(personal, Case.Sensitive, raw);
        }

        raw.ShouldContain("erased:");
        var snapshot = await RawSnapshotAsync(streamKey);
        foreach (var personal in new[] { Email, "Ophelia", "Elsinore", "newsletter", Label, firstJti, "jti-blocked" })
        {
            snapshot.ShouldNotContain(personal, Case.Sensitive, snapshot);
        }

        snapshot.ShouldContain("erased:");

        var history = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}/participants/ophelia", Ct));
        history.Json.GetProperty("accepted").GetInt32().ShouldBe(1);
        history.Json.GetProperty("remaining").GetInt32().ShouldBe(1);
        history.Json.GetProperty("participations")[0].GetProperty("jti").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        history.Json.GetProperty("erasedAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.String);
        history.Body.ShouldNotContain(firstJti);

        // The erased token is still the same participation; the count still limits.
        var replay = (await Participate(client, campaign, first)).ShouldBeProblem(HttpStatusCode.Conflict, "token_replayed");
        replay.Json.GetProperty("participationId").GetString().ShouldBe(accepted.Json.GetProperty("participationId").GetString());
        (await Participate(client, campaign, refusedToken)).Json.GetProperty("number").GetInt32().ShouldBe(2);
        (await Participate(client, campaign, PersonalToken(campaign, "ophelia", TestTokens.NewJti())))
            .ShouldBeProblem(HttpStatusCode.Forbidden, "participation_limit_reached");

        // The flat rows of the report lose the token ids once the daemon has caught up.
        await app.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));
        var rows = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}/participations", Ct));
        rows.Body.ShouldNotContain(firstJti);
        rows.Body.ShouldNotContain("jti-blocked");
    }

    [Fact]
    public async Task ErasingIsIdempotentAndAnUnknownParticipantIsNothingToErase()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 3);
        using var client = app.Client();
        (await Participate(client, campaign, PersonalToken(campaign, "pat", TestTokens.NewJti()))).Status.ShouldBe(HttpStatusCode.Created);
        using var admin = app.AdminClient();

        (await admin.DeleteAsync($"/v1/campaigns/{campaign}/participants/pat", Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await admin.DeleteAsync($"/v1/campaigns/{campaign}/participants/pat", Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await admin.DeleteAsync($"/v1/campaigns/{campaign}/participants/nobody", Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await using var session = app.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync($"participation:{campaign}:nobody", Ct)).ShouldBeNull();
        var events = await session.Events.FetchStreamAsync($"participation:{campaign}:pat", token: Ct);
        events.Select(e => e.Data.GetType().Name).ShouldBe(["ParticipationAccepted", "ParticipantDataErased", "ParticipantDataErased"]);
        var erasure = events[1].Data.ShouldBeOfType<Domain.Participations.ParticipantDataErased>();
        erasure.MaskedEvents.ShouldBe(1);
        erasure.By.ShouldBe("admin");

        // After erasure the participant may come back, with new data of its own.
        (await Participate(client, campaign, PersonalToken(campaign, "pat", TestTokens.NewJti()))).Json.GetProperty("number").GetInt32().ShouldBe(2);
    }

    [Fact]
    public async Task ErasureNeedsAKeyOfTheCampaignsAccountAndReadsTheSubFromTheRawTarget()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 3);
        const string sub = "a/b:c%2Fd é";
        using var client = app.KestrelClient();
        (await Participate(client, campaign, PersonalToken(campaign, sub, TestTokens.NewJti()))).Status.ShouldBe(HttpStatusCode.Created);
        (await Participate(client, campaign, PersonalToken(campaign, "a", TestTokens.NewJti()))).Status.ShouldBe(HttpStatusCode.Created);
        var url = $"/v1/campaigns/{campaign}/participants/{Uri.EscapeDataString(sub)}";

        (await ApiAnswer.From(await client.DeleteAsync(url, Ct))).ShouldBeProblem(HttpStatusCode.Unauthorized, "api_key_missing");

        // Another account's key: not found, as if the campaign did not exist.
        var otherAccount = await _given.HmacAccountAsync();
        using (var admin = app.AdminClient())
        {
            var key = await (await admin.PostAsync($"/v1/accounts/{otherAccount}/api-keys", null, Ct)).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Ct);
            using var stranger = app.KestrelClient();
            stranger.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.GetProperty("key").GetString());
            (await ApiAnswer.From(await stranger.DeleteAsync(url, Ct))).ShouldBeProblem(HttpStatusCode.NotFound, "campaign_not_found");
        }

        using var kestrelAdmin = app.AdminClient(kestrel: true);
        (await kestrelAdmin.DeleteAsync(url, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await using var session = app.Store.QuerySession();
        (await session.Events.FetchStreamAsync($"participation:{campaign}:{sub}", token: Ct)).Count.ShouldBe(2);
        (await session.Events.FetchStreamAsync($"participation:{campaign}:a", token: Ct)).Count.ShouldBe(1);
    }
}

using System.Net;
using System.Net.Http.Json;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.CampaignRules;

/// <summary>Schedules, time zones and limits in <c>PUT /v1/campaigns/{campaignId}</c>.</summary>
public sealed class CampaignSettingsTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryRuleIsSavedAndReadBack()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new
        {
            startsAt = "2026-12-01T00:00:00+01:00",
            endsAt = "2026-12-24T23:59:59.5Z",
            timeZone = "Europe/Paris",
            limits = new { perParticipant = 10, perParticipantPerDay = 2, cooldownSeconds = 600, maxParticipations = 5000 },
        });
        using var admin = app.AdminClient();

        var read = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}", Ct));

        read.Status.ShouldBe(HttpStatusCode.OK);
        read.Json.GetProperty("startsAt").GetDateTimeOffset().ShouldBe(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero));
        read.Json.GetProperty("endsAt").GetDateTimeOffset().ShouldBe(new DateTimeOffset(2026, 12, 24, 23, 59, 59, 500, TimeSpan.Zero));
        read.Json.GetProperty("timeZone").GetString().ShouldBe("Europe/Paris");
        var limits = read.Json.GetProperty("limits");
        limits.GetProperty("perParticipant").GetInt32().ShouldBe(10);
        limits.GetProperty("perParticipantPerDay").GetInt32().ShouldBe(2);
        limits.GetProperty("cooldownSeconds").GetInt32().ShouldBe(600);
        limits.GetProperty("maxParticipations").GetInt32().ShouldBe(5000);
    }

    [Fact]
    public async Task InvalidRulesListEachInvalidField()
    {
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();

        var answer = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/campaigns/{Given.NewId("cmp")}", new
        {
            accountId = account,
            name = "Bad rules",
            startsAt = "2026-12-01T00:00:00",
            endsAt = "yesterday",
            timeZone = "Romance Standard Time",
            limits = new { perParticipant = 1, perParticipantPerDay = 0, cooldownSeconds = -1, maxParticipations = 0 },
        }, Ct));

        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        var errors = answer.Json.GetProperty("errors");
        foreach (var field in new[] { "startsAt", "endsAt", "timeZone", "limits.perParticipantPerDay", "limits.cooldownSeconds", "limits.maxParticipations" })
        {
            errors.TryGetProperty(field, out _).ShouldBeTrue($"{field}: {answer.Body}");
        }

        errors.TryGetProperty("limits.perParticipant", out _).ShouldBeFalse(answer.Body);
    }

    [Fact]
    public async Task TheEndMustComeAfterTheStart()
    {
        var account = await _given.HmacAccountAsync();
        using var admin = app.AdminClient();

        var answer = await ApiAnswer.From(await admin.PutAsJsonAsync($"/v1/campaigns/{Given.NewId("cmp")}", new
        {
            accountId = account,
            name = "Backwards",
            startsAt = "2026-12-01T00:00:00+01:00",
            endsAt = "2026-11-30T23:00:00Z",
        }, Ct));

        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "request_invalid");
        answer.Json.GetProperty("errors").GetProperty("endsAt")[0].GetString().ShouldBe("Must be later than startsAt.");
    }

    [Fact]
    public async Task ACooldownOfZeroMeansNone()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignWithAsync(account, new { limits = new { perParticipant = 3, cooldownSeconds = 0 } });
        using var admin = app.AdminClient();

        var read = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}", Ct));

        read.Json.GetProperty("limits").GetProperty("cooldownSeconds").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }
}

using System.Net;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Participations;

/// <summary>
/// Invariant 4: any sub maps to exactly one stream, and the history route finds it again. Over real Kestrel: the raw
/// request target is what tells <c>a%2Fb</c> from <c>a/b</c>.
/// </summary>
public sealed class ParticipantIdentityTests(AppFixture app)
{
    private readonly Given _given = new(app);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Subs => new()
    {
        "with/slash",
        "with:colon",
        "a%2Fb",
        "?query#fragment &amp",
        "émile ünïcode 日本 🎉",
        new string('x', 256),
        string.Concat(Enumerable.Repeat("é", 128)),
    };

    [Theory]
    [MemberData(nameof(Subs))]
    public async Task AnySubTakesPartAndItsHistoryIsFoundAgain(string sub)
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 2);
        using var client = app.KestrelClient();
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(sub, campaign, jti: TestTokens.NewJti()));

        var answer = await ApiAnswer.From(await client.PostAsync(
            $"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct));
        answer.Status.ShouldBe(HttpStatusCode.Created, answer.Body);
        answer.Json.GetProperty("sub").GetString().ShouldBe(sub);

        using var admin = app.AdminClient(kestrel: true);
        var history = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}/participants/{Uri.EscapeDataString(sub)}", Ct));
        history.Status.ShouldBe(HttpStatusCode.OK, history.Body);
        history.Json.GetProperty("sub").GetString().ShouldBe(sub);
        history.Json.GetProperty("accepted").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task SubsThatDifferOnlyByEncodingAreDifferentParticipants()
    {
        var account = await _given.HmacAccountAsync();
        var campaign = await _given.CampaignAsync(account, perParticipant: 1);
        using var client = app.KestrelClient();
        foreach (var sub in new[] { "a/b", "a%2Fb", "a:b" })
        {
            var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims(sub, campaign, jti: TestTokens.NewJti()));
            (await client.PostAsync($"/v1/campaigns/{campaign}/participations", new FormUrlEncodedContent([new("qual_token", token)]), Ct))
                .StatusCode.ShouldBe(HttpStatusCode.Created);
        }

        using var admin = app.AdminClient(kestrel: true);
        // "a/b" sent unencoded, encoded once, and "a%2Fb" encoded once: each finds its own history.
        foreach (var (path, expected) in new[] { ("a/b", "a/b"), ("a%2Fb", "a/b"), ("a%252Fb", "a%2Fb"), ("a%3Ab", "a:b") })
        {
            var history = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{campaign}/participants/{path}", Ct));
            history.Status.ShouldBe(HttpStatusCode.OK, history.Body);
            history.Json.GetProperty("sub").GetString().ShouldBe(expected);
            history.Json.GetProperty("accepted").GetInt32().ShouldBe(1);
        }
    }
}

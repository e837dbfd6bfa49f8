using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Security;

/// <summary>
/// The hostile token corpus (<see cref="HostileTokenCorpus"/>) over HTTP, case by case: each answer is a 4xx
/// problem+json with the expected code, echoes nothing of the token, logs nothing of it, and changes no state.
/// </summary>
public sealed class HostileTokenTests(AppFixture app, HostileWorld world) : IClassFixture<HostileWorld>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Cases
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var hostile in HostileTokenCorpus.All)
            {
                data.Add(hostile.Name);
            }

            return data;
        }
    }

    [Fact]
    public void TheCorpusHasAtLeastSixtyDistinctCasesEachWithASourceAReasonAndAContractCode()
    {
        var corpus = HostileTokenCorpus.All;
        corpus.Count.ShouldBeGreaterThanOrEqualTo(60);
        corpus.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count().ShouldBe(corpus.Count);
        string[] contract =
        [
            "token_ambiguous", "request_invalid", "token_missing", "token_malformed", "token_too_large", "token_invalid_signature",
            "token_algorithm_not_allowed", "key_not_found", "token_expired", "token_not_yet_valid", "token_too_old",
            "token_issuer_invalid", "token_audience_invalid", "token_missing_claim", "token_claim_invalid",
            "token_decryption_failed", "token_campaign_mismatch",
        ];
        foreach (var hostile in corpus)
        {
            hostile.Source.ShouldNotBeNullOrWhiteSpace(hostile.Name);
            hostile.Why.ShouldNotBeNullOrWhiteSpace(hostile.Name);
            contract.ShouldContain(hostile.Code, hostile.Name);
            ((int)hostile.Status).ShouldBeInRange(400, 499, hostile.Name);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EachHostileTokenIsRefusedWithItsCodeEchoesNothingLogsNothingAndChangesNothing(string name)
    {
        var hostile = HostileTokenCorpus.All.Single(c => c.Name == name);
        var attack = hostile.Build(world);
        var because = $"{hostile.Name} ({hostile.Source}): {hostile.Why}";
        var forbidden = Forbidden(attack);
        var stateBefore = await world.StateAsync(Ct);
        var partnerFetchesBefore = world.PartnerKeys.Requests;
        var logsBefore = app.Logs.Lines.Count;

        using var client = app.Client();
        using var request = ToRequest(attack);
        var answer = await ApiAnswer.From(await client.SendAsync(request, Ct));

        // The expected refusal, as problem+json.
        answer.Status.ShouldBe(hostile.Status, because + "\n" + answer.Body);
        answer.ContentType.ShouldBe("application/problem+json", because);
        answer.Code.ShouldBe(hostile.Code, because + "\n" + answer.Body);

        // Nothing echoed: neither in the body nor in a header.
        var headers = answer.Response.Headers.ToString() + answer.Response.Content.Headers;
        foreach (var text in forbidden)
        {
            answer.Body.ShouldNotContain(text, Case.Sensitive, because);
            headers.ShouldNotContain(text, Case.Sensitive, because);
        }

        // Nothing of the token in the logs, at any level (the host logs down to Debug).
        var leaked = app.Logs.Lines.Skip(logsBefore).Where(line => forbidden.Any(text => line.Contains(text, StringComparison.Ordinal))).ToList();
        leaked.ShouldBeEmpty(because);

        // No key URL of the token was fetched: the attacker's server (which would serve a key verifying the attack)
        // got no request, and the partner's configured JWKS was fetched at most once for this token (a refetch for an
        // unknown kid), plus once more if its cached keys came due meanwhile: the routine refresh the token's arrival
        // starts does not hold back the forced one (a partner rotating its keys is not kept waiting by a refresh).
        // That many tokens cost at most one forced refetch per cooldown is JwksTests' burst test.
        world.AttackerKeys.Requests.ShouldBe(0, because);
        (world.PartnerKeys.Requests - partnerFetchesBefore).ShouldBeLessThanOrEqualTo(2, because);

        // No state change, read from the database: nothing on the participant streams of the world's campaigns, and no
        // event, stream, document or row anywhere that names the world's campaigns, accounts or the canary changed.
        var stateAfter = await world.StateAsync(Ct);
        stateAfter.ShouldBe(stateBefore, because);
        System.Text.Json.JsonDocument.Parse(stateAfter).RootElement.GetProperty("participantEvents").GetInt64().ShouldBe(0, because);

        using var admin = app.AdminClient();
        var history = await ApiAnswer.From(await admin.GetAsync($"/v1/campaigns/{attack.Campaign}/participants/{world.Sub}", Ct));
        history.Json.GetProperty("accepted").GetInt32().ShouldBe(0, because);
        history.Json.GetProperty("rejections").GetArrayLength().ShouldBe(0, because);
    }

    /// <summary>What must never come back nor be logged: the token, each part of it, the canary sub and the case's own canaries.</summary>
    private List<string> Forbidden(Attack attack)
    {
        var texts = new List<string> { world.Sub };
        foreach (var token in new[] { attack.Token, attack.Second })
        {
            if (string.IsNullOrEmpty(token))
            {
                continue;
            }

            texts.Add(token);
            texts.AddRange(token.Split('.'));
        }

        texts.AddRange(attack.Canaries ?? []);

        // Short or single-character strings (an empty part, "AAAA", blanks) say nothing about a leak.
        return [.. texts.Where(t => t.Length >= 8 && t.Distinct().Count() > 1).Distinct(StringComparer.Ordinal)];
    }

    private static HttpRequestMessage ToRequest(Attack attack)
    {
        var path = $"/v1/campaigns/{Uri.EscapeDataString(attack.Campaign)}/participations";
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        switch (attack.Via)
        {
            case Via.Form:
                request.Content = new FormUrlEncodedContent([new("qual_token", attack.Token)]);
                break;
            case Via.Query:
                request.RequestUri = new Uri(path + "?qual_token=" + Uri.EscapeDataString(attack.Token), UriKind.Relative);
                break;
            case Via.Bearer:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", attack.Token);
                break;
            case Via.Basic:
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(attack.Token)));
                break;
            case Via.Json:
                request.Content = JsonContent.Create(new { token = attack.Token });
                break;
            case Via.RawForm:
                request.Content = new ByteArrayContent(attack.Raw!);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
                break;
            case Via.RawJson:
                request.Content = new ByteArrayContent(attack.Raw!);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                break;
            case Via.QueryAndBearer:
                request.RequestUri = new Uri(path + "?qual_token=" + Uri.EscapeDataString(attack.Token), UriKind.Relative);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", attack.Second);
                break;
            case Via.QueryTwice:
                request.RequestUri = new Uri(
                    path + "?qual_token=" + Uri.EscapeDataString(attack.Token) + "&qual_token=" + Uri.EscapeDataString(attack.Second!),
                    UriKind.Relative);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(attack), attack.Via, "Unknown transport.");
        }

        return request;
    }
}

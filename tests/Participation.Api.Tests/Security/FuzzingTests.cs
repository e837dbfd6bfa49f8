using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Security;

/// <summary>
/// Bounded, seeded fuzzing (2,800 requests a run in CI) of the participation and eligibility endpoints with random and
/// mutated tokens and random bodies, and of the management endpoints with random and mutated JSON bodies, paths and
/// queries: never a 5xx, never an error or unhandled exception logged for these requests, every 4xx a problem+json
/// with a code, and no forged token ever accepted. Each test works on its own account and campaign.
/// <para>
/// The seed is <c>PARTICIPATION_FUZZ_SEED</c> when set, otherwise a new one each run (so runs explore different
/// inputs); every failure message and the diagnostic output print it, and the same seed rebuilds the same inputs.
/// <c>PARTICIPATION_FUZZ_SCALE</c> multiplies the counts for an opt-in soak run.
/// </para>
/// </summary>
public sealed class FuzzingTests(AppFixture app)
{
    public const string SeedVariable = "PARTICIPATION_FUZZ_SEED";

    /// <summary>A soak run multiplies every count (<c>PARTICIPATION_FUZZ_SCALE=20</c>: 56,000 requests); 1 in CI.</summary>
    public const string ScaleVariable = "PARTICIPATION_FUZZ_SCALE";

    public static readonly int Scale = int.TryParse(Environment.GetEnvironmentVariable(ScaleVariable), out var scale) && scale > 0 ? scale : 1;
    public static readonly int TokenCases = 1200 * Scale;
    public static readonly int BodyCases = 800 * Scale;
    public static readonly int RouteCases = 800 * Scale;

    /// <summary>The run's seed: each test derives its own from it.</summary>
    public static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), out var seed) ? seed : Random.Shared.Next();

    private const int TokenSeedOffset = 1;
    private const int BodySeedOffset = 2;
    private const int RouteSeedOffset = 100;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>How to rebuild exactly these inputs.</summary>
    private static string Reproduce(string test) =>
        $"fuzz seed {Seed}: reproduce with {SeedVariable}={Seed}{(Scale == 1 ? "" : $" {ScaleVariable}={Scale}")} dotnet test --project tests/Participation.Api.Tests -- --filter-method \"*FuzzingTests.{test}\"";

    private enum Transport
    {
        Form,
        Query,
        Bearer,
        Json,
        JsonWithCharset,
    }

    /// <summary>A fuzzed participation request; <paramref name="Signed"/> when the fuzzer signed it with the real key (it may be accepted).</summary>
    private sealed record TokenInput(int Index, string Kind, string Token, Transport Transport, bool Signed, string? Charset = null);

    private sealed record BodyInput(int Index, string Kind, string Path, byte[] Body, string? ContentType);

    private sealed record RouteInput(int Index, string Route, HttpMethod Method, string Path, byte[]? Body, string? ContentType, bool Admin, string? Accept = null);

    [Fact]
    public async Task RandomAndMutatedTokensNeverGetA5xxNorAForgedAcceptance()
    {
        var given = new Given(app);
        var account = await given.HmacAccountAsync();
        var campaign = await given.CampaignAsync(account, perParticipant: 1000);
        var inputs = TokenInputs(campaign, new Random(Seed + TokenSeedOffset));
        inputs.Count.ShouldBe(TokenCases);
        var repro = Reproduce(nameof(RandomAndMutatedTokensNeverGetA5xxNorAForgedAcceptance));

        var logsBefore = app.Logs.Lines.Count;
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        using var client = app.Client();
        await Parallel.ForEachAsync(inputs, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Ct }, async (input, ct) =>
        {
            using var request = ToRequest(campaign, input);
            var answer = await ApiAnswer.From(await client.SendAsync(request, ct));
            statuses.AddOrUpdate((int)answer.Status, 1, (_, n) => n + 1);
            var problem = Check(answer, allowSuccess: input.Signed);
            if (problem is not null)
            {
                failures.Enqueue($"#{input.Index} {input.Kind} via {input.Transport}{(input.Charset is null ? "" : " charset=" + input.Charset)}: {problem}\n  token: {Shorten(input.Token)}");
            }
        });

        TestContext.Current.SendDiagnosticMessage($"token fuzz ({repro}): {inputs.Count} requests, statuses {Statuses(statuses)}");
        failures.ShouldBeEmpty(repro + "\n" + string.Join("\n", failures.Take(10)));
        ErrorsLoggedSince(logsBefore, campaign, account).ShouldBeEmpty(repro);
        statuses.Keys.ShouldAllBe(status => status < 500, repro);
        statuses.Keys.ShouldContain(201, "the re-signed inputs include valid tokens: the fuzzer reaches the decision, not only the parser");
    }

    [Fact]
    public async Task RandomAndMutatedManagementBodiesNeverGetA5xx()
    {
        // Four lanes, each on its own account and campaign, run side by side; within a lane one request at a time
        // (concurrent writes of one account's audit stream would only test Marten's retries).
        const int Lanes = 4;
        var given = new Given(app);
        var lanes = new List<List<BodyInput>>();
        var ids = new List<string>();
        for (var lane = 0; lane < Lanes; lane++)
        {
            var account = await given.HmacAccountAsync();
            var campaign = await given.CampaignAsync(account);
            ids.AddRange([account, campaign]);
            lanes.Add(BodyInputs(account, campaign, new Random(Seed + BodySeedOffset + lane), BodyCases / Lanes));
        }

        var repro = Reproduce(nameof(RandomAndMutatedManagementBodiesNeverGetA5xx));

        lanes.Sum(l => l.Count).ShouldBe(BodyCases);
        var logsBefore = app.Logs.Lines.Count;
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        using var admin = app.AdminClient();
        await Task.WhenAll(lanes.Select(async inputs =>
        {
            foreach (var input in inputs)
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, input.Path) { Content = new ByteArrayContent(input.Body) };
                if (input.ContentType is not null)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", input.ContentType);
                }

                var answer = await ApiAnswer.From(await admin.SendAsync(request, Ct));
                statuses.AddOrUpdate((int)answer.Status, 1, (_, n) => n + 1);
                if (Check(answer, allowSuccess: true) is { } problem)
                {
                    failures.Enqueue($"#{input.Index} {input.Kind} PUT {input.Path} ({input.ContentType}): {problem}\n  body: {Shorten(Encoding.UTF8.GetString(input.Body))}");
                }
            }
        }));

        TestContext.Current.SendDiagnosticMessage($"body fuzz ({repro}): {BodyCases} requests, statuses {Statuses(statuses)}");
        failures.ShouldBeEmpty(repro + "\n" + string.Join("\n", failures.Take(10)));
        ErrorsLoggedSince(logsBefore, [.. ids]).ShouldBeEmpty(repro);
    }

    [Fact]
    public async Task RandomBodiesPathsAndQueriesOnEveryOtherRouteNeverGetA5xx()
    {
        // The participation and eligibility endpoints with random bodies of every content type, and the management
        // routes not covered above (keys, encryption keys, participants, reports, lists, audit) with random bodies,
        // path values and query strings. Four lanes, each on its own account and campaign.
        const int Lanes = 4;
        var given = new Given(app);
        var lanes = new List<List<RouteInput>>();
        var ids = new List<string>();
        for (var lane = 0; lane < Lanes; lane++)
        {
            var account = await given.HmacAccountAsync();
            var campaign = await given.CampaignAsync(account, perParticipant: 1000);
            ids.AddRange([account, campaign]);
            lanes.Add(RouteInputs(account, campaign, new Random(Seed + RouteSeedOffset + lane), RouteCases / Lanes));
        }

        lanes.Sum(l => l.Count).ShouldBe(RouteCases);
        var repro = Reproduce(nameof(RandomBodiesPathsAndQueriesOnEveryOtherRouteNeverGetA5xx));
        var logsBefore = app.Logs.Lines.Count;
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var routes = new ConcurrentDictionary<string, int>();
        await Task.WhenAll(lanes.Select(async inputs =>
        {
            using var client = app.Client();
            foreach (var input in inputs)
            {
                using var request = new HttpRequestMessage(input.Method, input.Path);
                if (input.Body is not null)
                {
                    request.Content = new ByteArrayContent(input.Body);
                    if (input.ContentType is not null)
                    {
                        request.Content.Headers.TryAddWithoutValidation("Content-Type", input.ContentType);
                    }
                }

                if (input.Admin)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.AdminKey);
                }

                if (input.Accept is not null)
                {
                    request.Headers.TryAddWithoutValidation("Accept", input.Accept);
                }

                var answer = await ApiAnswer.From(await client.SendAsync(request, Ct));
                statuses.AddOrUpdate((int)answer.Status, 1, (_, n) => n + 1);
                routes.AddOrUpdate(input.Route, 1, (_, n) => n + 1);
                // 2xx answers are fine here (a random body may be valid; a CSV export is not problem+json).
                if (Check(answer, allowSuccess: true) is { } problem)
                {
                    failures.Enqueue($"#{input.Index} {input.Route} {input.Method} {Shorten(input.Path)} ({input.ContentType}): {problem}\n  body: {Shorten(input.Body is null ? "" : Encoding.UTF8.GetString(input.Body))}");
                }
            }
        }));

        TestContext.Current.SendDiagnosticMessage($"route fuzz ({repro}): {RouteCases} requests over {routes.Count} routes, statuses {Statuses(statuses)}");
        failures.ShouldBeEmpty(repro + "\n" + string.Join("\n", failures.Take(10)));
        ErrorsLoggedSince(logsBefore, [.. ids]).ShouldBeEmpty(repro);
        routes.Count.ShouldBe(RouteKinds, "every route kind was fuzzed");
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("")]
    [InlineData("x-no-such-charset")]
    public async Task AJsonBodyInACharsetNoDecoderKnowsIsRequestInvalidNotA500(string charset)
    {
        // Found by the fuzzing above: ReadFromJsonAsync throws InvalidOperationException for such a charset.
        var given = new Given(app);
        var account = await given.HmacAccountAsync();
        var campaign = await given.CampaignAsync(account);
        using var client = app.AdminClient();
        foreach (var (method, path, json) in new[]
        {
            (HttpMethod.Post, $"/v1/campaigns/{campaign}/participations", JsonSerializer.Serialize(new { token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("charset", campaign)) })),
            (HttpMethod.Put, $"/v1/accounts/{account}", """{"name":"Renamed"}"""),
            (HttpMethod.Put, $"/v1/campaigns/{campaign}", $$"""{"accountId":"{{account}}","name":"Renamed"}"""),
        })
        {
            using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json)) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", $"application/json; charset={charset}");
            (await ApiAnswer.From(await client.SendAsync(request, Ct))).ShouldBeProblem(System.Net.HttpStatusCode.BadRequest, "request_invalid");
        }
    }

    [Fact]
    public async Task BodiesTheFuzzingFoundAre400sNot500s()
    {
        var given = new Given(app);
        var account = await given.HmacAccountAsync();
        var campaign = await given.CampaignAsync(account);
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("found", campaign, jti: TestTokens.NewJti()));
        using var admin = app.AdminClient();
        using var client = app.Client();

        // A multipart form whose section is cut before its closing boundary: the multipart reader threw IOException.
        foreach (var route in new[] { "participations", "eligibility" })
        {
            foreach (var body in new[] { "--b\r\nContent-Disposition: form-data; name=\"qual_token\"\r\n\r\n" + token, "--b2\uFFFF9871438--", "--b\r\nContent-Disp" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/campaigns/{campaign}/{route}") { Content = new StringContent(body) };
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");
                (await ApiAnswer.From(await client.SendAsync(request, Ct))).ShouldBeProblem(System.Net.HttpStatusCode.BadRequest, "request_invalid");
            }
        }

        // A null where a key object belongs: the settings validator dereferenced it.
        foreach (var json in new[]
        {
            """{"method":"publicKey","algorithms":["RS256"],"publicKeys":[null]}""",
            $$"""{"method":"publicKey","algorithms":["RS256"],"publicKeys":[{"kid":"a","pem":{{JsonSerializer.Serialize(RsaPem)}}},null]}""",
            """{"method":"hmac","secrets":[null]}""",
            $$"""{"method":"hmac","secrets":[{"kid":"a","secret":"{{TestTokens.Secret}}"},null]}""",
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/accounts/{account}/secure-token") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            (await ApiAnswer.From(await admin.SendAsync(request, Ct))).ShouldBeProblem(System.Net.HttpStatusCode.BadRequest, "request_invalid");
        }
    }

    [Fact]
    public async Task AnEcPublicKeyOnACurveTheSystemDoesNotKnowIsRequestInvalidNotA500()
    {
        // Found by the fuzzing above: a bit flipped in the curve OID of an EC public key (1.2.840.10045.3.1.7 became
        // 0.10.840.10045.3.1.7) made OpenSSL throw PlatformNotSupportedException while validating the settings.
        var der = Convert.FromBase64String(string.Concat(EcPem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal))));
        var curve = new byte[] { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
        var at = der.AsSpan().IndexOf(curve);
        at.ShouldBeGreaterThan(0);
        der[at + 2] = 0x0A;
        var pem = PemEncoding.WriteString("PUBLIC KEY", der);

        var account = await new Given(app).HmacAccountAsync();
        using var admin = app.AdminClient();
        var answer = await ApiAnswer.From(await admin.PutAsJsonAsync(
            $"/v1/accounts/{account}/secure-token",
            new { method = "publicKey", algorithms = new[] { "ES256" }, publicKeys = new[] { new { kid = "ec", pem } } },
            Ct));
        answer.ShouldBeProblem(System.Net.HttpStatusCode.BadRequest, "request_invalid");
        answer.Json.GetProperty("errors").EnumerateObject().ShouldContain(e => e.Name.StartsWith("publicKeys", StringComparison.Ordinal), answer.Body);
    }

    /// <summary>Null when the answer is acceptable: no 5xx; a 4xx is problem+json with a string code; 2xx only if allowed.</summary>
    private static string? Check(ApiAnswer answer, bool allowSuccess)
    {
        var status = (int)answer.Status;
        if (status >= 500)
        {
            return $"{status} {answer.Body}";
        }

        if (status is >= 200 and < 300)
        {
            return allowSuccess ? null : $"accepted a token the fuzzer did not sign: {status} {answer.Body}";
        }

        if (answer.ContentType != "application/problem+json")
        {
            return $"{status} with content type '{answer.ContentType}': {answer.Body}";
        }

        try
        {
            return answer.Json.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
                ? null
                : $"{status} problem without a code: {answer.Body}";
        }
        catch (JsonException)
        {
            return $"{status} problem that is not JSON: {answer.Body}";
        }
    }

    /// <summary>
    /// Log entries since <paramref name="index"/> that say something went wrong while serving this test's requests
    /// (their request path names one of <paramref name="ids"/>): any entry at Error or Critical, whatever its category
    /// (ASP.NET Core's unhandled-exception line, ExceptionProblems' "answered 500", Marten, Wolverine...), and any entry
    /// that mentions an unhandled exception. Other tests' requests on the shared host are told apart by their paths.
    /// </summary>
    private List<string> ErrorsLoggedSince(int index, params string[] ids) =>
    [
        .. app.Logs.Entries.Skip(index)
            .Where(e => e.RequestPath is { } path && ids.Any(id => path.Contains(id, StringComparison.Ordinal)))
            .Where(e => e.Level >= LogLevel.Error || e.Line.Contains("unhandled exception", StringComparison.OrdinalIgnoreCase))
            .Where(e => !IsRetriedWriteRace(e))
            .Select(e => Shorten(e.Line)),
    ];

    /// <summary>
    /// Marten logs, at Error, each command that failed, including two first participations of one participant racing
    /// to create its stream (MT003 version mismatch, stream id collision, a unique violation on a stream or event key):
    /// Wolverine's policy decides such a request again on a fresh read (ParticipationHosting.IsWriteRace), so it is
    /// neither unhandled nor visible to the client.
    /// </summary>
    private static bool IsRetriedWriteRace(LogEntry entry) =>
        entry.Category == "Marten.IDocumentStore"
        && (entry.Line.Contains("MT003: Stream version mismatch", StringComparison.Ordinal)
            || entry.Line.Contains("ExistingStreamIdCollisionException", StringComparison.Ordinal)
            || entry.Line.Contains("23505: duplicate key value violates unique constraint \"pkey_mt_streams_id\"", StringComparison.Ordinal)
            || entry.Line.Contains("23505: duplicate key value violates unique constraint \"pk_mt_events_stream_and_version\"", StringComparison.Ordinal));

    private static string Statuses(ConcurrentDictionary<int, int> statuses) =>
        string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"));

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"… ({text.Length} chars)";

    // ---- tokens ------------------------------------------------------------------------------------------------------

    private static List<TokenInput> TokenInputs(string campaign, Random random)
    {
        var seeds = SeedPayloads(campaign, random).Select(p => TestTokens.Hs256(TestTokens.Secret, p)).ToList();
        var originals = new HashSet<string>(seeds, StringComparer.Ordinal);
        var inputs = new List<TokenInput>(TokenCases);
        var index = 0;
        while (inputs.Count < TokenCases)
        {
            var seed = seeds[random.Next(seeds.Count)];
            var other = seeds[random.Next(seeds.Count)];
            var (kind, token, signed) = (index++ % 10) switch
            {
                0 => ("flip a bit of a character", FlipCharacterBit(seed, random), false),
                1 => ("truncate", seed[..random.Next(seed.Length)], false),
                2 => ("splice two tokens", seed[..random.Next(seed.Length)] + other[random.Next(other.Length)..], false),
                3 => ("mix parts", MixParts(seeds, random), false),
                4 => ("flip a bit of a decoded part", FlipDecodedBit(seed, random), false),
                5 => ("re-signed mutated payload text", TestTokens.Hs256(TestTokens.Secret, MutateText(TestTokens.DecodePayload(seed), random)), true),
                6 => ("re-signed random claims", TestTokens.Hs256(TestTokens.Secret, RandomClaims(campaign, random)), true),
                7 => ("random characters", RandomText(random, random.Next(0, 400)), false),
                8 => ("re-signed random header", TestTokens.SignRaw("HS256", TestTokens.HmacKey(TestTokens.Secret), RandomHeader(random), TestTokens.DecodePayload(seed)), true),
                _ => ("repeat a slice", RepeatSlice(seed, random), false),
            };

            if (!signed && originals.Contains(token))
            {
                continue;
            }

            var transport = (Transport)random.Next(5);
            if (transport == Transport.Bearer && !IsHeaderSafe(token))
            {
                transport = Transport.Form;
            }

            var charset = transport == Transport.JsonWithCharset ? Pick(random, "utf-16", "bogus-charset", "iso-8859-1", "UTF-8", "utf-32", "") : null;
            inputs.Add(new TokenInput(inputs.Count, kind, token, transport, signed, charset));
        }

        return inputs;
    }

    /// <summary>A jti drawn from the seeded generator (a Guid would make a rerun with the same seed differ).</summary>
    private static string Jti(Random random) => Convert.ToHexString(RandomBytes(random, 16));

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static List<object> SeedPayloads(string campaign, Random random)
    {
        var now = DateTimeOffset.UtcNow;
        var full = TestTokens.Claims("fuzz-alice", campaign, jti: Jti(random), iat: now, exp: now.AddHours(1));
        full["limit"] = new { nb = 3, canPlay = true };
        full["gift"] = new { label = "Voucher", cw = true };
        full["custom"] = new { a = new object[] { 1, new { b = "c" } } };
        full["form"] = new { email = "alice@example.com" };
        full["optin"] = new { news = true };
        return
        [
            TestTokens.Claims("fuzz-bob", campaign, jti: Jti(random)),
            TestTokens.Claims("fuzz-carol", campaign),
            full,
            TestTokens.Claims("fuzz-dave/ü:🎉", campaign, jti: Jti(random), nbf: now.AddMinutes(-1)),
        ];
    }

    private static string FlipCharacterBit(string token, Random random)
    {
        var chars = token.ToCharArray();
        var at = random.Next(chars.Length);
        chars[at] = (char)(chars[at] ^ (1 << random.Next(8)));
        return new string(chars);
    }

    private static string MixParts(List<string> seeds, Random random)
    {
        var parts = Enumerable.Range(0, 3).Select(i => seeds[random.Next(seeds.Count)].Split('.')[i]);
        return string.Join('.', parts);
    }

    private static string FlipDecodedBit(string token, Random random)
    {
        var parts = token.Split('.');
        var which = random.Next(3);
        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(parts[which]);
        if (bytes.Length > 0)
        {
            bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
        }

        parts[which] = TestTokens.Base64Url(bytes);
        return string.Join('.', parts);
    }

    private static string RepeatSlice(string token, Random random)
    {
        var start = random.Next(token.Length);
        var slice = token.Substring(start, Math.Min(token.Length - start, random.Next(1, 40)));
        return token.Insert(random.Next(token.Length), slice);
    }

    private static bool IsHeaderSafe(string token) => token.Length > 0 && token.All(c => c is > ' ' and < '\u007f');

    private static HttpRequestMessage ToRequest(string campaign, TokenInput input)
    {
        var path = $"/v1/campaigns/{campaign}/participations";
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        switch (input.Transport)
        {
            case Transport.Form:
                request.Content = new FormUrlEncodedContent([new("qual_token", input.Token)]);
                break;
            case Transport.Query:
                request.RequestUri = new Uri(path + "?qual_token=" + Uri.EscapeDataString(input.Token), UriKind.Relative);
                break;
            case Transport.Bearer:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", input.Token);
                break;
            case Transport.Json:
                request.Content = JsonContent.Create(new { token = input.Token });
                break;
            default:
                request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new { token = input.Token }));
                request.Content.Headers.TryAddWithoutValidation("Content-Type", $"application/json; charset={input.Charset}");
                break;
        }

        return request;
    }

    // ---- management bodies ---------------------------------------------------------------------------------------------

    private static List<BodyInput> BodyInputs(string account, string campaign, Random random, int count)
    {
        var targets = new (string Path, string Body)[]
        {
            ($"/v1/accounts/{account}", """{"name":"Fuzz partner"}"""),
            ($"/v1/accounts/{account}/secure-token",
                $$"""{"method":"hmac","algorithms":["HS256","HS512"],"secret":"{{TestTokens.Secret}}","issuer":"https://partner.example","audience":"participation","clockSkewSeconds":60,"requireExpiration":false,"maxTokenAgeSeconds":300,"encryption":"none"}"""),
            ($"/v1/accounts/{account}/secure-token",
                JsonSerializer.Serialize(new { method = "publicKey", algorithms = new[] { "RS256", "ES256" }, publicKeys = new[] { new { kid = "rsa", pem = RsaPem }, new { kid = "ec", pem = EcPem } } })),
            ($"/v1/campaigns/{campaign}",
                $$"""{"accountId":"{{account}}","name":"Fuzz campaign","limits":{"perParticipant":3},"tokenLimit":"capped","maxTokenLimit":5}"""),
        };

        var inputs = new List<BodyInput>(count);
        for (var i = 0; i < count; i++)
        {
            var (path, body) = targets[random.Next(targets.Length)];
            var (kind, bytes) = (i % 8) switch
            {
                0 => ("replace a value", Utf8(ReplaceValue(body, random))),
                1 => ("remove a member", Utf8(RemoveMember(body, random))),
                2 => ("add a member", Utf8(AddMember(body, random))),
                3 => ("duplicate a member", Utf8(DuplicateMember(body, random))),
                4 => ("flip bits", FlipBits(Utf8(body), random)),
                5 => ("truncate", Utf8(body)[..random.Next(body.Length)]),
                6 => ("mutate the text", Utf8(MutateText(body, random))),
                _ => ("random JSON", Utf8(Text(RandomJson(random, depth: 0)))),
            };
            var contentType = random.Next(10) == 0
                ? Pick(random, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16", "application/json; charset=bogus", "application/xml", null)
                : "application/json";
            inputs.Add(new BodyInput(i, kind, path, bytes, contentType));
        }

        return inputs;
    }

    // ---- every other route ------------------------------------------------------------------------------------------

    private const int RouteKinds = 13;

    private static List<RouteInput> RouteInputs(string account, string campaign, Random random, int count)
    {
        var inputs = new List<RouteInput>(count);
        var token = TestTokens.Hs256(TestTokens.Secret, TestTokens.Claims("fuzz-route", campaign, jti: Jti(random)));
        for (var i = 0; i < count; i++)
        {
            var c = Uri.EscapeDataString(campaign);
            var a = Uri.EscapeDataString(account);
            inputs.Add((i % RouteKinds) switch
            {
                0 => Body(i, "participate", HttpMethod.Post, $"/v1/campaigns/{c}/participations", admin: false),
                1 => Body(i, "eligibility", HttpMethod.Post, $"/v1/campaigns/{c}/eligibility", admin: false),
                2 => Json(i, "create encryption key", HttpMethod.Post, $"/v1/accounts/{a}/encryption-keys", """{"alg":"RSA-OAEP-256"}"""),
                3 => Body(i, "create api key", HttpMethod.Post, $"/v1/accounts/{a}/api-keys", admin: true),
                4 => new RouteInput(i, "participant", HttpMethod.Get, $"/v1/campaigns/{c}/participants/{PathText(random)}", null, null, Admin: true),
                5 => new RouteInput(i, "erase participant", HttpMethod.Delete, $"/v1/campaigns/{c}/participants/{PathText(random)}", null, null, Admin: true),
                6 => new RouteInput(i, "list participations", HttpMethod.Get, $"/v1/campaigns/{c}/participations?{RandomQuery(random)}", null, null, Admin: true,
                    Accept: Pick(random, "application/json", "text/csv", "text/csv; q=0.1, */*", "*/*", "application/xml", "text/csv;charset=bogus", "")),
                7 => new RouteInput(i, "report", HttpMethod.Get, $"/v1/campaigns/{c}/report?{RandomQuery(random)}", null, null, Admin: true),
                8 => new RouteInput(i, "revoke api key", HttpMethod.Delete, $"/v1/accounts/{a}/api-keys/{PathText(random)}", null, null, Admin: true),
                9 => new RouteInput(i, "delete encryption key", HttpMethod.Delete, $"/v1/accounts/{a}/encryption-keys/{PathText(random)}", null, null, Admin: true),
                10 => new RouteInput(i, "audit", HttpMethod.Get, $"/v1/accounts/{a}/audit?{RandomQuery(random)}", null, null, Admin: true),
                11 => new RouteInput(i, "eligibility with a token and a random query", HttpMethod.Post,
                    $"/v1/campaigns/{c}/eligibility?{RandomQuery(random)}", Utf8(JsonSerializer.Serialize(new { token })), "application/json", Admin: false),
                _ => new RouteInput(i, "secure token settings", HttpMethod.Get, $"/v1/accounts/{a}/secure-token?{RandomQuery(random)}", null, null, Admin: true),
            });
        }

        return inputs;

        RouteInput Body(int index, string route, HttpMethod method, string path, bool admin)
        {
            var (body, contentType) = random.Next(8) switch
            {
                0 => (RandomBytes(random, random.Next(0, 2000)), Pick(random, "application/json", "application/x-www-form-urlencoded", "application/octet-stream", null)),
                1 => (Utf8(Text(RandomJson(random, depth: 0))), "application/json"),
                2 => (Utf8(MutateText(JsonSerializer.Serialize(new { token }), random)), Pick(random, "application/json", "application/json; charset=utf-8", "application/problem+json", "text/json")),
                3 => (Utf8(RandomForm(random, token)), "application/x-www-form-urlencoded"),
                4 => (Utf8(MutateText("qual_token=" + token, random)), Pick(random, "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-16", "application/x-www-form-urlencoded; charset=bogus")),
                5 => (Utf8(RandomMultipart(random, token, out var boundary)), random.Next(4) == 0 ? "multipart/form-data" : $"multipart/form-data; boundary={boundary}"),
                6 => (Utf8(MutateText(JsonSerializer.Serialize(new { token }), random)), Pick(random, "application/json; charset=utf-32", "application/json; charset=", "application/json; charset=\"utf-8\"", "text/plain", "application/xml")),
                _ => (Array.Empty<byte>(), Pick(random, "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", null)),
            };
            return new RouteInput(index, route, method, path, body, contentType, admin);
        }

        RouteInput Json(int index, string route, HttpMethod method, string path, string template)
        {
            var (_, bytes) = random.Next(6) switch
            {
                0 => ("replace a value", Utf8(ReplaceValue(template, random))),
                1 => ("add a member", Utf8(AddMember(template, random))),
                2 => ("duplicate a member", Utf8(DuplicateMember(template, random))),
                3 => ("flip bits", FlipBits(Utf8(template), random)),
                4 => ("mutate the text", Utf8(MutateText(template, random))),
                _ => ("random JSON", Utf8(Text(RandomJson(random, depth: 0)))),
            };
            return new RouteInput(index, route, method, path, bytes, random.Next(8) == 0 ? Pick(random, "text/plain", "application/json; charset=bogus", null) : "application/json", Admin: true);
        }
    }

    /// <summary>A random path segment, percent-encoded (slashes, dots, unicode, encoded slashes and NULs included).</summary>
    private static string PathText(Random random)
    {
        var text = random.Next(6) switch
        {
            // No NUL in a path: the in-memory test server refuses to build such a request (Kestrel answers it 400).
            0 => Pick(random, "..", ".", "%2F", "a%2Fb", "%252F", "~", "%", "%zz", "%C0%AF", "%FF", "%2e%2e"),
            1 => new string('s', Pick(random, 1, 256, 257, 2000)),
            _ => NoSurrogates(RandomText(random, random.Next(1, 60), unicode: true)).Replace("\0", "", StringComparison.Ordinal) is { Length: > 0 } clean ? clean : "x",
        };

        // Some values go raw (already percent-encoded or deliberately broken escapes), most escaped.
        return text.StartsWith('%') || text is ".." or "." || random.Next(5) == 0 && text.All(ch => ch is > ' ' and < '\u007f' and not '/' and not '?' and not '#')
            ? text
            : Uri.EscapeDataString(text);
    }

    private static string NoSurrogates(string text) => new([.. text.Where(ch => !char.IsSurrogate(ch))]);

    private static string RandomQuery(Random random)
    {
        string[] names = ["after", "limit", "from", "to", "format", "qual_token", "page", "after", "limit", "x"];
        return string.Join('&', Enumerable.Range(0, random.Next(0, 5)).Select(_ =>
            Uri.EscapeDataString(Pick(random, names)) + "=" + Pick(random,
                () => random.Next(int.MinValue, int.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture),
                () => Pick(random, "", "0", "-1", "1e9", "99999999999999999999", "abc", "null", "[]", "%00", "%", "1.5", " 1", "NaN"),
                () => Uri.EscapeDataString(NoSurrogates(RandomText(random, random.Next(0, 40), unicode: true))))()));
    }

    private static string RandomForm(Random random, string token)
    {
        var fields = new List<string>();
        for (var n = random.Next(0, 5); n > 0; n--)
        {
            fields.Add(Pick(random, "qual_token", "token", "qual_token[]", "QUAL_TOKEN", "", "x") + "=" +
                Pick(random, () => Uri.EscapeDataString(token), () => Uri.EscapeDataString(NoSurrogates(RandomText(random, random.Next(0, 100), unicode: true))), () => "%zz", () => "")());
        }

        return string.Join(Pick(random, "&", "&&", ";", "&="), fields);
    }

    private static string RandomMultipart(Random random, string token, out string boundary)
    {
        boundary = "b" + random.Next();
        var body = new StringBuilder();
        for (var n = random.Next(0, 3); n > 0; n--)
        {
            body.Append("--").Append(boundary).Append("\r\n")
                .Append("Content-Disposition: form-data; name=\"").Append(Pick(random, "qual_token", "token", "file", "")).Append('"')
                .Append(random.Next(3) == 0 ? "; filename=\"t.txt\"" : "").Append("\r\n\r\n")
                .Append(random.Next(2) == 0 ? token : NoSurrogates(RandomText(random, random.Next(0, 200), unicode: true))).Append("\r\n");
        }

        if (random.Next(3) > 0)
        {
            body.Append("--").Append(boundary).Append("--\r\n");
        }

        return MutateText(body.ToString(), random);
    }

    // Fixed public keys (the test keys are new each run): the same seed rebuilds byte for byte the same bodies.
    private const string RsaPem = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzeU8lU9V0kBEVz+CXTS6
        Ccz1ag7JFX6qPSOrGBRaOugP/pFvdUWbExIbnT+DPSbDqeVOrpKari1WGE8ZYUF0
        ASHQk60ZBV8rJBW429g3CuZ68/ylTcWF/TUfxBjbyim6ezHZFPw9+wQAKPDWrhn9
        vREvS/X4a0EwyMpQSdqvdc5G2o1q+X8u5L31T4QR/CL6YlEm0t8XIjMlhrUQNvID
        7pH+m77eV4UgSmyxG007uI7bVA10P2k9VAcDfbHkVcJvE5I0v6OHO4O78h+QPaRp
        oPwnt+37npK+BEydNRin72uJeNfCPNN/bdJOgPdJj4+uyG5p9mMXAKS5D7kVIvBJ
        zQIDAQAB
        -----END PUBLIC KEY-----
        """;

    private const string EcPem = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXlgfBCKIrQ581sUDGknhZHnAoyoc
        Ehk5lI+eJZfwCGngkBPG9KseF2G184TIkfvM4wAnqDjS2LvtKLjeuTJM0A==
        -----END PUBLIC KEY-----
        """;

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] FlipBits(byte[] bytes, Random random)
    {
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
        }

        return bytes;
    }

    /// <summary>Every object member and array item of the document, with a way to replace or remove it.</summary>
    private static List<(JsonNode Parent, string? Name, int Index)> Slots(JsonNode root)
    {
        var slots = new List<(JsonNode, string?, int)>();
        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject obj:
                    foreach (var (name, value) in obj.ToList())
                    {
                        slots.Add((obj, name, -1));
                        Walk(value);
                    }

                    break;
                case JsonArray array:
                    for (var i = 0; i < array.Count; i++)
                    {
                        slots.Add((array, null, i));
                        Walk(array[i]);
                    }

                    break;
            }
        }

        Walk(root);
        return slots;
    }

    private static string ReplaceValue(string body, Random random)
    {
        var root = JsonNode.Parse(body)!;
        var slots = Slots(root);
        var (parent, name, index) = slots[random.Next(slots.Count)];
        var value = RandomJson(random, depth: 2);
        if (parent is JsonObject obj)
        {
            obj[name!] = value;
        }
        else
        {
            ((JsonArray)parent)[index] = value;
        }

        return root.ToJsonString();
    }

    private static string RemoveMember(string body, Random random)
    {
        var root = JsonNode.Parse(body)!;
        var slots = Slots(root);
        var (parent, name, index) = slots[random.Next(slots.Count)];
        if (parent is JsonObject obj)
        {
            obj.Remove(name!);
        }
        else
        {
            ((JsonArray)parent).RemoveAt(index);
        }

        return root.ToJsonString();
    }

    private static string AddMember(string body, Random random)
    {
        var root = JsonNode.Parse(body)!;
        var objects = new List<JsonObject> { root.AsObject() };
        objects.AddRange(Slots(root).Select(s => s.Parent).OfType<JsonObject>());
        var target = objects[random.Next(objects.Count)];
        target[Pick(random, "extra", "__proto__", "constructor", "$type", "secret", "Secret", "", "\u0000", "name ")] = RandomJson(random, depth: 2);
        return root.ToJsonString();
    }

    /// <summary>The text with one member written twice (a parser keeping the last one would see another value).</summary>
    private static string DuplicateMember(string body, Random random)
    {
        var root = JsonNode.Parse(body)!.AsObject();
        var names = root.Select(p => p.Key).ToList();
        var name = names[random.Next(names.Count)];
        var text = root.ToJsonString();
        return text.Insert(1, $"{JsonSerializer.Serialize(name)}:{Text(RandomJson(random, depth: 1))},");
    }

    private static string MutateText(string text, Random random)
    {
        var chars = new StringBuilder(text);
        for (var n = random.Next(1, 4); n > 0 && chars.Length > 0; n--)
        {
            var at = random.Next(chars.Length);
            switch (random.Next(4))
            {
                case 0:
                    chars.Remove(at, 1);
                    break;
                case 1:
                    chars.Insert(at, Pick(random, "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800", "1e999", "-", "null", " ", "\u0001", "é", "\uFFFF"));
                    break;
                case 2:
                    chars[at] = (char)random.Next(0x20, 0x7f);
                    break;
                default:
                    var length = Math.Min(chars.Length - at, random.Next(1, 30));
                    chars.Insert(random.Next(chars.Length), chars.ToString(at, length));
                    break;
            }
        }

        return chars.ToString();
    }

    private static Dictionary<string, object?> RandomClaims(string campaign, Random random)
    {
        var claims = new Dictionary<string, object?>(StringComparer.Ordinal);
        string[] names = ["sub", "campaignId", "jti", "iat", "exp", "nbf", "iss", "aud", "limit", "gift", "custom", "form", "optin", "other"];
        foreach (var name in names.Where(_ => random.Next(3) > 0))
        {
            claims[name] = random.Next(3) == 0 ? RandomJson(random, depth: 1) : Plausible(name, campaign, random);
        }

        return claims;
    }

    private static JsonNode? Plausible(string name, string campaign, Random random) => name switch
    {
        "sub" => RandomText(random, random.Next(0, 300), unicode: true),
        "campaignId" => random.Next(4) == 0 ? JsonValue.Create(random.Next()) : campaign,
        "jti" => random.Next(2) == 0 ? Jti(random) : RandomText(random, random.Next(0, 300), unicode: true),
        "iat" or "exp" or "nbf" => JsonValue.Create(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + random.Next(-100_000, 100_000)),
        "limit" => new JsonObject { ["nb"] = random.Next(-2, 10), ["canPlay"] = random.Next(2) == 0 },
        "gift" => new JsonObject { ["label"] = RandomText(random, random.Next(0, 40), unicode: true), ["cw"] = random.Next(2) == 0 },
        _ => new JsonObject { ["k"] = RandomText(random, random.Next(0, 20), unicode: true) },
    };

    private static string RandomHeader(Random random)
    {
        var header = new JsonObject { ["alg"] = Pick(random, "HS256", "HS256", "none", "NONE", "HS512", "RS256", "", "dir") };
        if (random.Next(3) == 0) header["kid"] = random.Next(2) == 0 ? RandomText(random, random.Next(0, 300), unicode: true) : RandomJson(random, 1);
        if (random.Next(5) == 0) header["crit"] = new JsonArray("exp");
        if (random.Next(3) == 0) header["typ"] = RandomJson(random, 1);
        if (random.Next(4) == 0) header["jku"] = "http://127.0.0.1:9/jwks.json";
        return header.ToJsonString();
    }

    private static JsonNode? RandomJson(Random random, int depth) => random.Next(depth >= 3 ? 6 : 8) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(2) == 0),
        2 => JsonValue.Create(Pick(random, 0, -1, 1, int.MaxValue, int.MinValue, long.MaxValue, 0.5, -1e300, 1e308, double.Epsilon)),
        3 => JsonValue.Create(RandomText(random, random.Next(0, 20), unicode: true)),
        4 => JsonValue.Create(new string('x', Pick(random, 0, 200, 513, 1025, 20_000))),
        5 => JsonValue.Create(Pick(random, "hmac", "publicKey", "jwks", "none", "HS256", "RS256", "allow", "capped", "ignore", "optional", "required", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "2026-01-01T00:00:00Z", "Europe/Paris")),
        6 => new JsonArray([.. Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomJson(random, depth + 1))]),
        _ => new JsonObject(Enumerable.Range(0, random.Next(0, 4)).Select(i => KeyValuePair.Create(Pick(random, "kid", "pem", "secret", "nb", "perParticipant", "x") + i, RandomJson(random, depth + 1)))),
    };

    private static string Text(JsonNode? node) => node?.ToJsonString() ?? "null";

    private static string RandomText(Random random, int length, bool unicode = false)
    {
        const string Ascii = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"\\:,";
        const string Unicode = "\u0000\u0001\t\n\r\u001f\u007fé€\u2028\u202e\uFEFF\uFFFD😀";
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = unicode && random.Next(8) == 0 ? Unicode[random.Next(Unicode.Length)] : Ascii[random.Next(Ascii.Length)];
        }

        // A surrogate pair cut in two is itself a test; keep it.
        return new string(chars);
    }

    private static T Pick<T>(Random random, params T[] values) => values[random.Next(values.Length)];
}

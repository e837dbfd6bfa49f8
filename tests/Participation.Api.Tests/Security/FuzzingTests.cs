using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Security;

/// <summary>
/// Bounded, deterministic fuzzing (fixed seeds, 2,000 requests in all) of the participation endpoint with random and
/// mutated tokens, and of the management endpoints with random and mutated JSON bodies: never a 5xx, never an
/// unhandled exception in the logs, every 4xx a problem+json with a code, and no forged token ever accepted.
/// Each test works on its own account and campaign.
/// </summary>
public sealed class FuzzingTests(AppFixture app)
{
    public const int TokenCases = 1200;
    public const int BodyCases = 800;
    private const int TokenSeed = 9_0001;
    private const int BodySeed = 9_0002;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

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

    [Fact]
    public async Task RandomAndMutatedTokensNeverGetA5xxNorAForgedAcceptance()
    {
        var given = new Given(app);
        var campaign = await given.CampaignAsync(await given.HmacAccountAsync(), perParticipant: 1000);
        var inputs = TokenInputs(campaign, new Random(TokenSeed));
        inputs.Count.ShouldBe(TokenCases);

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

        failures.ShouldBeEmpty(string.Join("\n", failures.Take(10)));
        UnhandledSince(logsBefore).ShouldBeEmpty();
        statuses.Keys.ShouldAllBe(status => status < 500);
        TestContext.Current.SendDiagnosticMessage($"token fuzz: {inputs.Count} requests, statuses {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
    }

    [Fact]
    public async Task RandomAndMutatedManagementBodiesNeverGetA5xx()
    {
        // Four lanes, each on its own account and campaign, run side by side; within a lane one request at a time
        // (concurrent writes of one account's audit stream would only test Marten's retries).
        const int Lanes = 4;
        var given = new Given(app);
        var lanes = new List<List<BodyInput>>();
        for (var lane = 0; lane < Lanes; lane++)
        {
            var account = await given.HmacAccountAsync();
            lanes.Add(BodyInputs(account, await given.CampaignAsync(account), new Random(BodySeed + lane), BodyCases / Lanes));
        }

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

        failures.ShouldBeEmpty(string.Join("\n", failures.Take(10)));
        UnhandledSince(logsBefore).ShouldBeEmpty();
        TestContext.Current.SendDiagnosticMessage($"body fuzz: {BodyCases} requests, statuses {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
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

    /// <summary>Log lines of unhandled exceptions written since <paramref name="index"/>.</summary>
    private List<string> UnhandledSince(int index) =>
    [
        .. app.Logs.Lines.Skip(index).Where(line =>
            line.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase)
            || line.StartsWith("Error Microsoft.AspNetCore", StringComparison.Ordinal)
            || line.StartsWith("Critical Microsoft.AspNetCore", StringComparison.Ordinal)),
    ];

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"… ({text.Length} chars)";

    // ---- tokens ------------------------------------------------------------------------------------------------------

    private static List<TokenInput> TokenInputs(string campaign, Random random)
    {
        var seeds = SeedPayloads(campaign).Select(p => TestTokens.Hs256(TestTokens.Secret, p)).ToList();
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

    private static List<object> SeedPayloads(string campaign)
    {
        var now = DateTimeOffset.UtcNow;
        var full = TestTokens.Claims("fuzz-alice", campaign, jti: TestTokens.NewJti(), iat: now, exp: now.AddHours(1));
        full["limit"] = new { nb = 3, canPlay = true };
        full["gift"] = new { label = "Voucher", cw = true };
        full["custom"] = new { a = new object[] { 1, new { b = "c" } } };
        full["form"] = new { email = "alice@example.com" };
        full["optin"] = new { news = true };
        return
        [
            TestTokens.Claims("fuzz-bob", campaign, jti: TestTokens.NewJti()),
            TestTokens.Claims("fuzz-carol", campaign),
            full,
            TestTokens.Claims("fuzz-dave/ü:🎉", campaign, jti: TestTokens.NewJti(), nbf: now.AddMinutes(-1)),
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
                JsonSerializer.Serialize(new { method = "publicKey", algorithms = new[] { "RS256", "ES256" }, publicKeys = new[] { new { kid = "rsa", pem = TestTokens.Rsa.PublicKeyPem }, new { kid = "ec", pem = TestTokens.EcP256.PublicKeyPem } } })),
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
        "jti" => random.Next(2) == 0 ? TestTokens.NewJti() : RandomText(random, random.Next(0, 300), unicode: true),
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

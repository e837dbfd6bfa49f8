using System.Text;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

/// <summary>Size, shape, base64url, JSON and header rules: everything decided before any key is looked at.</summary>
public sealed class TokenStructureTests
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private readonly ValidatorHarness harness = new();
    private readonly SecureTokenSettings hmac = ValidatorHarness.Hmac();

    private static string Hs256(object payload) => TestTokens.Hs256(TestTokens.Secret, payload);

    private static string HeaderHs256(string headerJson, object payload) =>
        TestTokens.SignRaw("HS256", TestTokens.HmacKey(TestTokens.Secret), headerJson, TestTokens.PayloadJson(payload));

    /// <summary>A token of exactly <paramref name="length"/> characters, validly signed, padded through a custom claim.</summary>
    private static string TokenOfLength(int length)
    {
        var emptyLength = Hs256(ValidatorHarness.ValidClaims()).Length;
        for (var filler = Math.Max(0, ((length - emptyLength) * 3 / 4) - 30); filler < length; filler++)
        {
            var claims = ValidatorHarness.ValidClaims();
            claims["custom"] = new { pad = new string('x', filler) };
            var token = Hs256(claims);
            if (token.Length >= length)
            {
                token.Length.ShouldBe(length, "pick a length the padding can reach");
                return token;
            }
        }

        throw new InvalidOperationException("unreachable");
    }

    [Fact]
    public async Task A_token_of_8192_bytes_is_accepted_and_one_byte_more_is_too_large()
    {
        // base64url grows by 4 characters per 3 bytes: find reachable lengths at and just above the cap.
        var atCap = Enumerable.Range(8185, 8).Select(TryLength).First(t => t is not null)!;
        var overCap = Enumerable.Range(8193, 8).Select(TryLength).First(t => t is not null)!;

        (await harness.Validate(atCap, hmac)).ShouldBeAccepted();
        (await harness.Validate(overCap, hmac)).ShouldBeRefused(TokenErrorCodes.TooLarge);

        static string? TryLength(int length)
        {
            try
            {
                return TokenOfLength(length);
            }
            catch (ShouldAssertException)
            {
                return null;
            }
        }
    }

    [Fact]
    public async Task Size_is_checked_before_anything_else()
    {
        (await harness.Validate(new string(' ', 9000), hmac)).ShouldBeRefused(TokenErrorCodes.TooLarge);
        (await harness.Validate(new string('.', 9000), hmac)).ShouldBeRefused(TokenErrorCodes.TooLarge);
        (await harness.Validate(TestTokens.JweShaped() + new string('A', 9000), hmac)).ShouldBeRefused(TokenErrorCodes.TooLarge);
    }

    [Fact]
    public async Task Size_counts_utf8_bytes_not_characters()
    {
        var multiByte = new string('€', 3000); // 3000 characters, 9000 bytes
        (await harness.Validate(multiByte, hmac)).ShouldBeRefused(TokenErrorCodes.TooLarge);
        SecureTokenValidator.IsTooLarge(multiByte).ShouldBeTrue();
        SecureTokenValidator.IsTooLarge(new string('a', 8192)).ShouldBeFalse();
        SecureTokenValidator.IsTooLarge(new string('a', 8193)).ShouldBeTrue();
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\r\n ")]
    public async Task An_empty_or_blank_token_is_missing(string token) =>
        (await harness.Validate(token, hmac)).ShouldBeRefused(TokenErrorCodes.Missing);

    [Theory]
    [InlineData("abc")]
    [InlineData("abc.def")]
    [InlineData("a.b.c.d")]
    [InlineData("a.b.c.d.e.f")]
    [InlineData("..")]
    [InlineData("é.é.é")]
    public async Task Anything_but_three_or_five_parts_is_malformed(string token) =>
        (await harness.Validate(token, hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);

    [Fact]
    public async Task A_token_with_surrounding_whitespace_is_malformed()
    {
        var token = Hs256(ValidatorHarness.ValidClaims());
        (await harness.Validate(" " + token, hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
        (await harness.Validate(token + "\n", hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task An_encrypted_token_is_refused_by_an_account_without_encryption()
    {
        var error = (await harness.Validate(TestTokens.JweShaped(), hmac)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed);
        error.Detail.ShouldBe("This account does not accept encrypted tokens.");
    }

    [Theory]
    [InlineData(TokenEncryption.Optional)]
    [InlineData(TokenEncryption.Required)]
    public async Task An_encrypted_token_no_key_opens_fails_decryption(TokenEncryption encryption)
    {
        var settings = hmac with { Encryption = encryption };
        var error = (await harness.Validate(TestTokens.JweShaped(), settings)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed);
        error.Detail.ShouldBe("The encrypted token could not be decrypted with this account's encryption keys.");
    }

    [Fact]
    public async Task An_account_requiring_encryption_refuses_a_plain_signed_token()
    {
        var settings = hmac with { Encryption = TokenEncryption.Required };
        (await harness.Validate(Hs256(ValidatorHarness.ValidClaims()), settings)).ShouldBeRefused(TokenErrorCodes.DecryptionFailed);
        (await harness.Validate(Hs256(ValidatorHarness.ValidClaims()), hmac with { Encryption = TokenEncryption.Optional })).ShouldBeAccepted();
    }

    public static TheoryData<string, string> NotBase64Url => new()
    {
        { "padding", "=" },
        { "plus", "+" },
        { "slash", "/" },
        { "space", " " },
        { "star", "*" },
    };

    [Theory]
    [MemberData(nameof(NotBase64Url))]
    public async Task Parts_must_be_strict_base64url(string name, string insert)
    {
        var parts = Hs256(ValidatorHarness.ValidClaims()).Split('.');
        for (var part = 0; part < 3; part++)
        {
            var tampered = (string[])parts.Clone();
            tampered[part] = tampered[part][..4] + insert + tampered[part][4..];
            (await harness.Validate(string.Join('.', tampered), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed, name);
        }
    }

    [Fact]
    public async Task A_part_of_impossible_length_is_malformed()
    {
        var parts = Hs256(ValidatorHarness.ValidClaims()).Split('.');
        var payload = parts[1].Length % 4 == 0 ? parts[1] + "A" : parts[1] + new string('A', 5 - parts[1].Length % 4);
        (payload.Length % 4).ShouldBe(1);
        (await harness.Validate(TestTokens.SignEncoded("HS256", TestTokens.HmacKey(TestTokens.Secret), parts[0], payload), hmac))
            .ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task Non_canonical_base64url_is_malformed_even_when_signed()
    {
        // A JSON length that is not a multiple of 3 leaves unused low bits in the last character.
        var json = TestTokens.PayloadJson(ValidatorHarness.ValidClaims());
        while (Encoding.UTF8.GetByteCount(json) % 3 == 0)
        {
            json += " ";
        }

        var header = TestTokens.Base64Url("""{"alg":"HS256","typ":"JWT"}""");
        var canonical = TestTokens.Base64Url(json);
        var last = Alphabet.IndexOf(canonical[^1], StringComparison.Ordinal);
        var nonCanonical = canonical[..^1] + Alphabet[last + 1]; // differs only in the unused low bits
        Convert.FromBase64String(nonCanonical.PadRight((nonCanonical.Length + 3) / 4 * 4, '=')).ShouldBe(Encoding.UTF8.GetBytes(json));

        var key = TestTokens.HmacKey(TestTokens.Secret);
        (await harness.Validate(TestTokens.SignEncoded("HS256", key, header, canonical), hmac)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.SignEncoded("HS256", key, header, nonCanonical), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task A_non_canonical_signature_part_is_malformed()
    {
        var token = Hs256(ValidatorHarness.ValidClaims());
        var signature = token[(token.LastIndexOf('.') + 1)..];
        (signature.Length % 4).ShouldBe(3); // 32 bytes → 43 characters, 2 unused bits
        var last = Alphabet.IndexOf(signature[^1], StringComparison.Ordinal);
        (await harness.Validate(token[..^1] + Alphabet[last + 1], hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("\"text\"")]
    [InlineData("""{"sub":"alice","campaignId":"c"} {}""")]
    [InlineData("""{"sub":"alice","campaignId":"c",}""")]
    [InlineData("""{"sub":"alice",/* comment */"campaignId":"c"}""")]
    [InlineData("""{"sub":"alice","campaignId":"c" """)]
    [InlineData("""{'sub':'alice'}""")]
    [InlineData("""{"sub":"\ud800","campaignId":"c"}""")]
    [InlineData("""{"sub":"alice","campaignId":"c","custom":{"x":"\udc00"}}""")]
    [InlineData("""{"sub":"alice","campaignId":"c","x":NaN}""")]
    [InlineData("")]
    public async Task A_payload_that_is_not_one_strict_json_object_is_malformed(string payloadJson) =>
        (await harness.Validate(Hs256(payloadJson), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);

    [Fact]
    public async Task Invalid_utf8_is_malformed()
    {
        byte[] payload = [.. """{"sub":"al"""u8, 0xC3, 0x28, .. """ice","campaignId":"c"}"""u8];
        byte[] surrogate = [.. """{"sub":"al"""u8, 0xED, 0xA0, 0x80, .. """ice","campaignId":"c"}"""u8];
        var header = TestTokens.Base64Url("""{"alg":"HS256"}""");
        var key = TestTokens.HmacKey(TestTokens.Secret);
        (await harness.Validate(TestTokens.SignEncoded("HS256", key, header, TestTokens.Base64Url(payload)), hmac))
            .ShouldBeRefused(TokenErrorCodes.Malformed);
        (await harness.Validate(TestTokens.SignEncoded("HS256", key, header, TestTokens.Base64Url(surrogate)), hmac))
            .ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task Nesting_deeper_than_64_is_malformed()
    {
        var deep = string.Concat(Enumerable.Repeat("""{"a":""", 70)) + "1" + new string('}', 70);
        (await harness.Validate(Hs256(ValidatorHarness.Payload($"\"custom\":{deep}")), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    public static TheoryData<string> DuplicatedPayloads => new()
    {
        """{"sub":"alice","campaignId":"c","sub":"mallory"}""",
        """{"sub":"alice","campaignId":"c","campaignId":"other"}""",
        """{"sub":"alice","campaignId":"c","\u0073ub":"mallory"}""",
        """{"sub":"alice","campaignId":"c","exp":1,"exp":99999999999}""",
        """{"sub":"alice","campaignId":"c","x":1,"x":1}""",
        """{"sub":"alice","campaignId":"c","limit":{"nb":1,"nb":100}}""",
        """{"sub":"alice","campaignId":"c","custom":{"a":{"b":[{"c":1,"c":2}]}}}""",
        """{"sub":"alice","campaignId":"c","unknown":[[{"k":1,"\u006b":2}]]}""",
    };

    [Theory]
    [MemberData(nameof(DuplicatedPayloads))]
    public async Task A_duplicated_payload_member_at_any_depth_is_malformed(string payloadJson) =>
        (await harness.Validate(Hs256(payloadJson), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);

    [Fact]
    public async Task Duplicates_are_found_in_large_objects_too()
    {
        var members = string.Join(',', Enumerable.Range(0, 200).Select(i => $"\"m{i}\":{i}"));
        (await harness.Validate(Hs256(ValidatorHarness.Payload($"\"custom\":{{{members}}}")), hmac)).ShouldBeAccepted();
        (await harness.Validate(Hs256(ValidatorHarness.Payload($"\"custom\":{{{members},\"m150\":0}}")), hmac))
            .ShouldBeRefused(TokenErrorCodes.Malformed);
        var topLevel = ValidatorHarness.Payload(members + ",\"m7\":1");
        (await harness.Validate(Hs256(topLevel), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task The_same_name_in_different_objects_is_not_a_duplicate()
    {
        var payload = ValidatorHarness.Payload("""
            "custom":{"a":1,"b":{"a":2,"b":[{"a":3},{"a":4}]}},"form":{"a":1},"optin":{"sub":"x"}
            """);
        (await harness.Validate(Hs256(payload), hmac)).ShouldBeAccepted();
    }

    [Theory]
    [InlineData("""{"alg":"HS256","alg":"HS256"}""")]
    [InlineData("""{"alg":"HS256","kid":"a","kid":"a"}""")]
    [InlineData("""{"alg":"HS256","typ":"JWT","typ":"JWT"}""")]
    [InlineData("""{"alg":"HS256","\u0061lg":"none"}""")]
    public async Task A_duplicated_header_member_is_malformed(string headerJson) =>
        (await harness.Validate(HeaderHs256(headerJson, ValidatorHarness.ValidClaims()), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);

    [Theory]
    [InlineData("""{"typ":"JWT"}""")]
    [InlineData("""{"alg":5}""")]
    [InlineData("""{"alg":null}""")]
    [InlineData("""{"alg":["HS256"]}""")]
    [InlineData("""[]""")]
    [InlineData("""{"alg":"HS256",}""")]
    public async Task A_header_without_an_alg_string_is_malformed(string headerJson) =>
        (await harness.Validate(HeaderHs256(headerJson, ValidatorHarness.ValidClaims()), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);

    [Theory]
    [InlineData("""["exp"]""")]
    [InlineData("""["b64"]""")]
    [InlineData("""[]""")]
    [InlineData("""null""")]
    public async Task A_crit_header_is_malformed(string crit)
    {
        var token = HeaderHs256($$"""{"alg":"HS256","crit":{{crit}},"b64":true,"exp":1}""", ValidatorHarness.ValidClaims());
        (await harness.Validate(token, hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("null")]
    [InlineData("""["k1"]""")]
    [InlineData("""{"id":"k1"}""")]
    public async Task A_kid_that_is_not_a_string_is_malformed(string kid)
    {
        var token = HeaderHs256($$"""{"alg":"HS256","kid":{{kid}}}""", ValidatorHarness.ValidClaims());
        (await harness.Validate(token, hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task A_kid_longer_than_256_bytes_is_malformed()
    {
        var settings = hmac with { Secrets = [new SharedSecret(new string('k', 256), TestTokens.Secret)] };
        var claims = ValidatorHarness.ValidClaims();
        (await harness.Validate(TestTokens.Hs256(TestTokens.Secret, claims, kid: new string('k', 256)), settings)).ShouldBeAccepted();
        (await harness.Validate(TestTokens.Hs256(TestTokens.Secret, claims, kid: new string('k', 257)), settings))
            .ShouldBeRefused(TokenErrorCodes.Malformed);
        (await harness.Validate(TestTokens.Hs256(TestTokens.Secret, claims, kid: new string('é', 129)), settings))
            .ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task Structure_comes_before_the_algorithm()
    {
        var token = TestTokens.SignRaw("HS256", TestTokens.HmacKey(TestTokens.Secret), """{"alg":"none","alg":"none"}""", ValidatorHarness.Payload());
        (await harness.Validate(token, hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
        (await harness.Validate(TestTokens.Unsigned("""{"sub":"a","sub":"b"}"""), hmac)).ShouldBeRefused(TokenErrorCodes.Malformed);
    }

    [Fact]
    public async Task Unknown_header_members_are_ignored()
    {
        var token = HeaderHs256("""{"alg":"HS256","typ":"at+jwt","cty":"x","x-partner":{"a":[1,2]}}""", ValidatorHarness.ValidClaims());
        (await harness.Validate(token, hmac)).ShouldBeAccepted();
    }

    [Fact]
    public async Task A_header_member_of_a_type_identitymodel_cannot_read_still_gets_verified()
    {
        // IdentityModel refuses to decode "typ": 5; the signature is then checked with its crypto providers directly.
        var token = HeaderHs256("""{"alg":"HS256","typ":5}""", ValidatorHarness.ValidClaims());
        (await harness.Validate(token, hmac)).ShouldBeAccepted();
        var forged = TestTokens.SignRaw("HS256", TestTokens.HmacKey(TestTokens.Secret + "x"), """{"alg":"HS256","typ":5}""", TestTokens.PayloadJson(ValidatorHarness.ValidClaims()));
        (await harness.Validate(forged, hmac)).ShouldBeRefused(TokenErrorCodes.InvalidSignature);
    }
}

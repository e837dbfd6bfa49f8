using System.Text;
using System.Text.Json;
using Participation.Api.Auth;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Auth;

/// <summary>The strict base64url decoder and JSON scanner the validator is built on.</summary>
public sealed class StrictParsingTests
{
    private static readonly byte[][] Known = ["sub"u8.ToArray(), "custom"u8.ToArray()];

    [Fact]
    public void Base64url_round_trips_every_length()
    {
        var random = new Random(7);
        for (var length = 0; length < 100; length++)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            var encoded = System.Buffers.Text.Base64Url.EncodeToString(bytes);
            var decoded = new byte[Base64UrlStrict.MaxDecodedLength(encoded.Length)];
            Base64UrlStrict.TryDecode(encoded, decoded, out var written).ShouldBeTrue();
            decoded.AsSpan(0, written).ToArray().ShouldBe(bytes);
        }
    }

    [Theory]
    [InlineData("QQ")] // "A"
    [InlineData("QUI")] // "AB"
    [InlineData("QUJD")] // "ABC"
    [InlineData("")]
    public void Canonical_base64url_is_accepted(string encoded) =>
        Base64UrlStrict.TryDecode(encoded, new byte[8], out _).ShouldBeTrue();

    [Theory]
    [InlineData("QR")] // unused bits set
    [InlineData("QUJ")] // unused bits set
    [InlineData("QQ==")]
    [InlineData("QQ=")]
    [InlineData("Q")]
    [InlineData("QUJDR")]
    [InlineData("QU JD")]
    [InlineData("QU+D")]
    [InlineData("QU/D")]
    [InlineData("QUJD\n")]
    [InlineData("QUJDé")]
    public void Anything_else_is_refused(string encoded) =>
        Base64UrlStrict.TryDecode(encoded, new byte[8], out _).ShouldBeFalse();

    private static JsonScanResult Scan(string json, out JsonMember[] members)
    {
        members = new JsonMember[Known.Length];
        return StrictJson.ScanObject(Encoding.UTF8.GetBytes(json), Known, members);
    }

    [Theory]
    [InlineData("""{"a":1,"A":2}""")]
    [InlineData("""{"é":1,"e\u0301":2}""")] // different code points, not normalised
    [InlineData("""{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}""")]
    [InlineData(""" { "sub" : "x" } """)]
    [InlineData("""{}""")]
    public void Distinct_names_scan_ok(string json) => Scan(json, out _).ShouldBe(JsonScanResult.Ok);

    [Theory]
    [InlineData("""{"é":1,"\u00e9":2}""")]
    [InlineData("""{"\ud83d\ude00":1,"😀":2}""")]
    [InlineData("""{"a":1,"b":{"x":1,"y":2,"x":3}}""")]
    [InlineData("""{"":1,"":2}""")]
    public void Names_equal_once_unescaped_are_duplicates(string json) => Scan(json, out _).ShouldBe(JsonScanResult.DuplicateMember);

    [Fact]
    public void Known_members_are_located_with_their_nul_flags()
    {
        const string Json = """{"x":[1,{"sub":2}],"sub":"al\u0069ce","custom":{"k":["a","\u0000"]},"z":0}""";
        Scan(Json, out var members).ShouldBe(JsonScanResult.Ok);
        var bytes = Encoding.UTF8.GetBytes(Json);

        members[0].Type.ShouldBe(JsonTokenType.String);
        Encoding.UTF8.GetString(members[0].Slice(bytes)).ShouldBe("\"al\\u0069ce\"");
        members[0].HasNul.ShouldBeFalse();

        members[1].Type.ShouldBe(JsonTokenType.StartObject);
        Encoding.UTF8.GetString(members[1].Slice(bytes)).ShouldBe("""{"k":["a","\u0000"]}""");
        members[1].HasNul.ShouldBeTrue();
    }

    [Fact]
    public void Absent_members_are_not_present()
    {
        Scan("""{"other":1}""", out var members).ShouldBe(JsonScanResult.Ok);
        members.ShouldAllBe(m => !m.Present);
    }
}

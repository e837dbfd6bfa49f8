using Participation.Domain.Participations;
using Shouldly;
using Xunit;

namespace Participation.Domain.Tests.Participations;

public sealed class ParticipationStreamKeyTests
{
    public static TheoryData<string> Subs => new()
    {
        "plain",
        "a/b",
        "a:b",
        "a%2Fb",
        ":leading:colons:",
        "émile-ünïcode-日本-🎉",
        new string('x', 256),
        string.Concat(Enumerable.Repeat("é", 128)), // 256 UTF-8 bytes
    };

    [Theory]
    [MemberData(nameof(Subs))]
    public void AnySubRoundTripsThroughItsStreamKey(string sub)
    {
        var key = ParticipationStreamKey.For("123456", sub);

        ParticipationStreamKey.Parse(key).ShouldBe(("123456", sub));
    }

    [Fact]
    public void DifferentCampaignAndSubPairsNeverShareAStream()
    {
        // With a naive "{campaign}:{sub}" and colons allowed in campaign ids these two would collide.
        ParticipationStreamKey.For("c1", "x:y").ShouldNotBe(ParticipationStreamKey.For("c1", "x/y"));
        ParticipationStreamKey.For("c1", "2:z").ShouldNotBe(ParticipationStreamKey.For("c12", "z"));
    }

    [Fact]
    public void ACampaignIdWithAColonIsRefused()
    {
        Should.Throw<ArgumentException>(() => ParticipationStreamKey.For("a:b", "c"));
    }
}

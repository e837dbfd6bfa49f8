using System.Text.Json;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;
using Xunit;
using static Participation.Domain.Tests.Participations.DeciderSpecification;

namespace Participation.Domain.Tests.Participations;

/// <summary>What the masking rules leave of a participant's events, and that the rules still hold on what is left.</summary>
public sealed class ErasingPersonalDataTests
{
    private static readonly CampaignRules TwoPerParticipant = new(2, TokenLimitPolicy.Allow, null);

    private static readonly PersonalData Personal = new(
        JsonDocument.Parse("""{"email":"alice@example.com"}""").RootElement,
        JsonDocument.Parse("""{"name":"Alice"}""").RootElement,
        JsonDocument.Parse("""{"newsletter":true}""").RootElement);

    [Fact]
    public void MaskingRemovesThePersonalDataAndTheTokenIdButKeepsTheFacts()
    {
        var accepted = Accepted("jti:a", 1, 2, gift: new GiftClaim("Bike for Alice", false), personalData: Personal);

        var masked = PersonalDataMasking.Mask(accepted);

        masked.PersonalData.ShouldBeNull();
        masked.Jti.ShouldBeNull();
        masked.Gift.ShouldBe(new GiftClaim(null, false));
        masked.ReplayKey.ShouldStartWith(PersonalDataMasking.ErasedPrefix);
        masked.ReplayKey.ShouldNotContain("jti:");
        (masked with { ReplayKey = accepted.ReplayKey, Jti = accepted.Jti, Gift = accepted.Gift, PersonalData = accepted.PersonalData })
            .ShouldBe(accepted);
        PersonalDataMasking.Mask(masked).ShouldBe(masked);
    }

    [Fact]
    public void TheStoredStateAfterAnErasureIsTheStateARebuildFromTheMaskedEventsGives()
    {
        // The participant's snapshot is written from the events as they were appended, then erased in place; a rebuild
        // folds the masked events instead. Both must give the same state, or a rebuild would change what is decided.
        object[] appended =
        [
            Accepted("jti:a", 1, 2, gift: new GiftClaim("Bike for Alice", true), personalData: Personal),
            Rejected("jti:b", RejectionCodes.CooldownActive),
            Accepted("jti:c", 2, 2),
        ];
        object[] masked =
        [
            .. appended.Select(e => e switch
            {
                ParticipationAccepted a => (object)PersonalDataMasking.Mask(a),
                ParticipationRejected r => PersonalDataMasking.Mask(r),
                _ => e,
            }),
        ];

        var stored = appended.Append(Erased()).Aggregate((Participant?)null, Participant.Next)!;
        var rebuilt = masked.Append(Erased()).Aggregate((Participant?)null, Participant.Next)!;

        rebuilt.Participations.ShouldBe(stored.Participations);
        rebuilt.Rejections.ShouldBe(stored.Rejections);
        rebuilt.ErasedAt.ShouldBe(stored.ErasedAt);
        stored.Participations.ShouldAllBe(p => p.Jti == null && p.ReplayKey.StartsWith(PersonalDataMasking.ErasedPrefix));
        stored.Rejections.ShouldAllBe(r => r.ReplayKey.StartsWith(PersonalDataMasking.ErasedPrefix));
        stored.TryGetAcceptedToken("jti:c", out var original).ShouldBeTrue();
        original.Number.ShouldBe(2);
    }

    [Fact]
    public void TheErasedReplayKeyDependsOnTheStream()
    {
        PersonalDataMasking.ErasedReplayKey("participation:c:alice", "jti:a")
            .ShouldNotBe(PersonalDataMasking.ErasedReplayKey("participation:c:bob", "jti:a"));
    }

    [Fact]
    public void GivenAnErasedStream_WhenAnErasedTokenIsReplayed_ThenStillTheOriginalParticipation()
    {
        var replayed = Given(PersonalDataMasking.Mask(Accepted("jti:a", 1, 2, personalData: Personal)), Erased())
            .When(Request("jti:a", TwoPerParticipant, participationId: Guid.NewGuid()))
            .Then<ParticipationReplayed>();

        replayed.ParticipationId.ShouldBe(IdFor("jti:a"));
        replayed.Number.ShouldBe(1);
    }

    [Fact]
    public void GivenAnErasedStreamAtItsLimit_WhenANewTokenComes_ThenTheLimitStillHolds()
    {
        Given(PersonalDataMasking.Mask(Accepted("jti:a", 1, 2)), PersonalDataMasking.Mask(Accepted("jti:b", 2, 2)), Erased())
            .When(Request("jti:c", TwoPerParticipant))
            .Then<ParticipationRefused>(Rejected("jti:c", RejectionCodes.ParticipationLimitReached));
    }

    [Fact]
    public void GivenAnErasedRefusal_WhenTheSameTokenIsRetried_ThenNothingNewIsRecorded()
    {
        Given(
                PersonalDataMasking.Mask(Accepted("jti:a", 1, 1)),
                PersonalDataMasking.Mask(Rejected("jti:b", RejectionCodes.ParticipationLimitReached)),
                Erased())
            .When(Request("jti:b"))
            .Then<ParticipationRefused>();
    }

    [Fact]
    public void GivenAnErasedStream_WhenTheParticipantComesBack_ThenCountedFromWhereItWas()
    {
        var granted = Given(PersonalDataMasking.Mask(Accepted("jti:a", 1, 2)), Erased())
            .When(Request("jti:b", TwoPerParticipant, personalData: Personal))
            .Then<ParticipationGranted>(Accepted("jti:b", 2, 2, personalData: Personal));

        granted.Remaining.ShouldBe(0);
    }
}

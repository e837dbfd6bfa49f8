using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Shouldly;

namespace Participation.Domain.Tests.Participations;

/// <summary>Given(events).When(command).Then(decision, events) over the pure decider, with no database.</summary>
internal sealed class DeciderSpecification
{
    public static readonly DateTimeOffset Now = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    public const string CampaignId = "123456";
    public const string Sub = "user-42";

    private readonly List<object> _given = [];
    private ParticipationOutcome? _outcome;

    public static DeciderSpecification Given(params object[] events)
    {
        var spec = new DeciderSpecification();
        spec._given.AddRange(events);
        return spec;
    }

    public DeciderSpecification When(ParticipationRequested command, bool campaignFull = false)
    {
        Participant? state = null;
        foreach (var @event in _given)
        {
            state = (@event, state) switch
            {
                (ParticipationAccepted e, null) => Participant.Create(e),
                (ParticipationAccepted e, { } s) => s.Apply(e),
                (ParticipationRejected e, null) => Participant.Create(e),
                (ParticipationRejected e, { } s) => s.Apply(e),
                (ParticipantDataErased e, { } s) => s.Apply(e),
                _ => throw new InvalidOperationException($"Unknown event {@event.GetType().Name}"),
            };
        }

        _outcome = ParticipationDecider.Decide(command, state, campaignFull);
        return this;
    }

    public TDecision Then<TDecision>(params object[] expectedEvents) where TDecision : ParticipationDecision
    {
        _outcome.ShouldNotBeNull();
        var decision = _outcome.Decision.ShouldBeOfType<TDecision>();
        _outcome.Events.Count.ShouldBe(expectedEvents.Length);
        for (var i = 0; i < expectedEvents.Length; i++)
        {
            _outcome.Events[i].ShouldBe(expectedEvents[i]);
        }

        return decision;
    }

    public static ParticipationRequested Request(
        string replayKey,
        CampaignRules? rules = null,
        LimitClaim? limit = null,
        GiftClaim? gift = null,
        Guid? participationId = null,
        DateTimeOffset? at = null,
        PersonalData? personalData = null) =>
        new(
            ParticipationStreamKey.For(CampaignId, Sub),
            participationId ?? IdFor(replayKey),
            CampaignId,
            Sub,
            replayKey,
            replayKey.StartsWith("jti:", StringComparison.Ordinal) ? replayKey[4..] : null,
            Now.AddSeconds(-5),
            limit,
            gift,
            personalData ?? PersonalData.None,
            rules ?? CampaignRules.Default,
            at ?? Now);

    public static ParticipationAccepted Accepted(
        string replayKey, int number, int limit = 1, int? tokenLimit = null, bool canWin = true, GiftClaim? gift = null,
        DateTimeOffset? at = null, PersonalData? personalData = null) =>
        new(IdFor(replayKey), CampaignId, Sub, number, limit, tokenLimit, replayKey,
            replayKey.StartsWith("jti:", StringComparison.Ordinal) ? replayKey[4..] : null,
            Now.AddSeconds(-5), canWin, gift, personalData, at ?? Now);

    public static ParticipationRejected Rejected(string replayKey, string code, DateTimeOffset? at = null) =>
        new(CampaignId, Sub, code, replayKey,
            replayKey.StartsWith("jti:", StringComparison.Ordinal) ? replayKey[4..] : null, at ?? Now);

    public static ParticipantDataErased Erased(DateTimeOffset? at = null) => new(CampaignId, Sub, 0, "admin", at ?? Now);

    /// <summary>A deterministic participation id per token, so expected events can be written out in full.</summary>
    public static Guid IdFor(string replayKey)
    {
        var bytes = System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(replayKey));
        return new Guid(bytes);
    }
}

namespace Participation.Domain.Campaigns;

/// <summary>What the campaign does with the token's <c>limit.nb</c> claim.</summary>
public enum TokenLimitPolicy
{
    /// <summary>The token's <c>nb</c>, when present, is the participant's limit (the partner decides).</summary>
    Allow,

    /// <summary>The token's <c>nb</c> is ignored: the campaign's <c>perParticipant</c> rules.</summary>
    Ignore,

    /// <summary>The token's <c>nb</c>, when present, is used but never above the campaign's <c>maxTokenLimit</c>.</summary>
    Capped,
}

/// <summary>The part of a campaign's configuration that decides a participation.</summary>
public sealed record CampaignRules(int PerParticipant, TokenLimitPolicy TokenLimit, int? MaxTokenLimit)
{
    public static readonly CampaignRules Default = new(1, TokenLimitPolicy.Allow, null);

    /// <summary>The participant's limit for a request carrying the token's <c>limit.nb</c> (or none).</summary>
    public int EffectiveLimit(int? tokenNb) => TokenLimit switch
    {
        TokenLimitPolicy.Allow => tokenNb ?? PerParticipant,
        TokenLimitPolicy.Ignore => PerParticipant,
        TokenLimitPolicy.Capped => tokenNb is { } nb ? Math.Min(nb, MaxTokenLimit ?? PerParticipant) : PerParticipant,
        _ => throw new ArgumentOutOfRangeException(nameof(tokenNb), TokenLimit, "Unknown token limit policy."),
    };
}

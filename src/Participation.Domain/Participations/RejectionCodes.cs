namespace Participation.Domain.Participations;

/// <summary>The 403 codes of DESIGN.md that come from the participant's history and the campaign's rules.</summary>
public static class RejectionCodes
{
    public const string ParticipantNotAllowed = "participant_not_allowed";
    public const string ParticipationLimitReached = "participation_limit_reached";
    public const string PeriodLimitReached = "period_limit_reached";
    public const string CooldownActive = "cooldown_active";
    public const string CampaignFull = "campaign_full";
    public const string CampaignNotOpen = "campaign_not_open";
    public const string CampaignClosed = "campaign_closed";
}

using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;
using Participation.Domain.Reports;

namespace Participation.Domain;

public static class MartenConfiguration
{
    /// <summary>The event store and documents of the participation domain.</summary>
    public static StoreOptions ConfigureParticipation(this StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // Streams are keyed "participation:{campaignId}:{sub}" (ParticipationStreamKey).
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.AddEventType<ParticipationAccepted>();
        options.Events.AddEventType<ParticipationRejected>();
        options.Events.AddEventType<ParticipantDataErased>();

        // Erasure (docs/privacy.md): what ApplyEventDataMasking leaves of a participant's events.
        options.Events.AddMaskingRuleForProtectedInformation<ParticipationAccepted>(PersonalDataMasking.Mask);
        options.Events.AddMaskingRuleForProtectedInformation<ParticipationRejected>(PersonalDataMasking.Mask);

        // The participant's state and history, written in the same transaction as its events: a participation
        // reads this one document (with the stream's version) instead of folding the stream.
        options.Projections.Snapshot<Participant>(SnapshotLifecycle.Inline);

        options.Schema.For<Campaign>().Identity(x => x.Id);
        options.AddCampaignPlaces();
        options.Schema.For<Participant>().Index(x => x.CampaignId);

        // Campaign reports and participation rows fold every participant's events: async, run by the daemon (on exactly
        // one node), as one composite so that each event is read and deserialized once for both. Two projections each
        // read every event themselves, in bursts that delayed participations (docs/benchmarks.md).
        var schema = options.DatabaseSchemaName;
        options.Storage.ExtendedSchemaObjects.Add(ParticipationRowsProjection.CreateTable(schema));
        options.Projections.CompositeProjectionFor(ReportingProjections.Name, composite =>
        {
            composite.Add<CampaignReportProjection>();
            composite.Add(new ParticipationRowsProjection(schema));
        });
        return options;
    }
}

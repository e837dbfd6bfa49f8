using Marten;
using Participation.Api.Campaigns;
using Participation.Api.Hosting;
using Participation.Domain.Participations;

namespace Participation.Api.Participations;

/// <summary>
/// <c>DELETE /v1/campaigns/{campaignId}/participants/{sub}</c>: erases the participant's personal data with Marten's
/// event masking (the rules of <see cref="PersonalDataMasking"/>), then records <see cref="ParticipantDataErased"/>,
/// which the participant's history and the participation rows apply. See docs/privacy.md for what is kept.
/// </summary>
public static class ErasingParticipant
{
    public static async Task<IResult> EraseAsync(string campaignId, HttpContext http, IDocumentStore store, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        var caller = Caller.Of(http);
        await using var session = store.LightweightSession();
        var campaign = await CampaignEndpoints.LoadAccessibleAsync(session, campaignId, caller, ct);
        if (campaign is null)
        {
            return CampaignEndpoints.CampaignNotFound();
        }

        var sub = ParticipationEndpoints.RawSub(http);
        if (sub is null)
        {
            return Problems.BadRequest("The participant id (sub) is missing or badly encoded.");
        }

        var streamKey = ParticipationStreamKey.For(campaign.Id, sub);

        // The stream's row lock: a participation batch appending to this stream waits until the erasure is committed,
        // then finds the stream's version changed and decides again on the erased state, so none is decided on a
        // half-masked stream and none slips in between masking and record.
        var stream = await session.Events.FetchForExclusiveWriting<Participant>(streamKey, ct);
        if (stream.Aggregate is null && (stream.StartingVersion ?? 0) > 0)
        {
            // Events without a snapshot (a database from before the snapshot): rebuild it, then erase.
            await session.DisposeAsync();
            await store.Advanced.RebuildSingleStreamAsync<Participant>(streamKey, ct);
            return await EraseAsync(campaignId, http, store, time, ct);
        }

        if (stream.Aggregate is null)
        {
            // Nothing recorded, nothing to erase: deleting is idempotent.
            return TypedResults.NoContent();
        }

        // Marten's masking rewrites the events in place (its own session: it only updates mt_events rows, never the
        // locked stream row). Should the record below then fail, the events are masked already and a retry of this
        // call masks nothing more and records the erasure.
        var masked = 0;
        await store.Advanced.ApplyEventDataMasking(
            masking => masking.IncludeStream(streamKey, e =>
            {
                var personal = e.Data is ParticipationAccepted or ParticipationRejected;
                masked += personal ? 1 : 0;
                return personal;
            }),
            ct);

        stream.AppendOne(new ParticipantDataErased(campaign.Id, sub, masked, caller.KeyPrefix, time.GetUtcNow()));
        await session.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }
}

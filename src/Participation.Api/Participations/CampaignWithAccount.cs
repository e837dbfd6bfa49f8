using Marten;
using Npgsql;
using Participation.Api.Accounts;
using Participation.Domain.Campaigns;

namespace Participation.Api.Participations;

/// <summary>
/// The campaign of a participation and its account, read together: one statement and one round trip on the hot path
/// instead of two loads one after the other (docs/benchmarks.md, round trips per request). Both are read for every
/// request, never cached, so a change of either applies to the next request.
/// </summary>
public static class CampaignWithAccount
{
    /// <summary>The campaign (null when unknown) and its account (null when missing).</summary>
    public static async Task<(Campaign? Campaign, Account? Account)> LoadAsync(IQuerySession session, string campaignId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        var schema = session.DocumentStore.Options.Schema;
        await using var command = new NpgsqlCommand(
            $"select c.data, a.data from {schema.For<Campaign>()} c left join {schema.For<Account>()} a on a.id = c.data ->> 'accountId' where c.id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = campaignId });
        await using var reader = await session.ExecuteReaderAsync(command, ct);
        if (!await reader.ReadAsync(ct))
        {
            return (null, null);
        }

        var serializer = session.DocumentStore.Options.Serializer();
        var campaign = await serializer.FromJsonAsync<Campaign>(reader, 0, ct);
        var account = await reader.IsDBNullAsync(1, ct) ? null : await serializer.FromJsonAsync<Account>(reader, 1, ct);
        return (campaign, account);
    }
}

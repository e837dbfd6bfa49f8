using System.Collections.Concurrent;
using Marten;
using Npgsql;
using Participation.Api.Accounts;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;

namespace Participation.Api.Campaigns;

/// <summary>A campaign and its account as the participation path reads them, with the versions they were read at.</summary>
public sealed record CampaignConfiguration(Campaign Campaign, Account? Account, Guid CampaignVersion)
{
    /// <summary>What a decision checks is still current (<see cref="ParticipationRequested.VerifiedWith"/>).</summary>
    public ConfigurationVersion Version { get; } = new(CampaignVersion, Account?.SettingsVersion ?? -1);
}

/// <summary>
/// The campaigns and accounts of the participation path, kept in memory per process so that a request does not read
/// them from the database before its decision. Being in memory never makes an answer stale:
/// <list type="bullet">
/// <item>a decision (an acceptance or a recorded refusal) is made only after the participation writer checked, in the
/// transaction that records it, that the campaign and the account's token settings are still at the versions the
/// request was verified with (<see cref="ParticipationRequested.VerifiedWith"/>); otherwise the request is verified
/// and decided again with what <see cref="ReadAsync"/> returns;</item>
/// <item>a token refused before any decision (401, 403 <c>token_campaign_mismatch</c>) is verified again with a fresh
/// read when the refusal came from the copy in memory.</item>
/// </list>
/// So a change of a campaign or of its account's keys applies to the next request on every process
/// (docs/design.md, "Configuration in memory"). Unknown campaigns are never kept: a request for one reads the database.
/// </summary>
public sealed class CampaignDirectory(IDocumentStore store)
{
    /// <summary>More campaigns than this in memory and the copy starts again from empty (they are read back on use).</summary>
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, CampaignConfiguration> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// The campaign's configuration from memory, or read (and kept) when it is not there; null when unknown.
    /// <c>Fresh</c>: it was read for this call.
    /// </summary>
    public async ValueTask<(CampaignConfiguration? Configuration, bool Fresh)> FindAsync(string campaignId, CancellationToken ct) =>
        _entries.TryGetValue(campaignId, out var entry) ? (entry, false) : (await ReadAsync(campaignId, ct), true);

    /// <summary>The campaign's configuration as committed now (one statement), kept in memory; null when unknown.</summary>
    public async Task<CampaignConfiguration?> ReadAsync(string campaignId, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var read = await LoadAsync(session, campaignId, ct);
        if (read is null)
        {
            _entries.TryRemove(campaignId, out _);
            return null;
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[campaignId] = read;
        return read;
    }

    /// <summary>The campaign and its account, read together: one statement and one round trip.</summary>
    private static async Task<CampaignConfiguration?> LoadAsync(IQuerySession session, string campaignId, CancellationToken ct)
    {
        var schema = session.DocumentStore.Options.Schema;
        await using var command = new NpgsqlCommand(
            $"select c.data, c.mt_version, a.data from {schema.For<Campaign>()} c left join {schema.For<Account>()} a on a.id = c.data ->> 'accountId' where c.id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = campaignId });
        await using var reader = await session.ExecuteReaderAsync(command, ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        var serializer = session.DocumentStore.Options.Serializer();
        var campaign = await serializer.FromJsonAsync<Campaign>(reader, 0, ct);
        var version = await reader.GetFieldValueAsync<Guid>(1, ct);
        var account = await reader.IsDBNullAsync(2, ct) ? null : await serializer.FromJsonAsync<Account>(reader, 2, ct);
        return new CampaignConfiguration(campaign, account, version);
    }
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using Marten;
using Participation.Api.Hosting;

namespace Participation.Api.ApiKeys;

/// <summary>Finds the account of a presented key; records when a key was last used, at most once a minute per key.</summary>
public sealed class ApiKeyVerifier(TimeProvider time)
{
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastUsedWritten = new(StringComparer.Ordinal);

    public async Task<Caller?> VerifyAsync(string presented, IDocumentStore store, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var id = ApiKeyFormat.IdOf(presented);
        if (id is null)
        {
            return null;
        }

        await using var session = store.QuerySession();
        var key = await session.LoadAsync<ApiKey>(id, ct);
        if (key is null || key.RevokedAt is not null)
        {
            return null;
        }

        var presentedHash = Convert.FromHexString(ApiKeyFormat.HashOf(presented));
        if (!CryptographicOperations.FixedTimeEquals(presentedHash, Convert.FromHexString(key.Hash)))
        {
            return null;
        }

        await RecordUseAsync(store, key, ct);
        return new Caller(key.AccountId, key.Prefix);
    }

    private async Task RecordUseAsync(IDocumentStore store, ApiKey key, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_lastUsedWritten.TryGetValue(key.Id, out var written) && now - written < LastUsedResolution)
        {
            return;
        }

        _lastUsedWritten[key.Id] = now;
        // A targeted update of one member: storing the whole document could undo a concurrent revocation.
        var table = store.Options.Schema.For<ApiKey>();
        await using var session = store.LightweightSession();
        session.QueueSqlCommand(
            $"update {table} set data = jsonb_set(data, '{{lastUsedAt}}', to_jsonb(?::timestamptz)) where id = ?",
            now, key.Id);
        await session.SaveChangesAsync(ct);
    }
}

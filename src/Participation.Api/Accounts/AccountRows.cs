using Marten;

namespace Participation.Api.Accounts;

/// <summary>Writes to an account document, serialised per account.</summary>
public static class AccountRows
{
    /// <summary>
    /// Starts the session's transaction and loads the account with its row locked (<c>for update</c>) until
    /// <c>SaveChangesAsync</c> commits: a concurrent change of the same account waits, then reads what this one wrote.
    /// Without it, two settings changes made at once would both read version N and both store N + 1 with different
    /// settings, and an API process that cached the first under N + 1 would keep using it although the database holds
    /// the second (caches of key material are keyed by settings version); a rename racing a settings change would put
    /// the old settings back. Null when the account does not exist.
    /// </summary>
    /// <remarks>
    /// Every write that appends to the account's audit stream holds this lock too: Marten's append of events without
    /// an expected version reads the stream's version without a lock, so two such appends at once would both write
    /// the same next version and one would fail.
    /// </remarks>
    public static async Task<Account?> LoadForUpdateAsync(IDocumentSession session, string accountId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        await session.BeginTransactionAsync(ct);
        return await LoadForUpdateInTransactionAsync(session, accountId, ct);
    }

    /// <summary>
    /// The same, in the transaction the session has already begun. The row lock cannot hold an account that does not
    /// exist yet, so a transaction-scoped advisory lock on the account id comes first: two creations of one account at
    /// once go one after the other too (the two-key form, a lock space apart from the single-key locks that Marten and
    /// Wolverine take).
    /// </summary>
    public static async Task<Account?> LoadForUpdateInTransactionAsync(IDocumentSession session, string accountId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        await session.AdvancedSql.QueryAsync<bool>(
            "select pg_advisory_xact_lock(hashtext('participation.account'), hashtext(?)) is not null", ct, accountId);
        var rows = await session.QueryAsync<Account>("where id = ? for update", ct, accountId);
        return rows.Count == 0 ? null : rows[0];
    }
}

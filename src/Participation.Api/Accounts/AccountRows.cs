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
    /// the old settings back. Null when the account does not exist (nothing is locked then).
    /// </summary>
    public static async Task<Account?> LoadForUpdateAsync(IDocumentSession session, string accountId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        await session.BeginTransactionAsync(ct);
        var rows = await session.QueryAsync<Account>("where id = ? for update", ct, accountId);
        return rows.Count == 0 ? null : rows[0];
    }
}

using System.Globalization;
using Marten;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Domain.Campaigns;

namespace Participation.Api.Hosting;

/// <summary>
/// Development only: makes sure a demo account and campaign exist, then prints a fresh sample token and the curl line
/// that uses it, so a newcomer sees a 201 (and a 409 on the second try) within a minute of cloning.
/// </summary>
public sealed partial class DemoSeeder(
    IDocumentStore store,
    AccountSecrets secrets,
    IServer server,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    IOptions<ParticipationOptions> options,
    ILogger<DemoSeeder> logger) : BackgroundService
{
    public const string AccountId = "demo";
    public const string CampaignId = "demo";

    /// <summary>Deliberately public: it only signs tokens for the demo account of a Development instance.</summary>
    public const string Secret = "participation-demo-secret-for-development-only";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.SeedDemo)
        {
            return;
        }

        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);

        var now = time.GetUtcNow();
        await using (var session = store.LightweightSession())
        {
            var account = await AccountRows.LoadForUpdateAsync(session, AccountId, stoppingToken);
            session.Store(new Account
            {
                Id = AccountId,
                Name = "Demo partner",
                SecureToken = secrets.Protect(new SecureTokenSettings { Method = TokenMethod.Hmac, Algorithms = ["HS256"], Secrets = [new SharedSecret(null, Secret)] }),
                SettingsVersion = (account?.SettingsVersion ?? 0) + 1,
                CreatedAt = account?.CreatedAt ?? now,
                UpdatedAt = now,
            });

            var campaign = await session.LoadAsync<Campaign>(CampaignId, stoppingToken);
            session.Store(new Campaign
            {
                Id = CampaignId,
                AccountId = AccountId,
                Name = "Demo contest",
                Limits = new CampaignLimits { PerParticipant = 3 },
                TokenLimit = TokenLimitPolicy.Allow,
                CreatedAt = campaign?.CreatedAt ?? now,
                UpdatedAt = now,
            });
            await session.SaveChangesAsync(stoppingToken);
        }

        var sub = "demo-user-" + Guid.NewGuid().ToString("N")[..8];
        string Mint(string forSub) => TokenMinter.MintHmac(Secret, "HS256", null, new Dictionary<string, object?>
        {
            ["sub"] = forSub,
            ["campaignId"] = CampaignId,
            ["jti"] = Guid.NewGuid().ToString(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddDays(1).ToUnixTimeSeconds(),
        });
        var token = Mint(sub);

        // A second participant for the browser: the curl's token is spent once used, this one is not.
        var playSub = "demo-player-" + Guid.NewGuid().ToString("N")[..8];
        var playToken = Mint(playSub);

        var baseUrl = BaseUrl();
        var adminKey = options.Value.AdminApiKey;
        var inv = CultureInfo.InvariantCulture;
        // Printed on the console on purpose (never through the logs): it is the newcomer's first working request.
        var text = string.Join(Environment.NewLine,
            "",
            "Participation is running with a demo account and campaign (Development).",
            string.Create(inv, $"  campaign '{CampaignId}' of account '{AccountId}': 3 participations per person; HS256 secret: {Secret}"),
            string.Create(inv, $"  sample token for sub '{sub}' (valid 24 h):"),
            "    " + token,
            "  take part (201; run it again for the 409 token_replayed):",
            string.Create(inv, $"    curl -i -X POST '{baseUrl}/v1/campaigns/{CampaignId}/participations?qual_token={token}'"),
            string.Create(inv, $"  the play page partners link to, in a browser (sub '{playSub}'):"),
            string.Create(inv, $"    {baseUrl}/play/{CampaignId}?qual_token={playToken}"),
            string.Create(inv, $"  the API reference: {baseUrl}/docs"),
            adminKey is { Length: > 0 }
                ? string.Create(inv, $"  the participant's history:{Environment.NewLine}    curl -s -H 'Authorization: Bearer {adminKey}' {baseUrl}/v1/campaigns/{CampaignId}/participants/{sub}{Environment.NewLine}  the campaign's report:{Environment.NewLine}    curl -s -H 'Authorization: Bearer {adminKey}' {baseUrl}/v1/campaigns/{CampaignId}/report")
                : "  (set Participation:AdminApiKey to use the management API)",
            "");
        await Console.Out.WriteLineAsync(text);
        LogSeeded(logger, CampaignId);
    }

    private string BaseUrl()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses.FirstOrDefault() ?? "http://localhost:5080";
        return address.Replace("://[::]", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
            .Replace("://+", "://localhost", StringComparison.Ordinal)
            .Replace("://*", "://localhost", StringComparison.Ordinal)
            .TrimEnd('/');
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo account and campaign '{CampaignId}' are ready; a sample token was printed on the console")]
    private static partial void LogSeeded(ILogger logger, string campaignId);
}

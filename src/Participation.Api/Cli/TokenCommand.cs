using JasperFx.CommandLine;
using Participation.Api.Accounts;

namespace Participation.Api.Cli;

/// <summary>Input of <c>token mint</c> and <c>token inspect</c>; flags are long-only (<c>--campaign</c>, not <c>-c</c>).</summary>
public sealed class TokenInput : NetCoreInput
{
    [Description("mint: sign a test token; inspect: explain whether a token would be accepted, consuming nothing")]
    public string Action { get; set; } = "";

    [Description("The token to inspect")]
    public string Token { get; set; } = "";

    [Description("The campaign (mint: required; inspect: default, the token's campaignId)")]
    [FlagAlias("campaign", true)]
    public string? CampaignFlag { get; set; }

    [Description("The account (default: the campaign's)")]
    [FlagAlias("account", true)]
    public string? AccountFlag { get; set; }

    [Description("The participant id (default: test-user-<random>)")]
    [FlagAlias("sub", true)]
    public string? SubFlag { get; set; }

    [Description("auto (a new unique id, the default), none, or the value")]
    [FlagAlias("jti", true)]
    public string JtiFlag { get; set; } = "auto";

    [Description("Expiry from now: 90s, 15m, 2h (default 1h), 1d, 5m-ago, or none")]
    [FlagAlias("exp", true)]
    public string ExpFlag { get; set; } = "1h";

    [Description("Issued-at from now: 0 (default), 2h-ago, or none")]
    [FlagAlias("iat", true)]
    public string IatFlag { get; set; } = "0";

    [Description("limit.nb: the participant's limit (per the campaign's tokenLimit policy)")]
    [FlagAlias("limit-nb", true)]
    public int? LimitNbFlag { get; set; }

    [Description("limit.canPlay: false refuses the participant")]
    [FlagAlias("can-play", true)]
    public bool? CanPlayFlag { get; set; }

    [Description("gift.label")]
    [FlagAlias("gift-label", true)]
    public string? GiftLabelFlag { get; set; }

    [Description("gift.cw: false means the participant may take part but cannot win")]
    [FlagAlias("cw", true)]
    public bool? CwFlag { get; set; }

    [Description("HMAC secret to sign with (default: the account's newest, from the database; or $PARTICIPATION_TOKEN_SECRET)")]
    [FlagAlias("secret", true)]
    public string? SecretFlag { get; set; }

    [Description("HS256, HS384 or HS512 (default: the account's first HMAC algorithm)")]
    [FlagAlias("alg", true)]
    public string? AlgFlag { get; set; }

    [Description("The key id to sign with (default: the newest key's)")]
    [FlagAlias("kid", true)]
    public string? KidFlag { get; set; }

    [Description("Encrypt the signed token (JWE, A256GCM) to the account's newest encryption key")]
    [FlagAlias("encrypt", true)]
    public bool EncryptFlag { get; set; }

    [Description("The service's public address, for the play page link (default http://localhost:5080)")]
    [FlagAlias("base-url", true)]
    public string? BaseUrlFlag { get; set; }
}

/// <summary>
/// <c>token mint</c>: a test token for a campaign, signed with its account's secret (read from the database, where it
/// is stored protected, and revealed through the service's own <see cref="AccountSecrets"/>). The token alone goes to
/// standard output; what it is, and the play page link, to standard error.
/// <c>token inspect &lt;token&gt;</c>: claim by claim, why the token would be accepted or refused, consuming nothing;
/// exits 0 when it would be accepted, 1 otherwise.
/// </summary>
[Description("Mint a test token for a campaign, or explain why a token would be accepted or refused", Name = "token")]
public sealed class TokenCommand : JasperFxAsyncCommand<TokenInput>
{
    public const string SecretVariable = "PARTICIPATION_TOKEN_SECRET";

    public TokenCommand()
    {
        Usage("Mint a test token for a campaign").Arguments(x => x.Action);
        Usage("Explain why a token would be accepted or refused, without consuming it").Arguments(x => x.Action, x => x.Token);
    }

    /// <summary>Where results go (standard output by default; tests capture them).</summary>
    public TextWriter Out { get; init; } = Console.Out;

    /// <summary>Where explanations go (standard error by default).</summary>
    public TextWriter Error { get; init; } = Console.Error;

    public override async Task<bool> Execute(TokenInput input)
    {
        ArgumentNullException.ThrowIfNull(input);

        // The application is built, not started: no endpoint listens, no background agent runs.
        var services = input.BuildHost().Services;
        try
        {
            return input.Action switch
            {
                "mint" => await MintAsync(input, services),
                "inspect" => await InspectAsync(input, services),
                _ => throw new CliException("the action is mint or inspect."),
            };
        }
        catch (CliException ex)
        {
            await Error.WriteLineAsync("token " + input.Action + ": " + ex.Message);
            return false;
        }
        catch (SecretsUnavailableException ex)
        {
            await Error.WriteLineAsync("token: " + ex.Message);
            return false;
        }
    }

    private async Task<bool> MintAsync(TokenInput input, IServiceProvider services)
    {
        if (input.CampaignFlag is null)
        {
            throw new CliException("--campaign is required.");
        }

        if (input.Token.Length > 0)
        {
            throw new CliException("mint takes no token argument.");
        }

        var minting = ActivatorUtilities.CreateInstance<TokenMinting>(services);
        var minted = await minting.MintAsync(new MintRequest
        {
            CampaignId = input.CampaignFlag,
            AccountId = input.AccountFlag,
            Sub = input.SubFlag,
            Jti = input.JtiFlag,
            Exp = input.ExpFlag,
            Iat = input.IatFlag,
            LimitNb = input.LimitNbFlag,
            CanPlay = input.CanPlayFlag,
            GiftLabel = input.GiftLabelFlag,
            CanWin = input.CwFlag,
            Secret = input.SecretFlag ?? NullIfEmpty(Environment.GetEnvironmentVariable(SecretVariable)),
            Algorithm = input.AlgFlag,
            Kid = input.KidFlag,
            Encrypt = input.EncryptFlag,
        }, CancellationToken.None);

        await Out.WriteLineAsync(minted.Token);
        var baseUrl = (input.BaseUrlFlag ?? "http://localhost:5080").TrimEnd('/');
        await Error.WriteLineAsync(TokenMinting.Describe(minted));
        await Error.WriteLineAsync($"play page: {baseUrl}/play/{Uri.EscapeDataString(minted.CampaignId)}?qual_token={minted.Token}");
        return true;
    }

    private async Task<bool> InspectAsync(TokenInput input, IServiceProvider services)
    {
        if (input.Token.Length == 0)
        {
            throw new CliException("give the token to inspect: token inspect <token> [--campaign id].");
        }

        var inspection = ActivatorUtilities.CreateInstance<TokenInspection>(services);
        var report = await inspection.InspectAsync(input.Token, input.CampaignFlag, CancellationToken.None);
        await Out.WriteLineAsync($"Token inspected for campaign '{report.CampaignId}' (nothing consumed, nothing recorded):");
        report.WriteTo(Out);
        return report.WouldBeAccepted;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

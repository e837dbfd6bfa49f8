using System.Globalization;
using System.Text;
using System.Text.Json;
using Marten;
using Participation.Api.Accounts;
using Participation.Api.Auth;
using Participation.Api.Participations;
using Participation.Domain.Campaigns;
using Participation.Domain.Participations;

namespace Participation.Api.Cli;

/// <summary>One line of an inspection: a claim or a check, and whether it passed (null: information, or not reached).</summary>
public sealed record InspectionLine(string Subject, bool? Passed, string Text);

/// <summary>
/// What <c>token inspect</c> found: a line per claim and check, then the answer a participation would get now.
/// <see cref="Status"/> is 201 when the token would be accepted.
/// </summary>
public sealed record TokenInspectionReport(string CampaignId, IReadOnlyList<InspectionLine> Lines, int Status, string? Code, string Verdict)
{
    public bool WouldBeAccepted => Status == StatusCodes.Status201Created;

    public void WriteTo(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var line in Lines)
        {
            var mark = line.Passed switch { true => "✓", false => "✗", null => "·" };
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {mark} {line.Subject,-12} {line.Text}"));
        }

        writer.WriteLine(Verdict);
    }
}

/// <summary>
/// Explains, claim by claim, why a token would be accepted or refused for a campaign, without consuming it: the
/// token goes through the service's own <see cref="SecureTokenValidator"/> with the account's settings, then the
/// participant's history goes through the same decision a participation makes (<see cref="ParticipationDecider"/>),
/// and nothing is written. Claim values are shown (the operator holds the token), the contents of <c>custom</c>,
/// <c>form</c> and <c>optin</c> are not (personal data), and neither are the signature or any secret. An encrypted
/// token (JWE) is opened with the account's own decryption key, for display, and its signed content explained claim by
/// claim; its <c>kid</c> names the account, so it needs no <c>--campaign</c> either.
/// </summary>
public sealed class TokenInspection(
    IDocumentStore store, AccountSecrets secrets, SecureTokenValidator validator, IDecryptionKeySource decryptionKeys, TimeProvider time)
{
    private static readonly string[] TimeClaims = ["iat", "nbf", "exp"];

    public async Task<TokenInspectionReport> InspectAsync(string token, string? campaignId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(token);
        var now = time.GetUtcNow();
        var lines = new List<InspectionLine>();
        var (header, payload) = Decode(token);
        var encrypted = token.Split('.').Length == 5;
        JweToken? jwe = null;
        var jweError = encrypted ? Jwe.TryParse(token, out jwe) : null;

        await using var session = store.QuerySession();
        string? inner = null;
        if (campaignId is null && jwe?.Kid is { } kid && await session.LoadAsync<EncryptionKeyDocument>(kid, ct) is { } key)
        {
            // The encryption key's kid names its account: open the token to read the campaign it names.
            inner = await DecryptAsync(key.AccountId, jwe, ct);
        }

        campaignId ??= (inner is null ? payload : Decode(inner).Payload) is { } p && p.TryGetProperty("campaignId", out var claimed) ? CampaignText(claimed) : null;
        if (campaignId is null)
        {
            throw new CliException(encrypted
                ? "Give --campaign: the token is encrypted, and its campaignId cannot be read without the campaign's account key."
                : "Give --campaign: the token names no campaign that can be read.");
        }

        var campaign = await session.LoadAsync<Campaign>(campaignId, ct);
        if (campaign is null)
        {
            lines.Add(new("campaign", false, $"no campaign '{campaignId}' in this database"));
            return new TokenInspectionReport(campaignId, lines, 404, Hosting.Problems.CampaignNotFound,
                "Verdict: refused: 404 campaign_not_found (nothing else can be checked without the campaign).");
        }

        var account = await session.LoadAsync<Account>(campaign.AccountId, ct);
        var settings = account is null ? null : secrets.Reveal(account);
        if (account is null || settings is null)
        {
            lines.Add(new("account", false, $"account '{campaign.AccountId}' has no secure token settings"));
            return new TokenInspectionReport(campaignId, lines, 401, TokenErrorCodes.KeyNotFound,
                "Verdict: refused: 401 key_not_found (configure PUT /v1/accounts/{accountId}/secure-token first).");
        }

        lines.Add(new("campaign", true, $"'{campaign.Id}' of account '{account.Id}': {MethodName(settings.Method)} {string.Join("/", settings.Algorithms)}, clock skew {settings.ClockSkewSeconds} s" +
            (settings.RequireExpiration ? ", exp required" : "") +
            (settings.MaxTokenAgeSeconds is { } age ? $", tokens at most {age} s old" : "")));

        if (jwe is not null)
        {
            // Opened with this account's keys only (the kid may have named another account's key above).
            inner = await DecryptAsync(account.Id, jwe, ct);
            (header, payload) = inner is null ? (null, null) : Decode(inner);
        }

        var (verified, error) = await validator.ValidateAsync(token, account.Id, account.SettingsVersion, settings, ct);
        var failing = error is null ? null : FailingSubject(error);
        AddStructureLines(lines, token, header, payload, settings, failing, error,
            () => AddEncryptionLine(lines, settings, jwe, jweError, inner is not null, failing, error));
        if (payload is { } claims)
        {
            AddClaimLines(lines, claims, settings, campaign, now, failing, error, signatureValid: failing is null || !IsBeforeSignature(failing));
        }

        if (error is not null)
        {
            if (failing is null)
            {
                lines.Add(new("token", false, error.Detail));
            }

            return new TokenInspectionReport(campaignId, lines, 401, error.Code, $"Verdict: refused: 401 {error.Code}: {error.Detail}");
        }

        if (!string.Equals(verified!.CampaignId, campaign.Id, StringComparison.Ordinal))
        {
            return new TokenInspectionReport(campaignId, lines, 403, Hosting.Problems.TokenCampaignMismatch,
                $"Verdict: refused: 403 token_campaign_mismatch: the token names campaign '{verified.CampaignId}'.");
        }

        return await DecideAsync(session, campaign, verified, lines, now, ct);
    }

    /// <summary>The participant's side, as a participation would decide it now, on a read of the stream: nothing is appended.</summary>
    private static async Task<TokenInspectionReport> DecideAsync(
        IQuerySession session, Campaign campaign, SecureToken verified, List<InspectionLine> lines, DateTimeOffset now, CancellationToken ct)
    {
        var command = ParticipationEndpoints.Command(campaign, verified, now);
        var participant = await session.LoadAsync<Participant>(command.ParticipantId, ct);
        var history = participant;
        var limit = command.Rules.EffectiveLimit(command.Limit?.Nb);
        var accepted = participant?.Accepted ?? 0;
        var last = history?.Participations.LastOrDefault();
        lines.Add(new("participant", null,
            $"'{verified.Sub}': {accepted} of {limit} accepted" + (last is null ? "" : string.Create(CultureInfo.InvariantCulture, $", last {Describe(last.At, now)}")) +
            (history is { Rejections.Count: > 0 } ? $", {history.Rejections.Count} refusal(s) recorded" : "")));

        var outcome = ParticipationDecider.Decide(command, participant);
        if (outcome.Decision is ParticipationGranted && command.Rules.MaxParticipations is { } max
            && await CampaignPlaces.ReadAsync(session, campaign.Id, ct) is var places
            && (places is { } row ? row.Accepted >= row.Capacity : max <= 0))
        {
            outcome = ParticipationDecider.Decide(command, participant, campaignFull: true);
        }

        return outcome.Decision switch
        {
            ParticipationGranted granted => new TokenInspectionReport(campaign.Id, lines, 201, null, string.Create(CultureInfo.InvariantCulture,
                $"Verdict: would be accepted (201): participation #{granted.Number} of {granted.Limit}, {granted.Remaining} left after it{(granted.CanWin ? "" : ", cannot win (gift.cw false)")}. Nothing was consumed.")),
            ParticipationReplayed replayed => new TokenInspectionReport(campaign.Id, lines, 409, Hosting.Problems.TokenReplayed, string.Create(CultureInfo.InvariantCulture,
                $"Verdict: refused: 409 token_replayed: this token was already accepted as participation #{replayed.Number} ({replayed.ParticipationId}).")),
            ParticipationRefused refused => new TokenInspectionReport(campaign.Id, lines, 403, refused.Code, string.Create(CultureInfo.InvariantCulture,
                $"Verdict: refused: 403 {refused.Code}: {RuleSentence(refused.Code)} (limit {refused.Limit}, {refused.Remaining} left{(refused.RetryAfter is { } wait ? $", retry after {Math.Ceiling(wait.TotalSeconds)} s" : "")}).")),
            _ => throw new InvalidOperationException("Unknown participation decision."),
        };
    }

    /// <summary>The signed token inside an encrypted one, opened with the account's keys; null when they do not open it.</summary>
    private async Task<string?> DecryptAsync(string accountId, JweToken jwe, CancellationToken ct)
    {
        var keys = await decryptionKeys.FindAsync(accountId, jwe.Kid, jwe.Algorithm, ct);
        var plaintext = keys.Count == 0 ? null : Jwe.Decrypt(jwe, keys);
        return plaintext is not null && System.Text.Ascii.IsValid(plaintext) && plaintext.AsSpan().Count((byte)'.') == 2
            ? Encoding.ASCII.GetString(plaintext)
            : null;
    }

    private static void AddEncryptionLine(
        List<InspectionLine> lines, SecureTokenSettings settings, JweToken? jwe, TokenError? jweError, bool opened, string? failing, TokenError? error)
    {
        var policy = settings.Encryption.ToString().ToLowerInvariant();
        string text;
        if (jwe is null && jweError is null)
        {
            text = $"none: a plain signed token; the account's encryption is {policy}";
        }
        else if (jwe is null)
        {
            text = $"a JWE that cannot be read: {jweError!.Detail}";
        }
        else
        {
            var enc = jwe.Encryption == JweContentEncryption.A256Gcm ? "A256GCM" : "A128CBC-HS256";
            text = $"JWE {Jwe.Name(jwe.Algorithm)} / {enc}, " + (jwe.Kid is null ? "no kid" : $"kid '{jwe.Kid}'") +
                (opened ? ", opened with the account's key" : ", not opened by any of the account's keys") +
                $"; the account's encryption is {policy}";
        }

        lines.Add(Line("encryption", failing, error, text, reached: failing is not ("size" or "structure")));
    }

    private static void AddStructureLines(
        List<InspectionLine> lines, string token, JsonElement? header, JsonElement? payload, SecureTokenSettings settings, string? failing, TokenError? error,
        Action addEncryptionLine)
    {
        var size = Encoding.UTF8.GetByteCount(token);
        lines.Add(Line("size", failing, error, $"{size} bytes (at most {SecureTokenValidator.MaxTokenBytes})", reached: true));
        var parts = token.Split('.').Length;
        var shape = parts == 5 ? "an encrypted token (JWE, 5 parts)" : parts == 3 ? "a signed token (JWS, 3 parts)" : $"{parts} part(s): not a compact JWS";
        var readable = header is not null && payload is not null;
        lines.Add(Line("structure", failing, error,
            parts == 5 ? shape + (readable ? " holding a signed token (JWS, 3 parts)" : ", its content unreadable without the account's key")
            : readable ? shape : shape + ", header or payload unreadable",
            reached: failing != "size"));
        addEncryptionLine();
        if (header is not { } h)
        {
            return;
        }

        var alg = h.TryGetProperty("alg", out var a) ? a.ToString() : "(none)";
        var reachedAlg = failing is not ("size" or "structure" or "encryption");
        lines.Add(Line("alg", failing, error, $"{alg}; the account allows {string.Join(", ", settings.Algorithms)}", reachedAlg));
        var kid = h.TryGetProperty("kid", out var k) ? $"'{k}'" : null;
        var keys = settings.Method == TokenMethod.Hmac
            ? settings.Secrets.Select(s => s.Kid is null ? "(no kid)" : $"'{s.Kid}'")
            : settings.PublicKeys.Select(p => $"'{p.Kid}'");
        lines.Add(Line("kid", failing, error, (kid ?? "none: checked against the account's newest keys fitting its alg") + $"; account keys: {string.Join(", ", keys)}",
            reachedAlg && failing != "alg"));
        var signature = failing == "signature" ? "checked and invalid" : failing is null || !IsBeforeSignature(failing) ? "valid" : "not checked";
        lines.Add(Line("signature", failing, error, signature, reachedAlg && failing is not ("alg" or "kid")));
    }

    private static void AddClaimLines(
        List<InspectionLine> lines, JsonElement claims, SecureTokenSettings settings, Campaign campaign, DateTimeOffset now,
        string? failing, TokenError? error, bool signatureValid)
    {
        var note = signatureValid ? "" : " (unverified)";
        var sub = claims.TryGetProperty("sub", out var s) ? Quote(s) : "missing";
        lines.Add(Line("sub", failing, error, sub + note, signatureValid));

        var campaignClaim = claims.TryGetProperty("campaignId", out var c) ? CampaignText(c) : null;
        var matches = campaignClaim is not null && string.Equals(campaignClaim, campaign.Id, StringComparison.Ordinal);
        lines.Add(failing == "campaignId" ? Line("campaignId", failing, error, (campaignClaim ?? "missing") + note, true)
            : new InspectionLine("campaignId", !signatureValid ? null : error is null ? matches : PassedBefore(failing, error, "campaignId") ? true : null,
                (campaignClaim is null ? "missing" : matches ? $"{campaignClaim}: matches the campaign" : $"{campaignClaim}: another campaign than '{campaign.Id}' (403 token_campaign_mismatch)") + note));

        foreach (var name in TimeClaims)
        {
            var text = claims.TryGetProperty(name, out var t)
                ? t.ValueKind == JsonValueKind.Number && t.TryGetDouble(out var seconds)
                    ? Describe(DateTimeOffset.UnixEpoch.AddSeconds(seconds), now) + TimeHint(name, seconds, now, settings)
                    : $"{t.GetRawText()}: not a NumericDate"
                : name switch
                {
                    "exp" => settings.RequireExpiration ? "missing, and the account requires it" : "none: the token never expires",
                    "iat" => settings.MaxTokenAgeSeconds is null ? "none" : "missing, and the account limits token age",
                    _ => "none",
                };
            lines.Add(Line(name, failing, error, text + note, signatureValid));
        }

        lines.Add(Line("iss", failing, error, Expected(claims, "iss", settings.Issuer) + note, signatureValid));
        lines.Add(Line("aud", failing, error, Expected(claims, "aud", settings.Audience) + note, signatureValid));
        lines.Add(Line("jti", failing, error, (claims.TryGetProperty("jti", out var j)
            ? $"{Quote(j)} (the replay key: the token is accepted at most once)"
            : "none: the replay key is the SHA-256 of the token's signing input") + note, signatureValid));

        var policy = campaign.Rules;
        var nb = claims.TryGetProperty("limit", out var l) && l.ValueKind == JsonValueKind.Object && l.TryGetProperty("nb", out var n) && n.TryGetInt32(out var value) ? value : (int?)null;
        lines.Add(Line("limit", failing, error, (l.ValueKind == JsonValueKind.Undefined ? "none" : l.GetRawText()) +
            $"; this participant's limit: {policy.EffectiveLimit(nb)} (tokenLimit {campaign.TokenLimit.ToString().ToLowerInvariant()}, perParticipant {campaign.Limits.PerParticipant})" + note, signatureValid));
        lines.Add(Line("gift", failing, error, (claims.TryGetProperty("gift", out var g) ? g.GetRawText() : "none") + note, signatureValid));
        foreach (var name in new[] { "custom", "form", "optin" })
        {
            if (claims.TryGetProperty(name, out var data))
            {
                var members = data.ValueKind == JsonValueKind.Object ? data.EnumerateObject().Count() : 0;
                lines.Add(Line(name, failing, error, $"present ({members} member(s), kept on the accepted event; values not shown)" + note, signatureValid));
            }
        }
    }

    private static InspectionLine Line(string subject, string? failing, TokenError? error, string text, bool reached)
    {
        if (failing == subject)
        {
            return new InspectionLine(subject, false, $"{text}: {error!.Code}: {error.Detail}");
        }

        if (!reached)
        {
            return new InspectionLine(subject, null, text);
        }

        // Checks run in order and stop at the first failure: a claim is known good only when the whole token passed
        // or the failure came from a later step (lifetime, issuer, audience).
        return new InspectionLine(subject, error is null || PassedBefore(failing, error, subject) ? true : null, text);
    }

    private static bool IsBeforeSignature(string subject) => subject is "size" or "structure" or "encryption" or "alg" or "kid" or "signature";

    private static readonly string[] Order =
        ["size", "structure", "encryption", "alg", "kid", "signature", "sub", "campaignId", "iat", "nbf", "exp", "jti", "limit", "gift", "custom", "form", "optin", "iss", "aud"];

    /// <summary>Whether <paramref name="subject"/> was checked, and passed, before the check that failed.</summary>
    private static bool PassedBefore(string? failing, TokenError error, string subject)
    {
        var failed = failing is null ? -1 : Array.IndexOf(Order, failing);
        var index = Array.IndexOf(Order, subject);
        if (failed < 0 || index < 0)
        {
            return false;
        }

        // Lifetime (expired, not yet valid, too old, issued in the future) is checked after every claim's type.
        var lifetime = error.Code is TokenErrorCodes.Expired or TokenErrorCodes.NotYetValid or TokenErrorCodes.TooOld
            || (error.Code == TokenErrorCodes.ClaimInvalid && error.Detail.Contains("future", StringComparison.Ordinal));
        return lifetime ? subject is not ("iss" or "aud") : index < failed;
    }

    /// <summary>Which claim or step a validator error is about: its code, or the claim its detail names.</summary>
    private static string? FailingSubject(TokenError error) => error.Code switch
    {
        TokenErrorCodes.TooLarge => "size",
        TokenErrorCodes.Malformed or TokenErrorCodes.Missing => "structure",
        TokenErrorCodes.DecryptionFailed => "encryption",
        TokenErrorCodes.AlgorithmNotAllowed => "alg",
        TokenErrorCodes.KeyNotFound => "kid",
        TokenErrorCodes.InvalidSignature => "signature",
        TokenErrorCodes.Expired => "exp",
        TokenErrorCodes.NotYetValid => "nbf",
        TokenErrorCodes.TooOld => "iat",
        TokenErrorCodes.IssuerInvalid => "iss",
        TokenErrorCodes.AudienceInvalid => "aud",
        _ => Order.FirstOrDefault(name => error.Detail.Contains($"'{name}'", StringComparison.Ordinal)),
    };

    private static string TimeHint(string claim, double seconds, DateTimeOffset now, SecureTokenSettings settings)
    {
        var nowSeconds = now.ToUnixTimeMilliseconds() / 1000d;
        var skew = settings.ClockSkewSeconds;
        return claim switch
        {
            "exp" when seconds + skew < nowSeconds => $": expired (clock skew {skew} s)",
            "nbf" when seconds - skew > nowSeconds => $": not valid yet (clock skew {skew} s)",
            "iat" when seconds - skew > nowSeconds => ": in the future",
            "iat" when settings.MaxTokenAgeSeconds is { } max && nowSeconds - seconds > max + skew => $": older than the account's {max} s",
            _ => "",
        };
    }

    private static string Expected(JsonElement claims, string name, string? expected)
    {
        var present = claims.TryGetProperty(name, out var value) ? value.GetRawText() : null;
        return expected is null
            ? (present ?? "none") + " (the account does not check it)"
            : $"{present ?? "missing"}; the account expects \"{expected}\"";
    }

    private static string Describe(DateTimeOffset at, DateTimeOffset now)
    {
        var delta = at - now;
        var magnitude = delta.Duration();
        var amount = magnitude.TotalSeconds < 90 ? $"{Math.Round(magnitude.TotalSeconds)} s"
            : magnitude.TotalMinutes < 90 ? $"{Math.Round(magnitude.TotalMinutes)} min"
            : magnitude.TotalHours < 48 ? $"{Math.Round(magnitude.TotalHours)} h"
            : $"{Math.Round(magnitude.TotalDays)} days";
        return string.Create(CultureInfo.InvariantCulture, $"{at:yyyy-MM-dd HH:mm:ss}Z ({(delta < TimeSpan.Zero ? amount + " ago" : "in " + amount)})");
    }

    private static string Quote(JsonElement value) => value.ValueKind == JsonValueKind.String ? $"'{value.GetString()}'" : $"{value.GetRawText()} (not a string)";

    private static string? CampaignText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number when value.TryGetInt64(out var number) => number.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>Best-effort decoding of the header and payload, for display only: the validator decides.</summary>
    private static (JsonElement? Header, JsonElement? Payload) Decode(string token)
    {
        var parts = token.Split('.');
        return parts.Length == 3 ? (Json(parts[0]), Json(parts[1])) : (null, null);

        static JsonElement? Json(string part)
        {
            try
            {
                var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(part);
                using var document = JsonDocument.Parse(bytes);
                return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
            }
            catch (Exception ex) when (ex is FormatException or JsonException)
            {
                return null;
            }
        }
    }

    private static string MethodName(TokenMethod method) => method switch
    {
        TokenMethod.Hmac => "hmac",
        TokenMethod.PublicKey => "publicKey",
        TokenMethod.Jwks => "jwks",
        _ => method.ToString(),
    };

    public static string RuleSentence(string code) => code switch
    {
        RejectionCodes.ParticipantNotAllowed => "the partner does not allow this participant (limit.canPlay false)",
        RejectionCodes.ParticipationLimitReached => "the participant has used every participation the campaign allows",
        RejectionCodes.PeriodLimitReached => "the participant has used every participation allowed today",
        RejectionCodes.CooldownActive => "the participant took part too recently",
        RejectionCodes.CampaignFull => "the campaign has reached its maximum number of participations",
        RejectionCodes.CampaignNotOpen => "the campaign has not started yet",
        RejectionCodes.CampaignClosed => "the campaign has ended",
        _ => "refused by the campaign's rules",
    };
}

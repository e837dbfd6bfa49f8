using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Participation.Api.Accounts;
using Participation.Domain.Participations;

namespace Participation.Api.Auth;

/// <summary>
/// Verifies a partner's secure token (DESIGN.md, "Secure token") against the account's settings.
/// Precedence: size → structure/JSON → alg → key → signature → claims (missing, wrong type) → lifetime → iss/aud.
/// IdentityModel checks the signature only; every other rule is ours, from a strict parse of the token
/// (PLATFORM.md: "What the token library does not check for you"). Thread-safe; register as a singleton.
/// </summary>
public sealed partial class SecureTokenValidator
{
    /// <summary>The largest token accepted, in bytes (DESIGN.md: 8 KiB).</summary>
    public const int MaxTokenBytes = 8192;

    /// <summary>Longest <c>kid</c> header, and longest <c>sub</c>, string <c>campaignId</c>, <c>jti</c> and gift label, in UTF-8 bytes.</summary>
    public const int MaxIdentifierBytes = 256;

    private static readonly SearchValues<char> ControlCharacters =
        SearchValues.Create("\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f");

    // Known header members (indexes into HeaderNames).
    private const int HAlg = 0, HKid = 1, HCrit = 2;

    private static readonly byte[][] HeaderNames = ["alg"u8.ToArray(), "kid"u8.ToArray(), "crit"u8.ToArray()];

    // Known payload members (indexes into PayloadNames).
    private const int PSub = 0, PCampaignId = 1, PExp = 2, PNbf = 3, PIat = 4, PIss = 5, PAud = 6, PJti = 7,
        PLimit = 8, PGift = 9, PCustom = 10, PForm = 11, POptin = 12;

    private static readonly byte[][] PayloadNames =
    [
        "sub"u8.ToArray(), "campaignId"u8.ToArray(), "exp"u8.ToArray(), "nbf"u8.ToArray(), "iat"u8.ToArray(),
        "iss"u8.ToArray(), "aud"u8.ToArray(), "jti"u8.ToArray(), "limit"u8.ToArray(), "gift"u8.ToArray(),
        "custom"u8.ToArray(), "form"u8.ToArray(), "optin"u8.ToArray(),
    ];

    // NumericDate range DateTimeOffset can hold (years 0001..9999).
    private const double MinUnixSeconds = -62_135_596_800d;
    private const double MaxUnixSeconds = 253_402_300_799d;

    private readonly TimeProvider timeProvider;
    private readonly ILogger<SecureTokenValidator> logger;
    private readonly JsonWebTokenHandler handler = new() { MapInboundClaims = false };
    private readonly ConcurrentDictionary<string, SecureTokenKeyRing> keyRings = new(StringComparer.Ordinal);
    private readonly JwksKeySource? jwks;
    private readonly IDecryptionKeySource? decryptionKeys;

    /// <param name="jwks">Keys of <c>method: jwks</c> accounts; without it such accounts have no key.</param>
    /// <param name="decryptionKeys">The accounts' JWE decryption keys; without it no encrypted token can be decrypted.</param>
    public SecureTokenValidator(
        TimeProvider timeProvider, ILogger<SecureTokenValidator> logger, JwksKeySource? jwks = null, IDecryptionKeySource? decryptionKeys = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        this.timeProvider = timeProvider;
        this.logger = logger;
        this.jwks = jwks;
        this.decryptionKeys = decryptionKeys;
    }

    /// <summary>
    /// True when the token is over <see cref="MaxTokenBytes"/> UTF-8 bytes: lets an endpoint refuse a huge value
    /// (<c>token_too_large</c>) before doing anything else with it.
    /// </summary>
    public static bool IsTooLarge(ReadOnlySpan<char> token) =>
        token.Length > MaxTokenBytes || (!Ascii.IsValid(token) && Encoding.UTF8.GetByteCount(token) > MaxTokenBytes);

    /// <summary>
    /// Verifies <paramref name="token"/> for the account. Keys are built once per (<paramref name="accountId"/>,
    /// <paramref name="settingsVersion"/>): a new settings version must come with a new version number.
    /// Returns the verified token, or the error; never throws for a bad token.
    /// </summary>
    public async ValueTask<(SecureToken? Token, TokenError? Error)> ValidateAsync(
        string token, string accountId, long settingsVersion, SecureTokenSettings settings, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        ArgumentNullException.ThrowIfNull(settings);
        ct.ThrowIfCancellationRequested();

        var envelopeError = CheckEnvelope(token, settings, out var firstDot, out var secondDot, out var encrypted);
        if (envelopeError is not null)
        {
            return Fail(envelopeError);
        }

        if (encrypted)
        {
            // The JWE is only an envelope: the signed token inside goes through every check below, and gives the
            // replay key (its jti, or the hash of its own signing input).
            var (inner, decryptionError) = await DecryptAsync(token, accountId, ct).ConfigureAwait(false);
            if (decryptionError is not null)
            {
                return Fail(decryptionError);
            }

            token = inner!;
            firstDot = token.IndexOf('.', StringComparison.Ordinal);
            secondDot = token.IndexOf('.', firstDot + 1);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(token.Length);
        var parsed = default(ParsedToken);
        try
        {
            var error = Parse(token, firstDot, secondDot, buffer, ref parsed);
            if (error is not null)
            {
                return Fail(error);
            }

            var ring = GetKeyRing(accountId, settingsVersion, settings);
            KeySelection? selection;
            if (settings.Method == TokenMethod.Jwks)
            {
                // kid is mandatory with a JWKS; the allow-list is checked first, without fetching anything.
                error = !ring.IsAllowed(parsed.Algorithm) ? Errors.AlgNotAllowed
                    : !parsed.Header[HKid].Present ? Errors.JwksKidMissing
                    : null;
                selection = null;
                if (error is null && jwks is not null)
                {
                    ring = await jwks.GetRingAsync(accountId, settingsVersion, settings, ct).ConfigureAwait(false);
                    error = SelectKeys(buffer, ring, ref parsed, out selection);
                    if (ReferenceEquals(error, Errors.KidNotFound))
                    {
                        ring = await jwks.RefreshForUnknownKidAsync(accountId, settingsVersion, settings, ct).ConfigureAwait(false);
                        error = SelectKeys(buffer, ring, ref parsed, out selection);
                    }
                }
            }
            else
            {
                error = SelectKeys(buffer, ring, ref parsed, out selection);
            }

            if (error is not null || selection is null)
            {
                return Fail(error ?? Errors.NoFittingKey);
            }

            if (!await VerifySignatureAsync(token, buffer, parsed, selection).ConfigureAwait(false))
            {
                return Fail(Errors.InvalidSignature);
            }

            error = ReadClaims(token, buffer, ref parsed, settings, timeProvider.GetUtcNow(), out var verified);
            return error is null ? (verified, null) : Fail(error);
        }
        finally
        {
            // The buffer held the decoded payload (personal data): clear it before other requests reuse it.
            buffer.AsSpan(0, token.Length).Clear();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private (SecureToken? Token, TokenError? Error) Fail(TokenError error)
    {
        LogRefused(logger, error.Code);
        return (null, error);
    }

    private SecureTokenKeyRing GetKeyRing(string accountId, long settingsVersion, SecureTokenSettings settings)
    {
        if (keyRings.TryGetValue(accountId, out var ring) && ring.Version == settingsVersion)
        {
            return ring;
        }

        var built = SecureTokenKeyRing.Build(accountId, settingsVersion, settings, logger);

        // One ring per account, the newest version wins (a late request with older settings does not evict it).
        keyRings.AddOrUpdate(accountId, built, (_, existing) => existing.Version > settingsVersion ? existing : built);
        return built;
    }

    /// <summary>Size, presence, compact serialization shape and the account's encryption policy (steps 1–2).</summary>
    private static TokenError? CheckEnvelope(string? token, SecureTokenSettings settings, out int firstDot, out int secondDot, out bool encrypted)
    {
        firstDot = secondDot = -1;
        encrypted = false;
        if (token is null)
        {
            return Errors.Missing;
        }

        if (IsTooLarge(token))
        {
            return Errors.TooLarge;
        }

        if (string.IsNullOrWhiteSpace(token))
        {
            return Errors.Missing;
        }

        var dots = token.AsSpan().Count('.');
        if (dots == 4)
        {
            encrypted = settings.Encryption != TokenEncryption.None;
            return encrypted ? null : Errors.EncryptionNotAccepted;
        }

        if (dots != 2)
        {
            return Errors.NotCompactJws;
        }

        if (settings.Encryption == TokenEncryption.Required)
        {
            return Errors.EncryptionRequired;
        }

        firstDot = token.IndexOf('.', StringComparison.Ordinal);
        secondDot = token.IndexOf('.', firstDot + 1);
        return null;
    }

    /// <summary>
    /// A compact JWE (step 2): parsed strictly, then decrypted with the account's key named by its <c>kid</c> (or its
    /// newest two keys of the token's <c>alg</c>), giving the signed token inside. Every cryptographic failure is one
    /// answer (<see cref="Jwe.Errors.Failed"/>): see <see cref="Jwe"/>.
    /// </summary>
    private async ValueTask<(string? Inner, TokenError? Error)> DecryptAsync(string token, string accountId, CancellationToken ct)
    {
        var error = Jwe.TryParse(token, out var jwe);
        if (error is not null)
        {
            return (null, error);
        }

        var keys = decryptionKeys is null
            ? []
            : await decryptionKeys.FindAsync(accountId, jwe!.Kid, jwe.Algorithm, ct).ConfigureAwait(false);
        var plaintext = keys.Count == 0 ? null : Jwe.Decrypt(jwe!, keys);
        if (plaintext is null)
        {
            return (null, Jwe.Errors.Failed);
        }

        try
        {
            // The content must be a compact JWS: ASCII, three parts (their strict checks follow).
            return Ascii.IsValid(plaintext) && plaintext.AsSpan().Count((byte)'.') == 2
                ? (Encoding.ASCII.GetString(plaintext), null)
                : (null, Jwe.Errors.NotJws);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Strict base64url decoding of the three parts, strict JSON of header and payload, header rules (steps 2–4).</summary>
    private static TokenError? Parse(string token, int firstDot, int secondDot, byte[] buffer, ref ParsedToken parsed)
    {
        var chars = token.AsSpan();
        var headerChars = chars[..firstDot];
        var payloadChars = chars[(firstDot + 1)..secondDot];
        var signatureChars = chars[(secondDot + 1)..];

        if (!Base64UrlStrict.TryDecode(headerChars, buffer, out var headerLength))
        {
            return Errors.NotBase64Url;
        }

        parsed.PayloadStart = headerLength;
        if (!Base64UrlStrict.TryDecode(payloadChars, buffer.AsSpan(parsed.PayloadStart), out var payloadLength))
        {
            return Errors.NotBase64Url;
        }

        parsed.PayloadLength = payloadLength;
        parsed.SignatureStart = parsed.PayloadStart + payloadLength;
        if (!Base64UrlStrict.TryDecode(signatureChars, buffer.AsSpan(parsed.SignatureStart), out var signatureLength))
        {
            return Errors.NotBase64Url;
        }

        parsed.SignatureLength = signatureLength;
        parsed.SigningInputLength = secondDot;

        var header = buffer.AsSpan(0, headerLength);
        switch (StrictJson.ScanObject(header, HeaderNames, parsed.Header))
        {
            case JsonScanResult.DuplicateMember:
                return Errors.HeaderDuplicate;
            case JsonScanResult.Invalid:
                return Errors.HeaderNotJson;
        }

        switch (StrictJson.ScanObject(parsed.Payload(buffer), PayloadNames, parsed.Claims))
        {
            case JsonScanResult.DuplicateMember:
                return Errors.PayloadDuplicate;
            case JsonScanResult.Invalid:
                return Errors.PayloadNotJson;
        }

        var alg = parsed.Header[HAlg];
        if (alg.Type != JsonTokenType.String)
        {
            return Errors.AlgMissing;
        }

        if (parsed.Header[HCrit].Present)
        {
            return Errors.CritNotSupported;
        }

        var kid = parsed.Header[HKid];
        if (kid.Present && (kid.Type != JsonTokenType.String || Utf8Length(kid.Reader(header)) > MaxIdentifierBytes))
        {
            return Errors.KidInvalid;
        }

        // jku, jwk, x5u, x5c are never read: keys come from the account's configuration only.
        var algReader = alg.Reader(header);
        if (!JwsAlgorithms.TryMatch(ref algReader, out parsed.Algorithm))
        {
            return string.Equals(algReader.GetString(), "none", StringComparison.OrdinalIgnoreCase)
                ? Errors.AlgNone
                : Errors.AlgNotAllowed;
        }

        return null;
    }

    /// <summary>The allow-list and key selection (steps 4–5).</summary>
    private static TokenError? SelectKeys(byte[] buffer, SecureTokenKeyRing ring, ref ParsedToken parsed, out KeySelection? selection)
    {
        selection = null;
        if (!ring.IsAllowed(parsed.Algorithm))
        {
            return Errors.AlgNotAllowed;
        }

        var kid = parsed.Header[HKid];
        if (!kid.Present)
        {
            selection = ring.WithoutKid(parsed.Algorithm);
            return selection is null ? Errors.NoFittingKey : null;
        }

        // With a kid: that key only (the newest one carrying it, if the configuration repeats a kid).
        var kidReader = kid.Reader(buffer.AsSpan(0, parsed.PayloadStart));
        for (var i = ring.Keys.Count - 1; i >= 0; i--)
        {
            var key = ring.Keys[i];
            if (key.KidUtf8 is not null && kidReader.ValueTextEquals(key.KidUtf8) && ring.ForKey(i, parsed.Algorithm) is { } found)
            {
                selection = found;
                return null;
            }
        }

        return Errors.KidNotFound;
    }

    /// <summary>The signature, by IdentityModel, against the selected keys only, with the token's (allowed) algorithm pinned.</summary>
    private async Task<bool> VerifySignatureAsync(string token, byte[] buffer, ParsedToken parsed, KeySelection selection)
    {
        var result = await handler.ValidateTokenAsync(token, selection.Parameters).ConfigureAwait(false);
        if (result.IsValid)
        {
            return true;
        }

        if (result.Exception is SecurityTokenInvalidSignatureException or SecurityTokenInvalidAlgorithmException)
        {
            return false;
        }

        // IdentityModel refuses to even read some tokens our strict parser accepted: a registered claim of a
        // type it does not expect ("exp": "x", "sub": {}, "aud": 5, "typ": 5 in the header...), before looking
        // at the signature. Such a token must still get its exact code (token_claim_invalid, only once the
        // signature is known good), so verify the signature with IdentityModel's own crypto providers.
        return VerifyWithCryptoProviders(token, buffer, parsed, selection);
    }

    private static bool VerifyWithCryptoProviders(string token, byte[] buffer, ParsedToken parsed, KeySelection selection)
    {
        var input = Encoding.ASCII.GetBytes(token, 0, parsed.SigningInputLength);
        var signature = buffer.AsSpan(parsed.SignatureStart, parsed.SignatureLength).ToArray();
        var algorithm = JwsAlgorithms.Name(parsed.Algorithm);
        foreach (var key in selection.Keys)
        {
            var factory = key.CryptoProviderFactory ?? CryptoProviderFactory.Default;
            SignatureProvider? provider = null;
            try
            {
                provider = factory.CreateForVerifying(key, algorithm);
                if (provider.Verify(input, signature))
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException or NotSupportedException or InvalidOperationException)
            {
                // A key that cannot verify this signature: try the next one.
            }
            finally
            {
                if (provider is not null)
                {
                    factory.ReleaseSignatureProvider(provider);
                }
            }
        }

        return false;
    }

    /// <summary>Claims (step 6), from our own strict parse of the payload, once the signature is good.</summary>
    private static TokenError? ReadClaims(
        string token, byte[] buffer, ref ParsedToken parsed, SecureTokenSettings settings, DateTimeOffset now, out SecureToken? verified)
    {
        verified = null;
        var payload = parsed.Payload(buffer);
        var claims = parsed.Claims;

        // Required identity.
        if (!claims[PSub].Present)
        {
            return Errors.SubMissing;
        }

        if (!TryReadIdentifier(payload, claims[PSub], out var sub))
        {
            return Errors.SubInvalid;
        }

        if (!claims[PCampaignId].Present)
        {
            return Errors.CampaignMissing;
        }

        if (!TryReadCampaignId(payload, claims[PCampaignId], out var campaignId))
        {
            return Errors.CampaignInvalid;
        }

        // Times: types, then consistency.
        if (!TryReadNumericDate(payload, claims[PIat], out var iat))
        {
            return Errors.IatInvalid;
        }

        if (!TryReadNumericDate(payload, claims[PNbf], out var nbf))
        {
            return Errors.NbfInvalid;
        }

        if (!TryReadNumericDate(payload, claims[PExp], out var exp))
        {
            return Errors.ExpInvalid;
        }

        if (exp < iat)
        {
            return Errors.ExpBeforeIat;
        }

        if (settings.RequireExpiration && exp is null)
        {
            return Errors.ExpMissing;
        }

        if (settings.MaxTokenAgeSeconds is not null && iat is null)
        {
            return Errors.IatMissing;
        }

        // Optional claims.
        string? jti = null;
        if (claims[PJti].Present && !TryReadIdentifier(payload, claims[PJti], out jti))
        {
            return Errors.JtiInvalid;
        }

        LimitClaim? limit = null;
        if (claims[PLimit].Present && !TryReadLimit(payload, claims[PLimit], out limit))
        {
            return Errors.LimitInvalid;
        }

        GiftClaim? gift = null;
        if (claims[PGift].Present && !TryReadGift(payload, claims[PGift], out gift))
        {
            return Errors.GiftInvalid;
        }

        if (!TryReadPersonalObject(payload, claims[PCustom], out var custom))
        {
            return Errors.CustomInvalid;
        }

        if (!TryReadPersonalObject(payload, claims[PForm], out var form))
        {
            return Errors.FormInvalid;
        }

        if (!TryReadPersonalObject(payload, claims[POptin], out var optin))
        {
            return Errors.OptinInvalid;
        }

        // Lifetime, with the account's clock skew.
        var skew = (double)Math.Max(0, settings.ClockSkewSeconds);
        var nowSeconds = now.ToUnixTimeMilliseconds() / 1000d;
        if (iat > nowSeconds + skew)
        {
            return Errors.IatInFuture;
        }

        if (nowSeconds > exp + skew)
        {
            return Errors.Expired;
        }

        if (nowSeconds + skew < nbf)
        {
            return Errors.NotYetValid;
        }

        if (settings.MaxTokenAgeSeconds is { } maxAge && nowSeconds - iat > maxAge + skew)
        {
            return Errors.TooOld;
        }

        // Issuer and audience, when the account configures them.
        if (!string.IsNullOrEmpty(settings.Issuer) && !IssuerMatches(payload, claims[PIss], settings.Issuer))
        {
            return Errors.IssuerInvalid;
        }

        if (!string.IsNullOrEmpty(settings.Audience) && !AudienceMatches(payload, claims[PAud], settings.Audience))
        {
            return Errors.AudienceInvalid;
        }

        var replayKey = jti is not null ? "jti:" + jti : SigningInputReplayKey(token.AsSpan(0, parsed.SigningInputLength));
        verified = new SecureToken(
            sub,
            campaignId,
            jti,
            replayKey,
            ToDateTimeOffset(iat),
            ToDateTimeOffset(exp),
            limit,
            gift,
            custom is null && form is null && optin is null ? PersonalData.None : new PersonalData(custom, form, optin));
        return null;
    }

    /// <summary>The replay key of a token without <c>jti</c>: <c>sha256:</c> + lowercase hex SHA-256 of the ASCII signing input.</summary>
    internal static string SigningInputReplayKey(ReadOnlySpan<char> signingInput)
    {
        var rented = ArrayPool<byte>.Shared.Rent(signingInput.Length);
        try
        {
            var length = Encoding.ASCII.GetBytes(signingInput, rented);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(rented.AsSpan(0, length), hash);
            return string.Concat("sha256:", Convert.ToHexStringLower(hash));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A non-empty string of at most 256 UTF-8 bytes without control characters (sub, string campaignId, jti).</summary>
    private static bool TryReadIdentifier(ReadOnlySpan<byte> payload, JsonMember member, out string value)
    {
        value = string.Empty;
        if (member.Type != JsonTokenType.String)
        {
            return false;
        }

        var reader = member.Reader(payload);
        return TryReadText(ref reader, out value) && value.Length > 0;
    }

    /// <summary>A string (possibly empty) of at most 256 UTF-8 bytes without control characters.</summary>
    private static bool TryReadText(ref Utf8JsonReader reader, out string value)
    {
        value = string.Empty;
        if (reader.TokenType != JsonTokenType.String || Utf8Length(reader) > MaxIdentifierBytes)
        {
            return false;
        }

        value = reader.GetString()!;
        return !value.AsSpan().ContainsAny(ControlCharacters);
    }

    /// <summary>A string identifier, or a non-negative JSON integer kept in its decimal form.</summary>
    private static bool TryReadCampaignId(ReadOnlySpan<byte> payload, JsonMember member, out string value)
    {
        if (member.Type == JsonTokenType.Number)
        {
            // JSON forbids leading zeros and "+", so digits only means a canonical non-negative integer.
            var digits = member.Slice(payload);
            value = string.Empty;
            if (digits.Length > MaxIdentifierBytes || digits.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                return false;
            }

            value = Encoding.ASCII.GetString(digits);
            return true;
        }

        return TryReadIdentifier(payload, member, out value);
    }

    /// <summary>An optional NumericDate: absent, or a finite JSON number (seconds, may be fractional) DateTimeOffset can hold.</summary>
    private static bool TryReadNumericDate(ReadOnlySpan<byte> payload, JsonMember member, out double? seconds)
    {
        seconds = null;
        if (!member.Present)
        {
            return true;
        }

        if (member.Type != JsonTokenType.Number)
        {
            return false;
        }

        var reader = member.Reader(payload);
        if (!reader.TryGetDouble(out var value) || !double.IsFinite(value) || value < MinUnixSeconds || value > MaxUnixSeconds)
        {
            return false;
        }

        seconds = value;
        return true;
    }

    /// <summary><c>{ "nb": int &gt;= 0, "canPlay": bool }</c>, at least one of the two; other members are ignored.</summary>
    private static bool TryReadLimit(ReadOnlySpan<byte> payload, JsonMember member, out LimitClaim? limit)
    {
        limit = null;
        if (member.Type != JsonTokenType.StartObject)
        {
            return false;
        }

        int? nb = null;
        bool? canPlay = null;
        var reader = member.Reader(payload);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("nb"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var value) || value < 0)
                {
                    return false;
                }

                nb = value;
            }
            else if (reader.ValueTextEquals("canPlay"u8))
            {
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    return false;
                }

                canPlay = reader.GetBoolean();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (nb is null && canPlay is null)
        {
            return false;
        }

        limit = new LimitClaim(nb, canPlay);
        return true;
    }

    /// <summary><c>{ "label": string, "cw": bool }</c>, each optional but of the right type; other members are ignored.</summary>
    private static bool TryReadGift(ReadOnlySpan<byte> payload, JsonMember member, out GiftClaim? gift)
    {
        gift = null;
        if (member.Type != JsonTokenType.StartObject)
        {
            return false;
        }

        string? label = null;
        bool? canWin = null;
        var reader = member.Reader(payload);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("label"u8))
            {
                reader.Read();
                if (!TryReadText(ref reader, out var text))
                {
                    return false;
                }

                label = text;
            }
            else if (reader.ValueTextEquals("cw"u8))
            {
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    return false;
                }

                canWin = reader.GetBoolean();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        gift = new GiftClaim(label, canWin);
        return true;
    }

    /// <summary><c>custom</c>, <c>form</c>, <c>optin</c>: absent, or a JSON object with no U+0000 in any string (PostgreSQL jsonb refuses it).</summary>
    private static bool TryReadPersonalObject(ReadOnlySpan<byte> payload, JsonMember member, out JsonElement? value)
    {
        value = null;
        if (!member.Present)
        {
            return true;
        }

        if (member.Type != JsonTokenType.StartObject || member.HasNul)
        {
            return false;
        }

        // ParseValue returns an element that owns its data (a clone), independent of the pooled buffer.
        var reader = member.Reader(payload);
        value = JsonElement.ParseValue(ref reader);
        return true;
    }

    private static bool IssuerMatches(ReadOnlySpan<byte> payload, JsonMember member, string issuer)
    {
        if (member.Type != JsonTokenType.String)
        {
            return false;
        }

        var reader = member.Reader(payload);
        return reader.ValueTextEquals(issuer);
    }

    /// <summary>A string equal to the audience, or an array of strings one of which is.</summary>
    private static bool AudienceMatches(ReadOnlySpan<byte> payload, JsonMember member, string audience)
    {
        if (member.Type is not (JsonTokenType.String or JsonTokenType.StartArray))
        {
            return false;
        }

        var reader = member.Reader(payload);
        if (member.Type == JsonTokenType.String)
        {
            return reader.ValueTextEquals(audience);
        }

        var found = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return false;
            }

            found |= reader.ValueTextEquals(audience);
        }

        return found;
    }

    /// <summary>UTF-8 length of the string the reader is on, unescaped.</summary>
    private static int Utf8Length(Utf8JsonReader reader) =>
        reader.ValueIsEscaped ? Encoding.UTF8.GetByteCount(reader.GetString()!) : reader.ValueSpan.Length;

    private static DateTimeOffset? ToDateTimeOffset(double? seconds) =>
        seconds is { } s ? DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(s * TimeSpan.TicksPerSecond)) : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Secure token refused: {Code}")]
    private static partial void LogRefused(ILogger logger, string code);

    /// <summary>Where the parts of the token lie in the decoding buffer, and what the strict parse found.</summary>
    private struct ParsedToken
    {
        public int PayloadStart;
        public int PayloadLength;
        public int SignatureStart;
        public int SignatureLength;
        public int SigningInputLength;
        public JwsAlgorithm Algorithm;
        public JsonMembers Header;
        public JsonMembers Claims;

        public readonly ReadOnlySpan<byte> Payload(byte[] buffer) => buffer.AsSpan(PayloadStart, PayloadLength);
    }

    /// <summary>The refusals. Details are fixed sentences: never the token, a part of it, a claim value or a secret.</summary>
    private static class Errors
    {
        public static readonly TokenError Missing = new(TokenErrorCodes.Missing, "No secure token was provided.");
        public static readonly TokenError TooLarge = new(TokenErrorCodes.TooLarge, $"The secure token is larger than {MaxTokenBytes} bytes.");
        public static readonly TokenError NotCompactJws = new(TokenErrorCodes.Malformed, "The secure token is not a compact JWS (three dot-separated parts).");
        public static readonly TokenError NotBase64Url = new(TokenErrorCodes.Malformed, "A part of the secure token is not canonical unpadded base64url.");
        public static readonly TokenError HeaderNotJson = new(TokenErrorCodes.Malformed, "The token header is not a valid JSON object.");
        public static readonly TokenError HeaderDuplicate = new(TokenErrorCodes.Malformed, "The token header has a duplicated member.");
        public static readonly TokenError PayloadNotJson = new(TokenErrorCodes.Malformed, "The token payload is not a valid JSON object.");
        public static readonly TokenError PayloadDuplicate = new(TokenErrorCodes.Malformed, "The token payload has a duplicated member.");
        public static readonly TokenError AlgMissing = new(TokenErrorCodes.Malformed, "The token header has no 'alg' string.");
        public static readonly TokenError CritNotSupported = new(TokenErrorCodes.Malformed, "The token header has a 'crit' member; no JWS extension is supported.");
        public static readonly TokenError KidInvalid = new(TokenErrorCodes.Malformed, "The token header's 'kid' must be a string of at most 256 bytes.");
        public static readonly TokenError AlgNone = new(TokenErrorCodes.AlgorithmNotAllowed, "Unsigned tokens (alg 'none') are never accepted.");
        public static readonly TokenError AlgNotAllowed = new(TokenErrorCodes.AlgorithmNotAllowed, "The token's algorithm is not allowed for this account.");
        public static readonly TokenError NoFittingKey = new(TokenErrorCodes.KeyNotFound, "This account has no key for the token's algorithm.");
        public static readonly TokenError KidNotFound = new(TokenErrorCodes.KeyNotFound, "This account has no key with the token's 'kid' for its algorithm.");
        public static readonly TokenError JwksKidMissing = new(TokenErrorCodes.KeyNotFound, "This account's keys come from a JWKS: the token's header must name its key ('kid').");
        public static readonly TokenError InvalidSignature = new(TokenErrorCodes.InvalidSignature, "The token's signature does not match the account's keys.");
        public static readonly TokenError EncryptionNotAccepted = new(TokenErrorCodes.DecryptionFailed, "This account does not accept encrypted tokens.");
        public static readonly TokenError EncryptionRequired = new(TokenErrorCodes.DecryptionFailed, "This account requires encrypted tokens.");
        public static readonly TokenError SubMissing = new(TokenErrorCodes.MissingClaim, "The token has no 'sub' claim.");
        public static readonly TokenError SubInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'sub' claim must be a non-empty string of at most 256 bytes without control characters.");
        public static readonly TokenError CampaignMissing = new(TokenErrorCodes.MissingClaim, "The token has no 'campaignId' claim.");
        public static readonly TokenError CampaignInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'campaignId' claim must be a non-empty string or a non-negative integer.");
        public static readonly TokenError IatInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'iat' claim must be a NumericDate (a JSON number).");
        public static readonly TokenError NbfInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'nbf' claim must be a NumericDate (a JSON number).");
        public static readonly TokenError ExpInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'exp' claim must be a NumericDate (a JSON number).");
        public static readonly TokenError ExpBeforeIat = new(TokenErrorCodes.ClaimInvalid, "The token expires ('exp') before it was issued ('iat').");
        public static readonly TokenError ExpMissing = new(TokenErrorCodes.MissingClaim, "This account requires an 'exp' claim.");
        public static readonly TokenError IatMissing = new(TokenErrorCodes.MissingClaim, "This account limits token age and requires an 'iat' claim.");
        public static readonly TokenError JtiInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'jti' claim must be a non-empty string of at most 256 bytes without control characters.");
        public static readonly TokenError LimitInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'limit' claim must be an object with 'nb' (integer >= 0) and/or 'canPlay' (boolean).");
        public static readonly TokenError GiftInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'gift' claim must be an object with an optional 'label' (string) and 'cw' (boolean).");
        public static readonly TokenError CustomInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'custom' claim must be a JSON object without NUL characters.");
        public static readonly TokenError FormInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'form' claim must be a JSON object without NUL characters.");
        public static readonly TokenError OptinInvalid = new(TokenErrorCodes.ClaimInvalid, "The 'optin' claim must be a JSON object without NUL characters.");
        public static readonly TokenError IatInFuture = new(TokenErrorCodes.ClaimInvalid, "The token was issued ('iat') in the future.");
        public static readonly TokenError Expired = new(TokenErrorCodes.Expired, "The token has expired.");
        public static readonly TokenError NotYetValid = new(TokenErrorCodes.NotYetValid, "The token is not valid yet ('nbf').");
        public static readonly TokenError TooOld = new(TokenErrorCodes.TooOld, "The token was issued too long ago for this account.");
        public static readonly TokenError IssuerInvalid = new(TokenErrorCodes.IssuerInvalid, "The token's 'iss' claim is not the account's issuer.");
        public static readonly TokenError AudienceInvalid = new(TokenErrorCodes.AudienceInvalid, "The token's 'aud' claim does not name the account's audience.");
    }
}

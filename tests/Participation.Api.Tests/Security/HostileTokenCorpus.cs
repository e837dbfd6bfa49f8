using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Participation.Api.Tests.Infrastructure;
using static Participation.Api.Auth.TokenErrorCodes;

namespace Participation.Api.Tests.Security;

/// <summary>How an attack reaches <c>POST /v1/campaigns/{id}/participations</c>.</summary>
public enum Via
{
    /// <summary>Form field <c>qual_token</c> (the partner page's usual way).</summary>
    Form,

    /// <summary>Query parameter <c>qual_token</c>.</summary>
    Query,

    /// <summary><c>Authorization: Bearer</c>.</summary>
    Bearer,

    /// <summary>JSON body <c>{"token": ...}</c>.</summary>
    Json,

    /// <summary><see cref="Attack.Raw"/> as a form body, byte for byte.</summary>
    RawForm,

    /// <summary><see cref="Attack.Raw"/> as a JSON body, byte for byte.</summary>
    RawJson,

    /// <summary><see cref="Attack.Token"/> in the query and <see cref="Attack.Second"/> as Bearer.</summary>
    QueryAndBearer,

    /// <summary><see cref="Attack.Token"/> and <see cref="Attack.Second"/> both as query <c>qual_token</c>.</summary>
    QueryTwice,

    /// <summary><c>Authorization: Basic</c> carrying the token.</summary>
    Basic,
}

/// <summary>
/// One hostile request. <see cref="Token"/> (and <see cref="Second"/>, <see cref="Raw"/>, <see cref="Canaries"/>)
/// must never come back in the answer nor reach the logs.
/// </summary>
public sealed record Attack(string Campaign, Via Via, string Token, string? Second = null, byte[]? Raw = null, IReadOnlyList<string>? Canaries = null);

/// <summary>One case of the corpus: where it comes from, what the service must answer, and why (docs/design.md).</summary>
public sealed record HostileCase(string Name, string Source, HttpStatusCode Status, string Code, string Why, Func<HostileWorld, Attack> Build)
{
    public override string ToString() => Name;
}

/// <summary>
/// The hostile token corpus: RFC 8725 (JWT BCP) sections, the attacks of jwt_tool (<c>-X a/n/b/s/k/i</c>) and its
/// playbook, CVEs of JWT libraries, and the contract's own strictness rules. Every case is a request an attacker
/// can send; none may be accepted, change state, echo the token or reach the logs.
/// </summary>
public static class HostileTokenCorpus
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private const string Hs256Header = """{"alg":"HS256","typ":"JWT"}""";

    // Sources.
    private const string Rfc8725Alg = "RFC 8725 §2.1, §3.1 (algorithm verification)";
    private const string Rfc8725Crypto = "RFC 8725 §3.3, §3.4 (validate all cryptographic operations and inputs)";
    private const string Rfc8725Json = "RFC 8725 §2.6 (multiplicity of JSON encodings), RFC 7515 §5.2";
    private const string Rfc8725Utf8 = "RFC 8725 §3.7 (use UTF-8)";
    private const string Rfc8725Indirect = "RFC 8725 §2.9, §3.10 (indirect attacks, do not trust received claims)";
    private const string Rfc8725Substitution = "RFC 8725 §2.7, §2.8 (substitution, cross-JWT confusion)";
    private const string Rfc8725Composition = "RFC 8725 §2.3 (composition of encryption and signature)";
    private const string Rfc7515Base64 = "RFC 7515 §2 (unpadded base64url), RFC 4648 §3.5 (canonical encoding)";
    private const string Rfc7519Claims = "RFC 7519 §4.1 (registered claim types), DESIGN.md claim table";
    private const string DesignSize = "DESIGN.md (8 KiB token cap), OWASP API4 (resource consumption)";

    // Why: one line per family, each from docs/design.md.
    private const string WhyNone = "design.md Tokens: alg none in any casing is token_algorithm_not_allowed, never 'unsigned accepted'.";
    private const string WhyAllowList = "design.md Tokens: an alg outside the account's allow-list is token_algorithm_not_allowed, before any key is used.";
    private const string WhyAlgShape = "design.md Tokens: a missing or non-string alg is token_malformed (structure before algorithm).";
    private const string WhySignature = "Structure and algorithm are fine, the signature does not verify with the account's keys: token_invalid_signature.";
    private const string WhyEmbeddedKey = "design.md Tokens: jku, jwk, x5u, x5c are never used to find keys; the attacker's signature fails against the account's keys.";
    private const string WhyKid = "design.md Key selection: a kid is matched exactly against configured kids only (no file, URL or SQL lookup): key_not_found.";
    private const string WhyKidShape = "design.md Tokens: a non-string kid, or one over 256 bytes, is token_malformed.";
    private const string WhyCrit = "design.md Tokens: a crit header is token_malformed (no JWS extension is understood, RFC 7515 §4.1.11).";
    private const string WhyTamper = "The signature covers header and payload exactly as encoded: any change breaks it (token_invalid_signature).";
    private const string WhyClaimType = "DESIGN.md: a claim of the wrong JSON type or out of its rules is token_claim_invalid (checked after a valid signature).";
    private const string WhyMissing = "DESIGN.md: sub and campaignId are required: token_missing_claim.";
    private const string WhyDuplicate = "DESIGN.md: a duplicated JSON member at any depth is token_malformed, never 'last one wins'.";
    private const string WhyBase64 = "design.md Tokens: parts are canonical unpadded base64url; anything else (padding, +/, spare bits, whitespace) is token_malformed.";
    private const string WhyWhitespace = "design.md Tokens: the service never trims a credential: surrounding or inner whitespace is token_malformed.";
    private const string WhySize = "DESIGN.md: a token over 8 KiB (UTF-8 bytes) is token_too_large, refused before parsing.";
    private const string WhyRawChars = "A character outside base64url and '.' is token_malformed (structure is checked first).";
    private const string WhyJson = "Header and payload must each be one strict JSON object (RFC 8259, valid UTF-8, depth <= 64): token_malformed.";
    private const string WhyTimes = "design.md Tokens: exp < iat and iat in the future are token_claim_invalid; a NumericDate out of range is token_claim_invalid.";
    private const string WhyJwe = "design.md Tokens: five parts is a JWE; this account does not accept encrypted tokens: token_decryption_failed (before any parsing).";
    private const string WhyParts = "Anything but three (JWS) or five (JWE) dot-separated parts is token_malformed.";
    private const string WhyMismatch = "design.md Order of checks: a verified token for another campaign is 403 token_campaign_mismatch, recording nothing.";
    private const string WhyCrossAccount = "Keys come from the campaign's account only: another account's key or token fails the signature.";
    private const string WhyAmbiguous = "DESIGN.md: two different tokens in one request are 400 token_ambiguous.";
    private const string WhyBody = "A JSON body must be exactly {\"token\": string} (strict reader: no duplicates, valid UTF-8): 400 request_invalid.";

    private static readonly HttpStatusCode Unauthorized = HttpStatusCode.Unauthorized;

    public static IReadOnlyList<HostileCase> All { get; } = [.. Build()];

    private static HostileCase Case(string name, string source, string code, string why, Func<HostileWorld, Attack> build) =>
        new(name, source, Unauthorized, code, why, build);

    private static HostileCase Case(string name, string source, HttpStatusCode status, string code, string why, Func<HostileWorld, Attack> build) =>
        new(name, source, status, code, why, build);

    private static IEnumerable<HostileCase> Build()
    {
        // ---- alg: none, every casing of the four letters (jwt_tool -X a) --------------------------------------
        foreach (var none in Casings("none"))
        {
            yield return Case($"alg-none-casing-{none}", Rfc8725Alg + "; jwt_tool -X a; CVE-2015-9235", AlgorithmNotAllowed, WhyNone,
                w => Form(w.Hmac, TestTokens.Unsigned(w.Claims(w.Hmac), none)));
        }

        yield return Case("alg-none-keeping-the-original-signature", Rfc8725Alg, AlgorithmNotAllowed, WhyNone,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { alg = "none" })));
        yield return Case("alg-none-via-bearer", Rfc8725Alg, AlgorithmNotAllowed, WhyNone,
            w => new Attack(w.Hmac, Via.Bearer, TestTokens.Unsigned(w.Claims(w.Hmac), "None")));
        yield return Case("alg-none-via-json-body", Rfc8725Alg, AlgorithmNotAllowed, WhyNone,
            w => new Attack(w.Hmac, Via.Json, TestTokens.Unsigned(w.Claims(w.Hmac), "NONE")));
        yield return Case("alg-none-via-query", Rfc8725Alg, AlgorithmNotAllowed, WhyNone,
            w => new Attack(w.Hmac, Via.Query, TestTokens.Unsigned(w.Claims(w.Hmac))));
        yield return Case("alg-none-at-a-public-key-account", Rfc8725Alg, AlgorithmNotAllowed, WhyNone,
            w => Form(w.Pub, TestTokens.Unsigned(w.Claims(w.Pub))));
        yield return Case("alg-none-without-the-signature-part", Rfc8725Alg, Malformed, WhyParts,
            w => Form(w.Hmac, TestTokens.Unsigned(w.Claims(w.Hmac)).TrimEnd('.')));
        yield return Case("alg-none-with-trailing-space", Rfc8725Alg, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Hmac, TestTokens.Unsigned(w.Claims(w.Hmac), "none ")));
        yield return Case("alg-empty-string", Rfc8725Alg, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { alg = "" })));
        yield return Case("alg-missing", Rfc8725Alg, Malformed, WhyAlgShape,
            w => Form(w.Hmac, w.HsRaw("""{"typ":"JWT"}""", w.PayloadJson(w.Hmac))));
        yield return Case("alg-null", Rfc8725Alg, Malformed, WhyAlgShape,
            w => Form(w.Hmac, w.HsRaw("""{"alg":null}""", w.PayloadJson(w.Hmac))));
        yield return Case("alg-number", Rfc8725Alg, Malformed, WhyAlgShape,
            w => Form(w.Hmac, w.HsRaw("""{"alg":256}""", w.PayloadJson(w.Hmac))));
        yield return Case("alg-array", Rfc8725Alg, Malformed, WhyAlgShape,
            w => Form(w.Hmac, w.HsRaw("""{"alg":["HS256"]}""", w.PayloadJson(w.Hmac))));
        yield return Case("alg-lowercase-hs256", Rfc8725Alg + "; RFC 7518 §3.1 (case-sensitive names)", AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { alg = "hs256" })));

        // ---- signature stripped, emptied, forged ------------------------------------------------------------
        yield return Case("signature-stripped", Rfc8725Crypto + "; jwt_tool -X n", InvalidSignature, WhySignature,
            w => Form(w.Hmac, TestTokens.StripSignature(w.Hs(w.Claims(w.Hmac)))));
        yield return Case("signature-all-zero-bytes", Rfc8725Crypto, InvalidSignature, WhySignature,
            w => Form(w.Hmac, WithSignature(w.Hs(w.Claims(w.Hmac)), new byte[32])));
        yield return Case("signature-one-bit-flipped", Rfc8725Crypto, InvalidSignature, WhySignature,
            w => Form(w.Hmac, MapSignature(w.Hs(w.Claims(w.Hmac)), s => { s[0] ^= 1; return s; })));
        yield return Case("signature-truncated-to-16-bytes", Rfc8725Crypto, InvalidSignature, WhySignature,
            w => Form(w.Hmac, MapSignature(w.Hs(w.Claims(w.Hmac)), s => s[..16])));
        yield return Case("signature-doubled", Rfc8725Crypto, InvalidSignature, WhySignature,
            w => Form(w.Hmac, MapSignature(w.Hs(w.Claims(w.Hmac)), s => [.. s, .. s])));
        yield return Case("signature-of-another-token", Rfc8725Crypto, InvalidSignature, WhySignature,
            w => Form(w.Hmac, SigningInput(w.Hs(w.Claims(w.Hmac))) + "." + Part(w.Hs(w.Claims(w.Hmac)), 2)));
        yield return Case("signature-with-an-empty-hmac-key", "jwt_tool -X b (blank password)", InvalidSignature, WhySignature,
            w => Form(w.Hmac, HmacRaw([], Hs256Header, w.PayloadJson(w.Hmac))));
        yield return Case("signature-with-a-guessed-weak-secret", "RFC 8725 §3.5; jwt_tool -C (dictionary crack)", InvalidSignature, WhySignature,
            w => Form(w.Hmac, HmacRaw("secret"u8.ToArray(), Hs256Header, w.PayloadJson(w.Hmac))));
        yield return Case("psychic-signature-es256-all-zero", "CVE-2022-21449 (ECDSA r = s = 0)", InvalidSignature, WhySignature,
            w => Form(w.Pub, WithSignature(TestTokens.Asymmetric("ES256", w.Claims(w.Pub)), new byte[64])));
        yield return Case("es256-signature-in-der-form", Rfc8725Crypto + "; RFC 7518 §3.4 (R || S only)", InvalidSignature, WhySignature,
            w => Form(w.Pub, EcdsaDer(w.PayloadJson(w.Pub))));

        // ---- algorithm switched (key confusion, jwt_tool -X k) ---------------------------------------------------
        yield return Case("rs-to-hs-with-the-public-key-pem-as-secret", Rfc8725Alg + "; jwt_tool -X k; CVE-2016-10555", AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, HmacRaw(Encoding.UTF8.GetBytes(TestTokens.Rsa.PublicKeyPem), Hs256Header, w.PayloadJson(w.Pub))));
        yield return Case("rs-to-hs-with-the-public-key-pem-and-its-kid", Rfc8725Alg + "; jwt_tool -X k", AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, HmacRaw(Encoding.UTF8.GetBytes(TestTokens.Rsa.PublicKeyPem), """{"alg":"HS256","kid":"rsa-1"}""", w.PayloadJson(w.Pub))));
        yield return Case("rs-to-hs-with-the-pem-without-final-newline", Rfc8725Alg + "; jwt_tool -X k", AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, HmacRaw(Encoding.UTF8.GetBytes(TestTokens.Rsa.PublicKeyPem.TrimEnd()), Hs256Header, w.PayloadJson(w.Pub))));
        yield return Case("rs-to-hs-with-the-der-public-key-as-secret", Rfc8725Alg + "; CVE-2015-9235", AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, HmacRaw(PublicKeyDer(TestTokens.Rsa), Hs256Header, w.PayloadJson(w.Pub))));
        yield return Case("rs-to-hs-with-the-der-public-key-and-its-kid", Rfc8725Alg + "; CVE-2015-9235", AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, HmacRaw(PublicKeyDer(TestTokens.Rsa), """{"alg":"HS256","kid":"rsa-1"}""", w.PayloadJson(w.Pub))));
        yield return Case("rs-to-hs-with-the-pkcs1-der-public-key", Rfc8725Alg + "; CVE-2015-9235", AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, HmacRaw(((RsaSecurityKey)TestTokens.Rsa.SigningKey).Rsa.ExportRSAPublicKey(), Hs256Header, w.PayloadJson(w.Pub))));
        yield return Case("es-to-hs-with-the-ec-public-key-pem", Rfc8725Alg, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, HmacRaw(Encoding.UTF8.GetBytes(TestTokens.EcP256.PublicKeyPem), Hs256Header, w.PayloadJson(w.Pub))));
        yield return Case("ps256-with-the-real-key-but-not-allowed", Rfc8725Alg, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, TestTokens.Asymmetric("PS256", w.Claims(w.Pub))));
        yield return Case("rs512-with-the-real-key-but-not-allowed", Rfc8725Alg, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Pub, TestTokens.Asymmetric("RS512", w.Claims(w.Pub))));
        yield return Case("hs512-at-an-hs256-account", Rfc8725Alg, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Hmac, TestTokens.Hmac("HS512", TestTokens.Secret, w.Claims(w.Hmac))));
        yield return Case("rs256-at-an-hmac-account", Rfc8725Alg, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Hmac, TestTokens.Asymmetric("RS256", w.Claims(w.Hmac))));
        yield return Case("jwe-algorithm-in-a-jws-header", Rfc8725Composition, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { alg = "RSA-OAEP-256", enc = "A256GCM" })));
        yield return Case("alg-dir-in-a-jws-header", Rfc8725Composition, AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { alg = "dir" })));
        yield return Case("rs256-signed-by-the-attackers-key", Rfc8725Crypto, InvalidSignature, WhySignature,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub))));
        yield return Case("rs256-by-the-attacker-with-the-victims-kid", Rfc8725Crypto, InvalidSignature, WhySignature,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub), new { kid = "rsa-1" })));
        yield return Case("rs256-naming-the-ec-keys-kid", Rfc8725Alg, KeyNotFound, "design.md Key selection: a kid naming a key of another type is key_not_found.",
            w => Form(w.Pub, TestTokens.Asymmetric("RS256", w.Claims(w.Pub), kid: "ec-1")));

        // ---- key confusion across accounts, substitution ---------------------------------------------------------
        yield return Case("signed-with-another-accounts-secret", Rfc8725Substitution, InvalidSignature, WhyCrossAccount,
            w => Form(w.Hmac, TestTokens.Hs256(HostileWorld.OtherSecret, w.Claims(w.Hmac))));
        yield return Case("another-accounts-valid-token", Rfc8725Substitution, InvalidSignature, WhyCrossAccount,
            w => Form(w.Hmac, TestTokens.Hs256(HostileWorld.OtherSecret, w.Claims(w.Other)), w.Other));
        yield return Case("this-accounts-valid-token-at-another-account", Rfc8725Substitution, InvalidSignature, WhyCrossAccount,
            w => Form(w.Other, w.Hs(w.Claims(w.Hmac)), w.Hmac));
        yield return Case("valid-token-for-a-sibling-campaign", Rfc8725Substitution, HttpStatusCode.Forbidden, "token_campaign_mismatch", WhyMismatch,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac2)), w.Hmac2));
        yield return Case("campaign-id-with-a-trailing-space", Rfc8725Substitution, HttpStatusCode.Forbidden, "token_campaign_mismatch", WhyMismatch + " Ids compare exactly.",
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac + " "))));
        yield return Case("campaign-id-in-upper-case", Rfc8725Substitution, HttpStatusCode.Forbidden, "token_campaign_mismatch", WhyMismatch + " Ids compare exactly.",
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac.ToUpperInvariant())), w.Hmac.ToUpperInvariant()));
        yield return Case("campaign-id-a-huge-integer", Rfc8725Substitution, HttpStatusCode.Forbidden, "token_campaign_mismatch", WhyMismatch + " An integer campaignId compares by its decimal form.",
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, campaignJson: "123456789012345678901234567890123456789")), "123456789012345678901234567890123456789"));
        yield return Case("token-without-iss-at-an-issuer-checking-account", "RFC 8725 §3.8", "token_issuer_invalid", "design.md Tokens: with an issuer configured, a missing iss is token_issuer_invalid.",
            w => Form(w.Strict, TestTokens.Hs256(HostileWorld.StrictSecret, w.Claims(w.Strict))));

        // ---- embedded keys: jwk, jku, x5u, x5c (jwt_tool -X i, -X s) ---------------------------------------------
        yield return Case("embedded-jwk-of-the-attackers-rsa-key", "CVE-2018-0114; jwt_tool -X i", InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub), new { jwk = w.AttackerJwk })));
        yield return Case("embedded-jwk-of-an-attackers-hmac-key", "jwt_tool -X i", InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Hmac, TestTokens.Sign("HS256", TestTokens.HmacKey(HostileWorld.AttackerSecret), w.Claims(w.Hmac),
                new { jwk = new { kty = "oct", k = TestTokens.Base64Url(HostileWorld.AttackerSecret) } })));
        yield return Case("jku-pointing-at-the-attackers-jwks", Rfc8725Indirect + "; jwt_tool -X s", InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub), new { jku = w.AttackerJku })));
        yield return Case("jku-with-the-victims-kid", Rfc8725Indirect + "; jwt_tool -X s", InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub), new { kid = "rsa-1", jku = w.AttackerJku })));
        yield return Case("x5u-pointing-at-the-attackers-certificate", Rfc8725Indirect, InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub), new { x5u = w.AttackerX5u })));
        yield return Case("x5c-with-the-attackers-self-signed-certificate", Rfc8725Indirect, InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub), new { x5c = w.AttackerX5c })));
        yield return Case("embedded-jwk-with-the-attackers-kid", "jwt_tool -X i", KeyNotFound, WhyKid,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub), new { kid = "attacker", jwk = w.AttackerJwk }), "attacker"));
        yield return Case("x5u-with-the-victims-kid", Rfc8725Indirect, InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub), new { kid = "rsa-1", x5u = w.AttackerX5u })));
        yield return Case("jku-at-an-hmac-account", Rfc8725Indirect + "; jwt_tool -X s", InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Hmac, TestTokens.Sign("HS256", TestTokens.HmacKey(HostileWorld.AttackerSecret), w.Claims(w.Hmac), new { jku = w.AttackerJku })));
        yield return Case("every-key-header-at-once", Rfc8725Indirect, InvalidSignature, WhyEmbeddedKey,
            w => Form(w.Pub, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Pub),
                new { kid = "rsa-1", jku = w.AttackerJku, x5u = w.AttackerX5u, jwk = w.AttackerJwk, x5c = w.AttackerX5c })));

        // At an account whose keys do come from a URL (method jwks): only the configured jwksUri is ever fetched.
        const string WhyJwksAccount = "design.md Key selection: a jwks account's keys come from its configured jwksUri only; a jku or x5u of the token is never fetched.";
        yield return Case("jku-at-a-jwks-account-with-the-partners-kid", Rfc8725Indirect + "; jwt_tool -X s", InvalidSignature, WhyJwksAccount,
            w => Form(w.Jwks, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Jwks), new { kid = "jwks-1", jku = w.AttackerJku })));
        yield return Case("jku-at-a-jwks-account-with-the-attackers-kid", Rfc8725Indirect + "; jwt_tool -X s", KeyNotFound, WhyJwksAccount,
            w => Form(w.Jwks, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Jwks), new { kid = "attacker", jku = w.AttackerJku }), "attacker"));
        yield return Case("x5u-at-a-jwks-account", Rfc8725Indirect, InvalidSignature, WhyJwksAccount,
            w => Form(w.Jwks, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Jwks), new { kid = "jwks-1", x5u = w.AttackerX5u })));
        yield return Case("embedded-jwk-at-a-jwks-account", "CVE-2018-0114; jwt_tool -X i", InvalidSignature, WhyJwksAccount,
            w => Form(w.Jwks, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Jwks), new { kid = "jwks-1", jwk = w.AttackerJwk })));
        yield return Case("x5c-at-a-jwks-account", Rfc8725Indirect, InvalidSignature, WhyJwksAccount,
            w => Form(w.Jwks, TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(w.Jwks), new { kid = "jwks-1", x5c = w.AttackerX5c })));
        yield return Case("alg-none-at-a-jwks-account", Rfc8725Alg, AlgorithmNotAllowed, WhyNone,
            w => Form(w.Jwks, TestTokens.Unsigned(w.Claims(w.Jwks))));
        yield return Case("rs-to-hs-at-a-jwks-account-with-its-public-key-pem", Rfc8725Alg + "; jwt_tool -X k", AlgorithmNotAllowed, WhyAllowList,
            w => Form(w.Jwks, HmacRaw(Encoding.UTF8.GetBytes(TestTokens.Rsa.PublicKeyPem), """{"alg":"HS256","kid":"jwks-1"}""", w.PayloadJson(w.Jwks))));

        // ---- kid injection ---------------------------------------------------------------------------------------
        yield return Case("kid-path-traversal-to-dev-null", Rfc8725Indirect + "; jwt_tool playbook (kid /dev/null, empty key)", KeyNotFound, WhyKid,
            w => Kid(w, w.Hmac, "../../../../../../../dev/null", hmacKey: []));
        yield return Case("kid-path-traversal-at-a-public-key-account", Rfc8725Indirect, KeyNotFound, WhyKid,
            w => Kid(w, w.Pub, "../../keys/rsa-1"));
        yield return Case("kid-sql-injection-tautology", Rfc8725Indirect + "; jwt_tool playbook (kid SQLi)", KeyNotFound, WhyKid,
            w => Kid(w, w.Hmac, "x' OR '1'='1"));
        yield return Case("kid-sql-injection-union", Rfc8725Indirect, KeyNotFound, WhyKid,
            w => Kid(w, w.Hmac, "zzz' UNION SELECT 'attacker-secret' --", hmacKey: "attacker-secret"u8.ToArray()));
        yield return Case("kid-command-injection", Rfc8725Indirect + "; jwt_tool playbook (kid RCE)", KeyNotFound, WhyKid,
            w => Kid(w, w.Hmac, "key.pem|/usr/bin/id;sleep 5"));
        yield return Case("kid-with-a-null-byte", Rfc8725Indirect, KeyNotFound, WhyKid,
            w => Kid(w, w.Pub, "rsa-1\u0000.pem"));
        yield return Case("kid-in-another-case", Rfc8725Indirect, KeyNotFound, WhyKid + " Exact, case-sensitive.",
            w => Kid(w, w.Pub, "RSA-1"));
        yield return Case("kid-of-257-bytes", Rfc8725Indirect, Malformed, WhyKidShape,
            w => Kid(w, w.Hmac, new string('k', 257)));
        yield return Case("kid-of-4000-bytes", Rfc8725Indirect, Malformed, WhyKidShape,
            w => Kid(w, w.Hmac, new string('k', 4000)));
        yield return Case("kid-a-number", Rfc8725Indirect, Malformed, WhyKidShape,
            w => Form(w.Hmac, w.HsRaw("""{"alg":"HS256","kid":1}""", w.PayloadJson(w.Hmac))));
        yield return Case("kid-null", Rfc8725Indirect, Malformed, WhyKidShape,
            w => Form(w.Hmac, w.HsRaw("""{"alg":"HS256","kid":null}""", w.PayloadJson(w.Hmac))));
        yield return Case("kid-an-object", Rfc8725Indirect, Malformed, WhyKidShape,
            w => Form(w.Hmac, w.HsRaw("""{"alg":"HS256","kid":{"$ne":""}}""", w.PayloadJson(w.Hmac))));

        // ---- crit --------------------------------------------------------------------------------------------------
        yield return Case("crit-with-an-unknown-extension", "RFC 7515 §4.1.11", Malformed, WhyCrit,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new Dictionary<string, object> { ["crit"] = new[] { "x-exploit" }, ["x-exploit"] = true })));
        yield return Case("crit-naming-a-registered-claim", "RFC 7515 §4.1.11", Malformed, WhyCrit,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { crit = new[] { "exp" } })));
        yield return Case("crit-empty", "RFC 7515 §4.1.11 (must not be empty)", Malformed, WhyCrit,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { crit = Array.Empty<string>() })));
        yield return Case("crit-b64-false-unencoded-payload", "RFC 7797", Malformed, WhyCrit,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { b64 = false, crit = new[] { "b64" } })));

        // ---- tampered after signing --------------------------------------------------------------------------------
        yield return Case("tampered-sub", Rfc8725Crypto, InvalidSignature, WhyTamper,
            w => Form(w.Hmac, TestTokens.WithPayload(w.Hs(w.Claims(w.Hmac)), w.Claims(w.Hmac, sub: "admin-canary-" + w.Sub))));
        yield return Case("tampered-limit-raised", Rfc8725Crypto, InvalidSignature, WhyTamper,
            w => Form(w.Hmac, TestTokens.WithPayload(w.Hs(w.Payload(w.Hmac, """ "limit":{"nb":1} """)), w.Payload(w.Hmac, """ "limit":{"nb":1000000} """))));
        yield return Case("tampered-campaign-id", Rfc8725Crypto, InvalidSignature, WhyTamper,
            w => Form(w.Hmac, TestTokens.WithPayload(w.Hs(w.Claims(w.Hmac2)), w.Claims(w.Hmac))));
        yield return Case("tampered-header-typ", Rfc8725Crypto, InvalidSignature, WhyTamper,
            w => Form(w.Hmac, TestTokens.WithHeader(w.Hs(w.Claims(w.Hmac)), """{"alg":"HS256","typ":"at+jwt"}""")));
        yield return Case("tampered-payload-reformatted-with-spaces", Rfc8725Json, InvalidSignature, WhyTamper + " Re-encoded JSON is another payload.",
            w => Form(w.Hmac, Reencode(w.Hs(w.PayloadJson(w.Hmac)), json => json.Replace(",", ", ", StringComparison.Ordinal))));

        // ---- wrong types, every claim ------------------------------------------------------------------------------
        foreach (var (name, json) in new (string, string)[]
        {
            ("sub-a-number", "42"), ("sub-null", "null"), ("sub-empty", "\"\""), ("sub-an-array", "[\"a\"]"),
            ("sub-an-object", "{\"id\":\"a\"}"), ("sub-a-boolean", "true"), ("sub-of-257-bytes", "\"" + new string('s', 257) + "\""),
            ("sub-with-an-escaped-nul", "\"mal\\u0000lory\""), ("sub-with-a-unit-separator", "\"mal\\u001flory\""),
            ("sub-with-del", "\"mal\\u007flory\""), ("sub-with-a-newline", "\"mal\\nlory\""),
        })
        {
            yield return Case(name, Rfc7519Claims, ClaimInvalid, WhyClaimType,
                w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, subJson: json))));
        }

        foreach (var (name, json) in new (string, string)[]
        {
            ("campaign-id-a-fraction", "1.5"), ("campaign-id-negative", "-1"), ("campaign-id-with-an-exponent", "1e3"),
            ("campaign-id-an-object", "{\"id\":1}"), ("campaign-id-a-boolean", "false"), ("campaign-id-null", "null"),
            ("campaign-id-an-array", "[1]"), ("campaign-id-empty", "\"\""),
        })
        {
            yield return Case(name, Rfc7519Claims, ClaimInvalid, WhyClaimType,
                w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, campaignJson: json))));
        }

        foreach (var (name, member) in new (string, string)[]
        {
            ("exp-a-string", "\"exp\":\"9999999999\""), ("exp-a-boolean", "\"exp\":true"), ("exp-null", "\"exp\":null"),
            ("iat-a-string", "\"iat\":\"now\""), ("nbf-an-array", "\"nbf\":[0]"), ("jti-a-number", "\"jti\":7"),
            ("jti-empty", "\"jti\":\"\""), ("jti-with-a-newline", "\"jti\":\"a\\nb\""), ("jti-of-257-bytes", "\"jti\":\"" + new string('j', 257) + "\""),
            ("limit-a-string", "\"limit\":\"1000\""), ("limit-empty", "\"limit\":{}"), ("limit-nb-negative", "\"limit\":{\"nb\":-1}"),
            ("limit-nb-a-fraction", "\"limit\":{\"nb\":1.5}"), ("limit-nb-over-int32", "\"limit\":{\"nb\":2147483648}"),
            ("limit-nb-huge", "\"limit\":{\"nb\":1e308}"), ("limit-can-play-a-string", "\"limit\":{\"canPlay\":\"true\"}"),
            ("gift-a-string", "\"gift\":\"car\""), ("gift-cw-a-string", "\"gift\":{\"cw\":\"true\"}"), ("gift-label-a-number", "\"gift\":{\"label\":5}"),
            ("gift-label-with-nul", "\"gift\":{\"label\":\"a\\u0000b\"}"), ("custom-an-array", "\"custom\":[1]"), ("form-a-string", "\"form\":\"x\""),
            ("optin-a-number", "\"optin\":1"), ("custom-with-an-escaped-nul", "\"custom\":{\"a\":[\"x\\u0000y\"]}"),
            ("custom-with-nul-in-a-member-name", "\"custom\":{\"a\\u0000b\":1}"),
        })
        {
            var jtiMember = member.StartsWith("\"jti\"", StringComparison.Ordinal);
            yield return Case(name, Rfc7519Claims, ClaimInvalid, WhyClaimType,
                w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, member, withJti: !jtiMember))));
        }

        yield return Case("sub-missing", Rfc7519Claims, MissingClaim, WhyMissing,
            w => Form(w.Hmac, w.Hs($$"""{"campaignId":"{{w.Hmac}}","jti":"{{TestTokens.NewJti()}}"}""")));
        yield return Case("campaign-id-missing", Rfc7519Claims, MissingClaim, WhyMissing,
            w => Form(w.Hmac, w.Hs($$"""{"sub":"{{w.Sub}}","jti":"{{TestTokens.NewJti()}}"}""")));
        yield return Case("iss-a-number", "RFC 8725 §3.8", "token_issuer_invalid", "With an issuer configured, iss must be that string.",
            w => Form(w.Strict, TestTokens.Hs256(HostileWorld.StrictSecret, w.Payload(w.Strict, $"\"iss\":7,\"aud\":\"{HostileWorld.Audience}\""))));
        yield return Case("aud-a-number", "RFC 8725 §3.9", "token_audience_invalid", "With an audience configured, aud must be it or an array of strings naming it.",
            w => Form(w.Strict, TestTokens.Hs256(HostileWorld.StrictSecret, w.Payload(w.Strict, $"\"iss\":\"{HostileWorld.Issuer}\",\"aud\":7"))));
        yield return Case("aud-an-array-with-a-number", "RFC 8725 §3.9", "token_audience_invalid", "With an audience configured, aud must be it or an array of strings naming it.",
            w => Form(w.Strict, TestTokens.Hs256(HostileWorld.StrictSecret, w.Payload(w.Strict, $"\"iss\":\"{HostileWorld.Issuer}\",\"aud\":[\"{HostileWorld.Audience}\",1]"))));

        // ---- duplicated JSON members -------------------------------------------------------------------------------
        yield return Case("header-duplicate-alg", Rfc8725Json, Malformed, WhyDuplicate,
            w => Form(w.Hmac, w.HsRaw("""{"alg":"HS256","alg":"none"}""", w.PayloadJson(w.Hmac))));
        yield return Case("header-duplicate-kid", Rfc8725Json, Malformed, WhyDuplicate,
            w => Form(w.Pub, w.HsRaw("""{"alg":"RS256","kid":"rsa-1","kid":"x"}""", w.PayloadJson(w.Pub))));
        yield return Case("payload-duplicate-sub", Rfc8725Json, Malformed, WhyDuplicate,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, $"\"sub\":\"admin-{w.Sub}\""))));
        yield return Case("payload-duplicate-campaign-id", Rfc8725Json, Malformed, WhyDuplicate,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac2, $"\"campaignId\":\"{w.Hmac}\""))));
        yield return Case("payload-duplicate-inside-limit", Rfc8725Json, Malformed, WhyDuplicate,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"limit\":{\"nb\":1,\"nb\":1000}"))));
        yield return Case("payload-duplicate-deep-inside-custom", Rfc8725Json, Malformed, WhyDuplicate,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"custom\":{\"a\":[{\"b\":{\"c\":1,\"c\":2}}]}"))));
        yield return Case("payload-duplicate-through-an-escape", Rfc8725Json, Malformed, WhyDuplicate + " Names compare unescaped.",
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, $"\"\\u0073ub\":\"admin-{w.Sub}\""))));

        // ---- non-canonical base64url, padding, whitespace ------------------------------------------------------------
        yield return Case("base64-padding-on-the-signature", Rfc7515Base64, Malformed, WhyBase64,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + "="));
        yield return Case("base64-padding-on-the-payload", Rfc7515Base64, Malformed, WhyBase64,
            w => Form(w.Hmac, PaddedPayload(w)));
        yield return Case("base64-standard-alphabet", Rfc7515Base64, Malformed, WhyBase64,
            w => Form(w.Hmac, Then(w.Hs(w.Claims(w.Hmac)), t => ReplaceAt(t, t.IndexOf('.', StringComparison.Ordinal) + 3, '/'))));
        yield return Case("base64-non-zero-spare-bits", Rfc7515Base64, Malformed, WhyBase64,
            w => Form(w.Hmac, SpareBitsSet(w.Hs(w.Claims(w.Hmac)))));
        yield return Case("base64-impossible-length", Rfc7515Base64, Malformed, WhyBase64,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + "AA"));
        yield return Case("whitespace-leading-space", Rfc7515Base64, Malformed, WhyWhitespace,
            w => Form(w.Hmac, " " + w.Hs(w.Claims(w.Hmac))));
        yield return Case("whitespace-trailing-newline", Rfc7515Base64, Malformed, WhyWhitespace,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + "\n"));
        yield return Case("whitespace-inside-the-payload", Rfc7515Base64, Malformed, WhyWhitespace,
            w => Form(w.Hmac, Then(w.Hs(w.Claims(w.Hmac)), t => InsertAt(t, t.IndexOf('.', StringComparison.Ordinal) + 5, " "))));
        yield return Case("whitespace-around-the-dots", Rfc7515Base64, Malformed, WhyWhitespace,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)).Replace(".", " . ", StringComparison.Ordinal)));
        yield return Case("whitespace-tab-inside", Rfc7515Base64, Malformed, WhyWhitespace,
            w => Form(w.Hmac, InsertAt(w.Hs(w.Claims(w.Hmac)), 10, "\t")));
        yield return Case("whitespace-crlf-in-the-signature", Rfc7515Base64, Malformed, WhyWhitespace,
            w => Form(w.Hmac, Then(w.Hs(w.Claims(w.Hmac)), t => InsertAt(t, t.Length - 10, "\r\n"))));
        yield return Case("blank-token", "DESIGN.md token_missing", "token_missing", "A token of blanks is no token: token_missing (nothing to parse).",
            w => Form(w.Hmac, "    "));
        yield return Case("empty-token", "DESIGN.md token_missing", "token_missing", "An empty qual_token is no token: token_missing.",
            w => Form(w.Hmac, ""));

        // ---- oversized header, payload, parts ------------------------------------------------------------------------
        yield return Case("oversized-payload", DesignSize, TooLarge, WhySize,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"custom\":{\"pad\":\"" + new string('x', 6200) + "\"}"))));
        yield return Case("oversized-header", DesignSize, TooLarge, WhySize,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac), new { x = new string('h', 6200) })));
        yield return Case("oversized-signature-part", DesignSize, TooLarge, WhySize,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + new string('A', 8200)));
        yield return Case("oversized-40-kib-in-the-query", DesignSize, TooLarge, WhySize,
            w => new Attack(w.Hmac, Via.Query, w.Hs(w.Claims(w.Hmac)) + new string('A', 40 * 1024)));
        yield return Case("oversized-60-kib-in-a-form", DesignSize, TooLarge, WhySize,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + new string('A', 60 * 1024)));
        yield return Case("oversized-20-kib-bearer", DesignSize, TooLarge, WhySize,
            w => new Attack(w.Hmac, Via.Bearer, w.Hs(w.Claims(w.Hmac)) + new string('A', 20 * 1024)));
        yield return Case("oversized-20-kib-json-body", DesignSize, TooLarge, WhySize,
            w => new Attack(w.Hmac, Via.Json, w.Hs(w.Claims(w.Hmac)) + new string('A', 20 * 1024)));
        yield return Case("oversized-in-utf8-bytes-not-characters", DesignSize, TooLarge, WhySize + " 5,000 'é' are 10,000 bytes.",
            w => Form(w.Hmac, new string('é', 5000)));

        // ---- NUL, control and foreign characters -----------------------------------------------------------------------
        yield return Case("raw-nul-in-the-token", Rfc8725Utf8, Malformed, WhyRawChars,
            w => new Attack(w.Hmac, Via.Query, InsertAt(w.Hs(w.Claims(w.Hmac)), 12, "\0")));
        yield return Case("raw-nul-in-a-form-field", Rfc8725Utf8, HttpStatusCode.BadRequest, "request_invalid",
            "ASP.NET Core's form reader refuses a NUL in a form value: the body is not a valid form, 400 request_invalid (the token is never read).",
            w => Form(w.Hmac, InsertAt(w.Hs(w.Claims(w.Hmac)), 12, "\0")));
        yield return Case("raw-control-character-in-the-token", Rfc8725Utf8, Malformed, WhyRawChars,
            w => Form(w.Hmac, InsertAt(w.Hs(w.Claims(w.Hmac)), 12, "\u0001")));
        yield return Case("raw-del-in-the-token", Rfc8725Utf8, Malformed, WhyRawChars,
            w => Form(w.Hmac, InsertAt(w.Hs(w.Claims(w.Hmac)), 12, "\u007f")));
        yield return Case("raw-non-ascii-letter-in-the-token", Rfc8725Utf8, Malformed, WhyRawChars,
            w => Form(w.Hmac, InsertAt(w.Hs(w.Claims(w.Hmac)), 12, "é")));
        yield return Case("unicode-full-stops-instead-of-dots", Rfc8725Utf8, Malformed, WhyParts,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)).Replace('.', '\uFF0E')));
        yield return Case("raw-control-byte-inside-a-json-string", Rfc8725Utf8, Malformed, WhyJson,
            w => Form(w.Hmac, w.SignBytes(Encoding.UTF8.GetBytes(Hs256Header), Encoding.UTF8.GetBytes(w.PayloadJson(w.Hmac).Replace("canary-", "canary-\u0001", StringComparison.Ordinal)))));

        // ---- exp, iat, nbf -------------------------------------------------------------------------------------------------
        yield return Case("exp-before-iat", Rfc7519Claims + " (vendor example bug)", ClaimInvalid, WhyTimes,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, $"\"iat\":{Now()},\"exp\":{Now() - 60}"))));
        yield return Case("iat-ten-years-ahead", "RFC 8725 §3.10", ClaimInvalid, WhyTimes,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, $"\"iat\":{Now() + (10L * 365 * 86400)}"))));
        yield return Case("iat-an-hour-ahead", "RFC 8725 §3.10", ClaimInvalid, WhyTimes + " Beyond the 120 s skew.",
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, $"\"iat\":{Now() + 3600}"))));
        yield return Case("iat-beyond-year-9999", Rfc7519Claims, ClaimInvalid, WhyTimes,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"iat\":99999999999999"))));
        yield return Case("exp-negative", Rfc7519Claims, Expired, "A NumericDate before 1970 is a date in the past: token_expired.",
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"exp\":-1"))));
        yield return Case("exp-zero", Rfc7519Claims, Expired, "exp 0 is 1970-01-01: token_expired.",
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"exp\":0"))));
        yield return Case("exp-huge", Rfc7519Claims, ClaimInvalid, WhyTimes,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"exp\":1e300"))));
        yield return Case("exp-overflowing-a-double", Rfc7519Claims, ClaimInvalid, WhyTimes,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"exp\":1e400"))));
        yield return Case("exp-hugely-negative", Rfc7519Claims, ClaimInvalid, WhyTimes,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"exp\":-1e300"))));
        yield return Case("exp-with-a-thousand-digits", Rfc7519Claims, ClaimInvalid, WhyTimes,
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, "\"exp\":1" + new string('0', 1000)))));
        yield return Case("nbf-far-in-the-future", Rfc7519Claims, NotYetValid, "nbf later than now + skew: token_not_yet_valid.",
            w => Form(w.Hmac, w.Hs(w.Payload(w.Hmac, $"\"nbf\":{Now() + (365L * 86400)}"))));

        // ---- header or payload that is not one JSON object --------------------------------------------------------------------
        foreach (var (name, json) in new (string, string)[]
        {
            ("payload-an-array", "[{\"sub\":\"a\"}]"), ("payload-a-number", "42"), ("payload-a-string", "\"sub\""), ("payload-null", "null"),
            ("payload-true", "true"), ("payload-empty", ""), ("payload-with-trailing-garbage", "{\"sub\":\"a\",\"campaignId\":\"c\"} x"),
            ("payload-two-objects", "{\"sub\":\"a\"}{\"campaignId\":\"c\"}"), ("payload-with-a-comment", "{\"sub\":\"a\" /* c */}"),
            ("payload-with-a-trailing-comma", "{\"sub\":\"a\",}"), ("payload-with-single-quotes", "{'sub':'a'}"),
            ("payload-nested-100-deep", "{\"custom\":" + new string('[', 100) + new string(']', 100) + "}"),
            ("payload-with-a-lone-surrogate-escape", "{\"sub\":\"\\ud800\"}"), ("payload-with-unquoted-names", "{sub:\"a\"}"),
            ("payload-a-nested-jws-string", "\"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.\""),
        })
        {
            yield return Case(name, Rfc8725Json, Malformed, WhyJson, w => Form(w.Hmac, w.Hs(json)));
        }

        yield return Case("header-an-array", Rfc8725Json, Malformed, WhyJson,
            w => Form(w.Hmac, w.HsRaw("""[{"alg":"HS256"}]""", w.PayloadJson(w.Hmac))));
        yield return Case("header-empty", Rfc8725Json, Malformed, WhyJson,
            w => Form(w.Hmac, w.HsRaw("", w.PayloadJson(w.Hmac))));
        yield return Case("payload-with-a-byte-order-mark", Rfc8725Utf8, Malformed, WhyJson,
            w => Form(w.Hmac, w.SignBytes(Encoding.UTF8.GetBytes(Hs256Header), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(w.PayloadJson(w.Hmac))])));

        // ---- bytes that are not UTF-8 -------------------------------------------------------------------------------------
        yield return Case("payload-with-an-invalid-utf8-byte", Rfc8725Utf8, Malformed, WhyJson,
            w => Form(w.Hmac, w.SignBytes(Encoding.UTF8.GetBytes(Hs256Header), Utf8WithSubInserted(w, [0xFF]))));
        yield return Case("payload-with-an-overlong-utf8-slash", Rfc8725Utf8, Malformed, WhyJson,
            w => Form(w.Hmac, w.SignBytes(Encoding.UTF8.GetBytes(Hs256Header), Utf8WithSubInserted(w, [0xC0, 0xAF]))));
        yield return Case("payload-with-an-encoded-surrogate", Rfc8725Utf8, Malformed, WhyJson,
            w => Form(w.Hmac, w.SignBytes(Encoding.UTF8.GetBytes(Hs256Header), Utf8WithSubInserted(w, [0xED, 0xA0, 0x80]))));
        yield return Case("payload-in-utf16", Rfc8725Utf8, Malformed, WhyJson,
            w => Form(w.Hmac, w.SignBytes(Encoding.UTF8.GetBytes(Hs256Header), Encoding.Unicode.GetBytes(w.PayloadJson(w.Hmac)))));
        yield return Case("header-with-an-invalid-utf8-byte", Rfc8725Utf8, Malformed, WhyJson,
            w => Form(w.Hmac, w.SignBytes([.. "{\"alg\":\"HS256\",\"x\":\""u8, 0xFE, .. "\"}"u8], Encoding.UTF8.GetBytes(w.PayloadJson(w.Hmac)))));
        yield return Case("form-field-with-invalid-percent-encoded-utf8", Rfc8725Utf8, Malformed, WhyRawChars,
            w => RawForm(w.Hmac, "qual_token=%FF%FE" + w.Hs(w.Claims(w.Hmac))));

        // ---- nested JWE tricks, parts and dots -----------------------------------------------------------------------------
        yield return Case("jwe-rsa-oaep-at-an-account-without-encryption", Rfc8725Composition, DecryptionFailed, WhyJwe,
            w => Form(w.Hmac, TestTokens.JweShaped()));
        yield return Case("jwe-alg-dir", Rfc8725Composition, DecryptionFailed, WhyJwe,
            w => Form(w.Hmac, TestTokens.Base64Url("""{"alg":"dir","enc":"A256GCM"}""") + "..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA"));
        yield return Case("jwe-alg-none-enc-none", Rfc8725Composition, DecryptionFailed, WhyJwe,
            w => Form(w.Hmac, TestTokens.Base64Url("""{"alg":"none","enc":"none","cty":"JWT"}""") + ".." + "." + TestTokens.Base64Url(TestTokens.Unsigned(w.Claims(w.Hmac))) + "."));
        yield return Case("jwe-five-empty-parts", Rfc8725Composition, DecryptionFailed, WhyJwe,
            w => Form(w.Hmac, "...."));
        yield return Case("valid-jws-padded-to-five-parts", Rfc8725Composition, DecryptionFailed, WhyJwe,
            w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + ".."));
        // Real JWEs to an account that accepts them (encryption optional): the envelope proves nothing about the
        // sender (anyone can encrypt to a public key), so the JWS inside gets every usual check.
        const string WhyInner = "design.md Tokens: a JWE only hides the token; the JWS inside is verified as if it came alone.";
        const string WhyEnvelope = "Any failure to open the envelope is one and the same token_decryption_failed (no oracle on which step failed).";
        yield return Case("jwe-around-an-unsigned-jws", Rfc8725Composition + "; RFC 8725 §2.1", AlgorithmNotAllowed, WhyInner,
            w => Form(w.Enc, w.Encrypt(TestTokens.Unsigned(w.Claims(w.Enc)))));
        yield return Case("jwe-around-a-jws-signed-with-a-wrong-secret", Rfc8725Composition, InvalidSignature, WhyInner,
            w => Form(w.Enc, w.Encrypt(TestTokens.Hs256(HostileWorld.AttackerSecret, w.Claims(w.Enc)))));
        yield return Case("jwe-around-another-accounts-jws", Rfc8725Composition + "; " + Rfc8725Substitution, InvalidSignature, WhyInner,
            w => Form(w.Enc, w.Encrypt(TestTokens.Hs256(HostileWorld.OtherSecret, w.Claims(w.Enc)))));
        yield return Case("jwe-around-a-jws-for-another-campaign", Rfc8725Composition + "; " + Rfc8725Substitution, HttpStatusCode.Forbidden, "token_campaign_mismatch", WhyMismatch,
            w => Form(w.Enc, w.Encrypt(w.Hs(w.Claims(w.Hmac))), w.Hmac));
        yield return Case("jwe-nested-in-a-jwe", Rfc8725Composition, DecryptionFailed, "The content of a JWE must be a signed token (three parts), not another JWE: token_decryption_failed.",
            w => Form(w.Enc, w.Encrypt(w.Encrypt(w.Hs(w.Claims(w.Enc))))));
        yield return Case("jwe-around-plain-json-claims", Rfc8725Composition, DecryptionFailed, "The content of a JWE must be a signed token, not bare claims: token_decryption_failed.",
            w => Form(w.Enc, w.Encrypt(w.PayloadJson(w.Enc))));
        yield return Case("jwe-encrypted-to-another-accounts-encryption-key", Rfc8725Composition + "; " + Rfc8725Substitution, DecryptionFailed, WhyEnvelope + " Only this account's encryption keys are tried.",
            w => Form(w.Enc, w.Encrypt(w.Hs(w.Claims(w.Enc)), to: w.Enc2Key)));
        yield return Case("another-accounts-valid-jwe", Rfc8725Composition + "; " + Rfc8725Substitution, DecryptionFailed, WhyEnvelope + " Only this account's encryption keys are tried.",
            w => Form(w.Enc, w.Encrypt(TestTokens.Hs256(HostileWorld.OtherSecret, w.Claims(w.Enc2)), to: w.Enc2Key), w.Enc2));
        yield return Case("jwe-to-this-account-around-another-accounts-valid-jws", Rfc8725Composition + "; " + Rfc8725Substitution, InvalidSignature, WhyInner,
            w => Form(w.Enc, w.Encrypt(TestTokens.Hs256(HostileWorld.OtherSecret, w.Claims(w.Enc2))), w.Enc2));
        yield return Case("jwe-around-an-unsigned-jws-in-another-casing", Rfc8725Composition + "; RFC 8725 §2.1", AlgorithmNotAllowed, WhyInner,
            w => Form(w.Enc, w.Encrypt(TestTokens.Unsigned(w.Claims(w.Enc), "nOnE"))));
        yield return Case("jwe-in-a-jwe-around-an-unsigned-jws", Rfc8725Composition, DecryptionFailed, "The content of a JWE must be a signed token (three parts), not another JWE: an envelope failure, token_decryption_failed.",
            w => Form(w.Enc, w.Encrypt(w.Encrypt(TestTokens.Unsigned(w.Claims(w.Enc))))));
        yield return Case("jwe-encrypted-to-the-attackers-key-with-the-accounts-kid", Rfc8725Composition, DecryptionFailed, WhyEnvelope,
            w => Form(w.Enc, w.Encrypt(w.Hs(w.Claims(w.Enc)), to: ((RsaSecurityKey)w.Attacker.SigningKey).Rsa)));
        yield return Case("jwe-with-a-flipped-authentication-tag", Rfc8725Composition, DecryptionFailed, WhyEnvelope,
            w => Form(w.Enc, Then(w.Encrypt(w.Hs(w.Claims(w.Enc))), t => FlipPartBit(t, 4))));
        yield return Case("jwe-with-a-flipped-ciphertext-bit", Rfc8725Composition, DecryptionFailed, WhyEnvelope,
            w => Form(w.Enc, Then(w.Encrypt(w.Hs(w.Claims(w.Enc))), t => FlipPartBit(t, 3))));
        yield return Case("jwe-alg-dir-at-an-encrypting-account", Rfc8725Composition, DecryptionFailed, WhyEnvelope + " Only RSA-OAEP-256 and ECDH-ES are accepted.",
            w => Form(w.Enc, w.EncryptedWithHeader("""{"alg":"dir","enc":"A256GCM"}""")));
        yield return Case("jwe-alg-rsa1-5", "RFC 8725 §3.2 (Bleichenbacher: no RSA1_5)", DecryptionFailed, WhyEnvelope,
            w => Form(w.Enc, w.EncryptedWithHeader("""{"alg":"RSA1_5","enc":"A256GCM"}""")));
        yield return Case("jwe-alg-none", Rfc8725Alg, DecryptionFailed, WhyEnvelope,
            w => Form(w.Enc, w.EncryptedWithHeader("""{"alg":"none","enc":"A256GCM"}""")));
        yield return Case("jwe-compressed-zip-def", "RFC 8725 §3.6 (avoid compression of encryption inputs)", DecryptionFailed, WhyEnvelope,
            w => Form(w.Enc, w.EncryptedWithHeader("""{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}""")));
        yield return Case("jwe-header-with-a-duplicated-alg", Rfc8725Json, Malformed, WhyDuplicate,
            w => Form(w.Enc, w.EncryptedWithHeader("""{"alg":"RSA-OAEP-256","enc":"A256GCM","alg":"dir"}""")));
        yield return Case("jwe-header-with-crit", "RFC 7516 §4.1.13", DecryptionFailed, "keys.md: a JWE naming an extension (crit) is an envelope the service does not open: token_decryption_failed.",
            w => Form(w.Enc, w.EncryptedWithHeader("""{"alg":"RSA-OAEP-256","enc":"A256GCM","crit":["exp"],"exp":1}""")));
        yield return Case("jwe-with-padding-on-the-tag", Rfc7515Base64, Malformed, WhyBase64,
            w => Form(w.Enc, w.Encrypt(w.Hs(w.Claims(w.Enc))) + "="));

        yield return Case("one-part", "RFC 7515 §7.1", Malformed, WhyParts, w => Form(w.Hmac, Part(w.Hs(w.Claims(w.Hmac)), 1)));
        yield return Case("two-parts", "RFC 7515 §7.1", Malformed, WhyParts, w => Form(w.Hmac, SigningInput(w.Hs(w.Claims(w.Hmac)))));
        yield return Case("four-parts", "RFC 7515 §7.1", Malformed, WhyParts, w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + "." + Part(w.Hs(w.Claims(w.Hmac)), 2)));
        yield return Case("six-parts", "RFC 7515 §7.1", Malformed, WhyParts, w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + "..."));
        yield return Case("extra-trailing-dot", "RFC 7515 §7.1", Malformed, WhyParts, w => Form(w.Hmac, w.Hs(w.Claims(w.Hmac)) + "."));
        yield return Case("extra-leading-dot", "RFC 7515 §7.1", Malformed, WhyParts, w => Form(w.Hmac, "." + w.Hs(w.Claims(w.Hmac))));
        yield return Case("three-empty-parts", "RFC 7515 §7.1", Malformed, WhyJson, w => Form(w.Hmac, ".."));
        yield return Case("empty-header-and-payload", "RFC 7515 §7.1", Malformed, WhyJson,
            w => Form(w.Hmac, ".." + Part(w.Hs(w.Claims(w.Hmac)), 2)));

        // ---- how the token travels ------------------------------------------------------------------------------------------
        yield return Case("two-tokens-query-and-bearer", "HTTP parameter pollution", HttpStatusCode.BadRequest, "token_ambiguous", WhyAmbiguous,
            w => new Attack(w.Hmac, Via.QueryAndBearer, TestTokens.Unsigned(w.Claims(w.Hmac)), Second: w.Hs(w.Claims(w.Hmac))));
        yield return Case("qual-token-twice-in-the-query", "HTTP parameter pollution", HttpStatusCode.BadRequest, "token_ambiguous", WhyAmbiguous,
            w => new Attack(w.Hmac, Via.QueryTwice, w.Hs(w.Claims(w.Hmac)), Second: TestTokens.Unsigned(w.Claims(w.Hmac))));
        yield return Case("json-body-with-a-duplicated-token-member", Rfc8725Json, HttpStatusCode.BadRequest, "request_invalid", WhyBody,
            w => RawJson(w.Hmac, $"{{\"token\":\"{TestTokens.Unsigned(w.Claims(w.Hmac))}\",\"token\":\"{w.Hs(w.Claims(w.Hmac))}\"}}"));
        yield return Case("json-body-with-a-token-object", "JSON type confusion", HttpStatusCode.BadRequest, "request_invalid", WhyBody,
            w => RawJson(w.Hmac, $"{{\"token\":{{\"alg\":\"none\",\"sub\":\"{w.Sub}\"}}}}"));
        yield return Case("json-body-with-invalid-utf8", Rfc8725Utf8, HttpStatusCode.BadRequest, "request_invalid", WhyBody,
            w => new Attack(w.Hmac, Via.RawJson, w.Hs(w.Claims(w.Hmac)), Raw: [.. "{\"token\":\""u8, .. Encoding.ASCII.GetBytes(w.Hs(w.Claims(w.Hmac))), 0xFF, .. "\"}"u8]));
        yield return Case("authorization-basic-scheme", "RFC 6750 (Bearer only)", Malformed, "A credential in another Authorization scheme is token_malformed.",
            w => new Attack(w.Hmac, Via.Basic, w.Hs(w.Claims(w.Hmac))));
    }

    // ---- building blocks ---------------------------------------------------------------------------------------------------

    private static Attack Form(string campaign, string token, params string[] canaries) => new(campaign, Via.Form, token, Canaries: canaries);

    private static Attack RawForm(string campaign, string body) => new(campaign, Via.RawForm, body, Raw: Encoding.ASCII.GetBytes(body));

    private static Attack RawJson(string campaign, string body) => new(campaign, Via.RawJson, body, Raw: Encoding.UTF8.GetBytes(body));

    private static Attack Kid(HostileWorld w, string campaign, string kid, byte[]? hmacKey = null)
    {
        var token = campaign == w.Pub
            ? TestTokens.Sign("RS256", w.Attacker.SigningKey, w.Claims(campaign), new { kid })
            : HmacRaw(hmacKey ?? Encoding.UTF8.GetBytes(TestTokens.Secret), HeaderWith(kid), w.PayloadJson(campaign));
        return Form(campaign, token, kid.Length > 200 ? kid[..200] : kid);

        static string HeaderWith(string kid) =>
            System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["alg"] = "HS256", ["kid"] = kid });
    }

    /// <summary>Every upper/lower-case spelling of <paramref name="word"/>.</summary>
    private static IEnumerable<string> Casings(string word)
    {
        for (var mask = 0; mask < 1 << word.Length; mask++)
        {
            var chars = word.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if ((mask & (1 << i)) != 0)
                {
                    chars[i] = char.ToUpperInvariant(chars[i]);
                }
            }

            yield return new string(chars);
        }
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static string Part(string token, int index) => token.Split('.')[index];

    private static string SigningInput(string token) => token[..token.LastIndexOf('.')];

    private static string WithSignature(string token, byte[] signature) => SigningInput(token) + "." + TestTokens.Base64Url(signature);

    private static string MapSignature(string token, Func<byte[], byte[]> map) =>
        WithSignature(token, map(System.Buffers.Text.Base64Url.DecodeFromChars(Part(token, 2))));

    private static string FlipPartBit(string token, int part)
    {
        var parts = token.Split('.');
        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(parts[part]);
        bytes[0] ^= 1;
        parts[part] = TestTokens.Base64Url(bytes);
        return string.Join('.', parts);
    }

    private static string Then(string token, Func<string, string> change) => change(token);

    private static string InsertAt(string text, int index, string insert) => text.Insert(index, insert);

    private static string ReplaceAt(string text, int index, char with)
    {
        var chars = text.ToCharArray();
        chars[index] = with;
        return new string(chars);
    }

    /// <summary>The token with its payload decoded, changed as text, and re-encoded (signature kept).</summary>
    private static string Reencode(string token, Func<string, string> change)
    {
        var parts = token.Split('.');
        parts[1] = TestTokens.Base64Url(change(TestTokens.DecodePayload(token)));
        return string.Join('.', parts);
    }

    /// <summary>A 43-character HS256 signature part whose last character has a spare (unused) bit set.</summary>
    private static string SpareBitsSet(string token)
    {
        var last = Alphabet.IndexOf(token[^1], StringComparison.Ordinal);
        return token[..^1] + Alphabet[last | 1];
    }

    /// <summary>A correctly signed token whose payload part carries '=' padding.</summary>
    private static string PaddedPayload(HostileWorld w)
    {
        var json = w.PayloadJson(w.Hmac);
        while (Encoding.UTF8.GetByteCount(json) % 3 == 0)
        {
            json += " ";
        }

        var payload = TestTokens.Base64Url(json);
        payload += new string('=', (4 - (payload.Length % 4)) % 4);
        return TestTokens.SignEncoded("HS256", TestTokens.HmacKey(TestTokens.Secret), TestTokens.Base64Url(Hs256Header), payload);
    }

    /// <summary>The canary payload's UTF-8 bytes with <paramref name="bytes"/> inside the sub string.</summary>
    private static byte[] Utf8WithSubInserted(HostileWorld w, byte[] bytes)
    {
        var json = Encoding.UTF8.GetBytes(w.PayloadJson(w.Hmac));
        var at = json.AsSpan().IndexOf("canary-"u8) + 7;
        return [.. json[..at], .. bytes, .. json[at..]];
    }

    /// <summary>An HS256 token over exactly these header and payload texts, with any key bytes (even empty).</summary>
    internal static string HmacRaw(byte[] key, string headerJson, string payloadJson)
    {
        var input = TestTokens.Base64Url(headerJson) + "." + TestTokens.Base64Url(payloadJson);
        var signature = CryptographicOperations.HmacData(HashAlgorithmName.SHA256, key, Encoding.ASCII.GetBytes(input));
        return input + "." + TestTokens.Base64Url(signature);
    }

    private static byte[] PublicKeyDer(AsymmetricTestKey key) => ((RsaSecurityKey)key.SigningKey).Rsa.ExportSubjectPublicKeyInfo();

    /// <summary>An ES256 token signed by the account's real key, but with a DER (ASN.1) signature instead of R || S.</summary>
    private static string EcdsaDer(string payloadJson)
    {
        var input = TestTokens.Base64Url("""{"alg":"ES256"}""") + "." + TestTokens.Base64Url(payloadJson);
        var ec = ((ECDsaSecurityKey)TestTokens.EcP256.SigningKey).ECDsa;
        var signature = ec.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return input + "." + TestTokens.Base64Url(signature);
    }

    /// <summary>A self-signed certificate for the attacker's key, as an <c>x5c</c> chain.</summary>
    internal static string[] SelfSignedChain(AsymmetricTestKey key)
    {
        var rsa = ((RsaSecurityKey)key.SigningKey).Rsa;
        using var certificate = new CertificateRequest("CN=attacker", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return [Convert.ToBase64String(certificate.RawData)];
    }
}

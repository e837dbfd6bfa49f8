namespace Participation.Api.Auth;

/// <summary>The 401 codes of DESIGN.md for a token that cannot be trusted.</summary>
public static class TokenErrorCodes
{
    public const string Missing = "token_missing";
    public const string Malformed = "token_malformed";
    public const string TooLarge = "token_too_large";
    public const string InvalidSignature = "token_invalid_signature";
    public const string AlgorithmNotAllowed = "token_algorithm_not_allowed";
    public const string KeyNotFound = "key_not_found";
    public const string Expired = "token_expired";
    public const string NotYetValid = "token_not_yet_valid";
    public const string TooOld = "token_too_old";
    public const string IssuerInvalid = "token_issuer_invalid";
    public const string AudienceInvalid = "token_audience_invalid";
    public const string MissingClaim = "token_missing_claim";
    public const string ClaimInvalid = "token_claim_invalid";
    public const string DecryptionFailed = "token_decryption_failed";
}

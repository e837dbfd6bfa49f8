using System.Buffers;

namespace Participation.Api.Auth;

/// <summary>
/// Strict base64url (RFC 7515 §2): the URL-safe alphabet only, no padding, no whitespace, and canonical
/// (unused trailing bits are zero, so re-encoding gives back the input). Framework decoders accept some of
/// these (padding, whitespace; <see cref="Convert.FromBase64String(string)"/> also non-zero trailing bits), which
/// would let one token have many spellings; the checks here do not depend on which.
/// </summary>
internal static class Base64UrlStrict
{
    private static readonly SearchValues<char> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>The most bytes <paramref name="length"/> base64url characters decode to.</summary>
    public static int MaxDecodedLength(int length) => length / 4 * 3 + length % 4;

    public static bool TryDecode(ReadOnlySpan<char> source, Span<byte> destination, out int written)
    {
        written = 0;
        var remainder = source.Length % 4;
        if (remainder == 1 || source.ContainsAnyExcept(Alphabet))
        {
            return false;
        }

        if (remainder != 0)
        {
            // 2 trailing chars carry 1 byte (4 unused bits), 3 carry 2 bytes (2 unused bits).
            var unusedBitsMask = remainder == 2 ? 0b1111 : 0b11;
            if ((SextetOf(source[^1]) & unusedBitsMask) != 0)
            {
                return false;
            }
        }

        var status = System.Buffers.Text.Base64Url.DecodeFromChars(source, destination, out _, out written);
        return status == OperationStatus.Done;
    }

    private static int SextetOf(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Participation.Api.Accounts;
using Participation.Api.Auth;

namespace Participation.Api.Cli;

/// <summary>
/// The partner's side of an encrypted token, for <c>token mint --encrypt</c>: a compact JWE (RFC 7516) of a signed
/// token to one of the account's public encryption keys, RSA-OAEP-256 or ECDH-ES (P-256, direct key agreement),
/// content A256GCM. Only the public key is used, as a partner would.
/// </summary>
internal static class JweEncryptor
{
    public static string Encrypt(string jws, PublicJwk key)
    {
        ArgumentNullException.ThrowIfNull(jws);
        ArgumentNullException.ThrowIfNull(key);
        byte[] contentKey;
        byte[] encryptedKey;
        Dictionary<string, object> header;
        if (key.Alg == Jwe.RsaOaep256Name)
        {
            using var rsa = RSA.Create(new RSAParameters { Modulus = Decode(key.N), Exponent = Decode(key.E) });
            contentKey = RandomNumberGenerator.GetBytes(Jwe.ContentKeyBytes);
            encryptedKey = rsa.Encrypt(contentKey, RSAEncryptionPadding.OaepSHA256);
            header = new() { ["alg"] = Jwe.RsaOaep256Name, ["enc"] = "A256GCM", ["kid"] = key.Kid };
        }
        else if (key.Alg == Jwe.EcdhEsName)
        {
            var curve = ECCurve.NamedCurves.nistP256;
            using var recipient = ECDiffieHellman.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = Decode(key.X), Y = Decode(key.Y) } });
            using var ephemeral = ECDiffieHellman.Create(curve);
            using var recipientKey = recipient.PublicKey;
            var z = ephemeral.DeriveRawSecretAgreement(recipientKey);
            try
            {
                contentKey = Jwe.ConcatKdf(z, Jwe.ContentKeyBytes * 8, "A256GCM", [], []);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(z);
            }

            var point = ephemeral.ExportParameters(includePrivateParameters: false).Q;
            encryptedKey = [];
            header = new()
            {
                ["alg"] = Jwe.EcdhEsName,
                ["enc"] = "A256GCM",
                ["kid"] = key.Kid,
                ["epk"] = new Dictionary<string, string> { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Encode(point.X!), ["y"] = Encode(point.Y!) },
            };
        }
        else
        {
            throw new CliException($"--encrypt: the key '{key.Kid}' has an algorithm this command does not encrypt to ({key.Alg}).");
        }

        try
        {
            var protectedHeader = Encode(JsonSerializer.SerializeToUtf8Bytes(header));
            var iv = RandomNumberGenerator.GetBytes(12);
            var plaintext = Encoding.ASCII.GetBytes(jws);
            var ciphertext = new byte[plaintext.Length];
            var tag = new byte[16];
            using (var gcm = new AesGcm(contentKey, tag.Length))
            {
                gcm.Encrypt(iv, plaintext, ciphertext, tag, Encoding.ASCII.GetBytes(protectedHeader));
            }

            return string.Join('.', protectedHeader, Encode(encryptedKey), Encode(iv), Encode(ciphertext), Encode(tag));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    private static byte[] Decode(string? part) =>
        part is null ? throw new CliException("--encrypt: the account's encryption key is incomplete.") : System.Buffers.Text.Base64Url.DecodeFromChars(part);

    private static string Encode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}

using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Marten;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;

namespace Participation.Api.Hosting;

/// <summary>A Data Protection key, as XML encrypted under the master key, stored by Marten.</summary>
public sealed record DataProtectionKeyDocument(string Id, string Xml, DateTimeOffset StoredAt);

/// <summary>
/// Wiring of secrets at rest: Data Protection keys kept in PostgreSQL (every API process shares them), each key
/// encrypted with the configured master key (<c>Participation:MasterKey</c>, 32 bytes in base64; older master keys
/// in <c>Participation:PreviousMasterKeys</c> still decrypt during a rotation).
/// </summary>
public static class SecretsAtRest
{
    public const string ApplicationName = "Participation";

    /// <summary>Used only in Development and Testing when no master key is configured; never in Production.</summary>
    private const string DevelopmentMasterKey = "ZGV2ZWxvcG1lbnQtb25seS1tYXN0ZXIta2V5LTMyYiE=";

    public static void AddSecretsAtRest(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var masterKeys = MasterKeys.From(builder.Configuration, builder.Environment);
        builder.Services.AddSingleton(masterKeys);
        builder.Services.AddSingleton<SecretProtector>();
        builder.Services.AddDataProtection().SetApplicationName(ApplicationName);
        builder.Services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(options =>
        {
            options.XmlRepository = new MartenXmlRepository(sp.GetRequiredService<IDocumentStore>());
            options.XmlEncryptor = new MasterKeyXmlEncryptor(masterKeys);
        }));
    }

    /// <summary>The current master key and the previous ones, each 32 bytes.</summary>
    public sealed class MasterKeys
    {
        private MasterKeys(byte[] current, IReadOnlyList<byte[]> previous)
        {
            Current = current;
            All = [current, .. previous];
        }

        public byte[] Current { get; }

        public IReadOnlyList<byte[]> All { get; }

        public static MasterKeys From(IConfiguration configuration, IHostEnvironment environment)
        {
            var configured = configuration["Participation:MasterKey"];
            if (string.IsNullOrWhiteSpace(configured))
            {
                if (!environment.IsDevelopment() && !environment.IsEnvironment("Testing"))
                {
                    throw new InvalidOperationException(
                        "Participation:MasterKey is not set: give it 32 random bytes in base64 (for example `openssl rand -base64 32`) to encrypt secrets at rest.");
                }

                configured = DevelopmentMasterKey;
            }

            // One string of keys separated by commas, semicolons or spaces, or a JSON array (indexed keys
            // Participation__PreviousMasterKeys__0, __1 as environment variables): both are read.
            var section = configuration.GetSection("Participation:PreviousMasterKeys");
            var previous = new[] { section.Value }.Concat(section.GetChildren().Select(child => child.Value))
                .SelectMany(value => (value ?? "").Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries))
                .Select(k => Decode(k, "Participation:PreviousMasterKeys"))
                .ToList();
            return new MasterKeys(Decode(configured, "Participation:MasterKey"), previous);
        }

        private static byte[] Decode(string base64, string setting)
        {
            byte[] key;
            try
            {
                key = Convert.FromBase64String(base64.Trim());
            }
            catch (FormatException)
            {
                throw new InvalidOperationException($"{setting} must be base64 (32 random bytes).");
            }

            return key.Length == 32 ? key : throw new InvalidOperationException($"{setting} must decode to exactly 32 bytes.");
        }
    }

    private sealed class MartenXmlRepository(IDocumentStore store) : IXmlRepository
    {
        // Data Protection's repository contract is synchronous; it is called at start-up and on key rotation only
        // (the key ring is cached), so blocking on Marten's async API here costs nothing on the request path.
#pragma warning disable VSTHRD002
        public IReadOnlyCollection<XElement> GetAllElements() => Task.Run(LoadAsync).GetAwaiter().GetResult();

        public void StoreElement(XElement element, string friendlyName) =>
            Task.Run(() => StoreAsync(element, friendlyName)).GetAwaiter().GetResult();
#pragma warning restore VSTHRD002

        private async Task<IReadOnlyCollection<XElement>> LoadAsync()
        {
            await using var session = store.QuerySession();
            var documents = await session.Query<DataProtectionKeyDocument>().OrderBy(d => d.StoredAt).ToListAsync();
            return [.. documents.Select(d => XElement.Parse(d.Xml))];
        }

        private async Task StoreAsync(XElement element, string friendlyName)
        {
            await using var session = store.LightweightSession();
            session.Store(new DataProtectionKeyDocument(
                string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString() : friendlyName,
                element.ToString(SaveOptions.DisableFormatting),
                DateTimeOffset.UtcNow));
            await session.SaveChangesAsync();
        }
    }

    /// <summary>AES-256-GCM under the master key; the key id (SHA-256 prefix of the master key) tells which one to use.</summary>
    private sealed class MasterKeyXmlEncryptor(MasterKeys keys) : IXmlEncryptor
    {
        public EncryptedXmlInfo Encrypt(XElement plaintextElement) =>
            new(MasterKeyXmlDecryptor.Seal(keys.Current, plaintextElement), typeof(MasterKeyXmlDecryptor));
    }

    /// <summary>Decrypts key XML sealed by <see cref="MasterKeyXmlEncryptor"/> with the current or a previous master key.</summary>
    public sealed class MasterKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
    {
        public XElement Decrypt(XElement encryptedElement)
        {
            ArgumentNullException.ThrowIfNull(encryptedElement);
            var keys = services.GetRequiredService<MasterKeys>();
            var keyId = (string?)encryptedElement.Attribute("keyId");
            var key = keys.All.FirstOrDefault(k => KeyId(k) == keyId)
                ?? throw new CryptographicException("No configured master key (Participation:MasterKey or PreviousMasterKeys) opens this Data Protection key.");
            var nonce = Convert.FromBase64String((string)encryptedElement.Element("nonce")!);
            var tag = Convert.FromBase64String((string)encryptedElement.Element("tag")!);
            var cipher = Convert.FromBase64String((string)encryptedElement.Element("value")!);
            var plain = new byte[cipher.Length];
            using var aes = new AesGcm(key, tag.Length);
            aes.Decrypt(nonce, cipher, tag, plain);
            return XElement.Parse(Encoding.UTF8.GetString(plain));
        }

        internal static XElement Seal(byte[] key, XElement element)
        {
            var plain = Encoding.UTF8.GetBytes(element.ToString(SaveOptions.DisableFormatting));
            var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
            var tag = new byte[AesGcm.TagByteSizes.MaxSize];
            var cipher = new byte[plain.Length];
            using var aes = new AesGcm(key, tag.Length);
            aes.Encrypt(nonce, plain, cipher, tag);
            return new XElement("masterKeyEncrypted",
                new XAttribute("keyId", KeyId(key)),
                new XElement("nonce", Convert.ToBase64String(nonce)),
                new XElement("tag", Convert.ToBase64String(tag)),
                new XElement("value", Convert.ToBase64String(cipher)));
        }

        private static string KeyId(byte[] key) => Convert.ToHexString(SHA256.HashData(key))[..16];
    }
}

using Marten;
using Microsoft.Extensions.Options;
using Participation.Api.Accounts;

namespace Participation.Api.Auth;

/// <summary>Wiring of the key sources beyond the account's own settings: JWKS endpoints and encryption keys.</summary>
public static class KeySources
{
    public static void AddKeySources(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var lenient = builder.Environment.IsDevelopment() || builder.Environment.IsEnvironment("Testing");
        services.Configure<JwksOptions>(builder.Configuration.GetSection(JwksOptions.Section));
        services.PostConfigure<JwksOptions>(options =>
        {
            // Plain http and private addresses (a local JWKS server) only where nobody can abuse them.
            options.AllowHttp ??= lenient;
            options.AllowPrivateNetworks ??= lenient;
        });

        services.AddHttpClient(JwksFetcher.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => JwksFetcher.CreateHandler(sp.GetRequiredService<IOptions<JwksOptions>>().Value))
            .ConfigureHttpClient((sp, client) => client.Timeout = sp.GetRequiredService<IOptions<JwksOptions>>().Value.RequestTimeout + TimeSpan.FromSeconds(1))
            // The default handlers log every request's full URI at Information; the key source logs what matters.
            .RemoveAllLoggers();
        services.AddSingleton<JwksKeySource>();
        services.AddSingleton<EncryptionKeyStore>();
        services.AddSingleton<IDecryptionKeySource>(sp => sp.GetRequiredService<EncryptionKeyStore>());
        services.ConfigureMarten(options =>
        {
            options.Schema.For<EncryptionKeyDocument>().Identity(x => x.Id).Index(x => x.AccountId);
            options.Events.AddEventType<EncryptionKeyCreated>();
            options.Events.AddEventType<EncryptionKeyDeleted>();
        });
    }
}

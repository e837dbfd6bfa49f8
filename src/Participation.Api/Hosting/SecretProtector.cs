using Microsoft.AspNetCore.DataProtection;

namespace Participation.Api.Hosting;

/// <summary>
/// Encrypts secrets at rest (HMAC secrets, private keys) with ASP.NET Core Data Protection, whose key ring lives in
/// PostgreSQL encrypted with the master key from configuration (<see cref="SecretsAtRest"/>). Protected values are
/// opaque strings prefixed <c>dp1:</c>; nothing here ever logs or echoes a value.
/// </summary>
public sealed class SecretProtector(IDataProtectionProvider provider)
{
    private const string Prefix = "dp1:";
    private readonly IDataProtector _protector = provider.CreateProtector("Participation.Secrets.v1");

    public string Protect(string plaintext)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        return Prefix + _protector.Protect(plaintext);
    }

    public string Unprotect(string protectedValue)
    {
        ArgumentNullException.ThrowIfNull(protectedValue);
        if (!protectedValue.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The stored secret is not in the protected format.");
        }

        return _protector.Unprotect(protectedValue[Prefix.Length..]);
    }

    public static bool IsProtected(string value) => value.StartsWith(Prefix, StringComparison.Ordinal);
}

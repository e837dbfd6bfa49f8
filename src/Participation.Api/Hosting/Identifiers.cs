using System.Text.RegularExpressions;

namespace Participation.Api.Hosting;

public static partial class Identifiers
{
    /// <summary>Account and campaign ids: <c>[A-Za-z0-9_-]{1,64}</c> (DESIGN.md).</summary>
    public static bool IsValid(string? id) => id is not null && IdPattern().IsMatch(id);

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}

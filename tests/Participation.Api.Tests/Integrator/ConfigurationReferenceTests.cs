using System.Reflection;
using System.Text.RegularExpressions;
using Participation.Api.Auth;
using Participation.Api.Hosting;
using Participation.Api.Pages;
using Participation.Api.Participations;
using Participation.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace Participation.Api.Tests.Integrator;

/// <summary>
/// docs/configuration.md against the code: every setting the service reads is documented there, and every
/// <c>Participation:...</c> key documented there is read by the code (a renamed or removed setting fails here).
/// </summary>
public sealed partial class ConfigurationReferenceTests
{
    private static readonly string Reference = RepositoryFiles.Read("docs", "configuration.md");

    /// <summary>Options classes bound from a section: section name and the keys of their settable properties.</summary>
    private static IEnumerable<string> OptionKeys()
    {
        foreach (var (section, type) in new[]
        {
            (ParticipationOptions.Section, typeof(ParticipationOptions)),
            (RateLimitOptions.Section, typeof(RateLimitOptions)),
            (JwksOptions.Section, typeof(JwksOptions)),
            (PageOptions.Section, typeof(PageOptions)),
            (ParticipationWriterOptions.Section, typeof(ParticipationWriterOptions)),
        })
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
            {
                yield return section + ":" + property.Name;
            }
        }
    }

    /// <summary>Keys the code reads by name: <c>"Participation:..."</c> literals anywhere in src/.</summary>
    private static IEnumerable<string> LiteralKeys() =>
        Directory.EnumerateFiles(RepositoryFiles.PathOf("src"), "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(path => QuotedKey().Matches(File.ReadAllText(path)).Select(m => m.Groups[1].Value))
            .Distinct(StringComparer.Ordinal);

    private static HashSet<string> CodeKeys() => new([.. OptionKeys(), .. LiteralKeys()], StringComparer.Ordinal);

    private static bool Documents(string key)
    {
        // The JWKS table lists its keys relative to the section ("under Participation:Jwks:").
        if (key.StartsWith(JwksOptions.Section + ":", StringComparison.Ordinal))
        {
            return Reference.Contains($"| `{key[(JwksOptions.Section.Length + 1)..]}` |", StringComparison.Ordinal);
        }

        return Reference.Contains($"`{key}`", StringComparison.Ordinal);
    }

    [Fact]
    public void Every_setting_the_code_reads_is_documented()
    {
        var keys = CodeKeys();
        keys.ShouldContain("Participation:AdminApiKey");
        keys.ShouldContain("Participation:MasterKey");
        keys.ShouldContain("Participation:Jwks:RefreshCooldown");
        var missing = keys.Where(key => key.Count(c => c == ':') >= 1 && !IsSectionOnly(key, keys) && !Documents(key)).ToList();
        missing.ShouldBeEmpty("settings read by the code but not in docs/configuration.md");

        // Read outside the Participation section: the database, the OTLP endpoints and name, the command line's secret.
        foreach (var name in Telemetry.OtlpEndpointSettings.Append("OTEL_SERVICE_NAME").Append("ConnectionStrings:Marten")
                     .Append(Cli.TokenCommand.SecretVariable).Append("PARTICIPATION_PG_BIN"))
        {
            Reference.ShouldContain(name);
        }
    }

    [Fact]
    public void Every_participation_setting_documented_is_read_by_the_code()
    {
        var keys = CodeKeys();
        var documented = DocumentedKey().Matches(Reference).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();
        documented.ShouldNotBeEmpty();
        var unknown = documented.Where(key => !keys.Contains(key) && !keys.Any(k => k.StartsWith(key + ":", StringComparison.Ordinal))).ToList();
        unknown.ShouldBeEmpty("keys in docs/configuration.md that no code reads");

        var jwksRows = JwksRow().Matches(Reference[Reference.IndexOf("### Partner JWKS endpoints", StringComparison.Ordinal)..Reference.IndexOf("### Pages", StringComparison.Ordinal)])
            .Select(m => JwksOptions.Section + ":" + m.Groups[1].Value).ToList();
        jwksRows.Count.ShouldBe(typeof(JwksOptions).GetProperties().Length);
        jwksRows.ShouldAllBe(key => keys.Contains(key));
    }

    /// <summary>A section name the code binds (<c>Participation:Jwks</c>), not a setting of its own.</summary>
    private static bool IsSectionOnly(string key, HashSet<string> keys) => keys.Any(k => k.StartsWith(key + ":", StringComparison.Ordinal));

    [GeneratedRegex(@"""(Participation(?::[A-Za-z]+)+)""")]
    private static partial Regex QuotedKey();

    [GeneratedRegex(@"`(Participation(?::[A-Za-z]+)+)`")]
    private static partial Regex DocumentedKey();

    [GeneratedRegex(@"^\| `([A-Za-z]+)` \|", RegexOptions.Multiline)]
    private static partial Regex JwksRow();
}

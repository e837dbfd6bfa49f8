using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Participation.Bench.Tokens;

/// <summary>
/// Mints the load generator's secure tokens before the measured window, one per line, the way a partner's back end
/// would sign them (IdentityModel, HS256 or RS256, no <c>kid</c>): <c>{sub, campaignId, jti, iat, exp}</c>.
/// <code>
/// keygen --private FILE --public FILE                       RSA-2048 key pair in PEM (PKCS#8 / SubjectPublicKeyInfo)
/// mint   --alg HS256 --secret-file FILE | --alg RS256 --private-key FILE
///        --campaign ID --plan new|returning|overlimit|mix --count N --prefix P [--limit L] [--participants P]
///        --out FILE
/// </code>
/// Plans (every token has its own jti unless said otherwise):
/// <list type="bullet">
/// <item><c>new</c>: token i is the first participation of sub <c>P-i</c> (a new stream each).</item>
/// <item><c>returning</c>: ceil(N/L) participants, taken in turn, so each gets at most L tokens (one creation, then appends).</item>
/// <item><c>overlimit</c>: tokens taken in turn by participants <c>P-0 … P-(participants-1)</c>, which a <c>new</c> plan
/// with the same prefix has brought to their limit of 1 beforehand: every token is refused (403).</item>
/// <item><c>mix</c>: seeded random sequence: 50% a new participant, 30% a returning one under its limit L, 10% one at
/// its limit (403), 10% a copy of an earlier token (409).</item>
/// </list>
/// </summary>
public static class Program
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static int Main(string[] args)
    {
        try
        {
            if (args.Length == 0)
            {
                throw new ArgumentException("usage: keygen | mint (see Program.cs)");
            }

            var options = Options.Parse(args.AsSpan(1));
            return args[0] switch
            {
                "keygen" => KeyGen(options),
                "mint" => Mint(options),
                _ => throw new ArgumentException($"unknown command '{args[0]}'"),
            };
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bench-tokens: {e.Message}");
            return 2;
        }
    }

    private static int KeyGen(Options options)
    {
        using var rsa = RSA.Create(2048);
        File.WriteAllText(options.Required("private"), rsa.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(options.Required("public"), rsa.ExportSubjectPublicKeyInfoPem());
        return 0;
    }

    private static int Mint(Options options)
    {
        var clock = Stopwatch.StartNew();
        var alg = options.Required("alg");
        var campaign = options.Required("campaign");
        var prefix = options.Required("prefix");
        var count = options.Int("count");
        var plan = BuildPlan(options.Required("plan"), prefix, count, options);

        using var rsa = alg == SecurityAlgorithms.RsaSha256 ? RSA.Create() : null;
        SigningCredentials credentials;
        if (rsa is not null)
        {
            rsa.ImportFromPem(File.ReadAllText(options.Required("private-key")));
            credentials = new SigningCredentials(new RsaSecurityKey(rsa), alg);
        }
        else if (alg == SecurityAlgorithms.HmacSha256)
        {
            var secret = Encoding.UTF8.GetBytes(File.ReadAllText(options.Required("secret-file")).Trim());
            credentials = new SigningCredentials(new SymmetricSecurityKey(secret), alg);
        }
        else
        {
            throw new ArgumentException("--alg must be HS256 or RS256");
        }

        var issuedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var expires = issuedAt + (6 * 3600);
        var campaignJson = JsonEncodedText.Encode(campaign).ToString();

        // A replay line repeats an earlier token verbatim: sign each distinct (sub, jti) once.
        var tokens = new string?[plan.Length];
        Parallel.For(0, plan.Length, i =>
        {
            var (sub, jti, copyOf) = plan[i];
            if (copyOf < 0)
            {
                var payload = string.Create(CultureInfo.InvariantCulture,
                    $$"""{"sub":"{{JsonEncodedText.Encode(sub)}}","campaignId":"{{campaignJson}}","jti":"{{JsonEncodedText.Encode(jti)}}","iat":{{issuedAt}},"exp":{{expires}}}""");
                tokens[i] = Handler.CreateToken(payload, credentials);
            }
        });

        using (var output = new StreamWriter(options.Required("out"), append: false, new UTF8Encoding(false)))
        {
            output.NewLine = "\n";
            for (var i = 0; i < plan.Length; i++)
            {
                output.WriteLine(tokens[i] ?? tokens[plan[i].CopyOf]);
            }
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench-tokens: {plan.Length} {alg} tokens ({options.Required("plan")}) for campaign {campaign} in {clock.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    /// <summary>The (sub, jti) of each line; <c>CopyOf</c> ≥ 0 makes the line a copy of an earlier one.</summary>
    private static (string Sub, string Jti, int CopyOf)[] BuildPlan(string plan, string prefix, int count, Options options)
    {
        var lines = new (string Sub, string Jti, int CopyOf)[count];
        switch (plan)
        {
            case "new":
                for (var i = 0; i < count; i++)
                {
                    lines[i] = (Id(prefix, i), Id(prefix, i), -1);
                }

                break;

            case "returning":
            {
                var limit = options.Int("limit");
                var participants = (count + limit - 1) / limit;
                for (var i = 0; i < count; i++)
                {
                    lines[i] = (Id(prefix, i % participants), Id(prefix + "-t", i), -1);
                }

                break;
            }

            case "overlimit":
            {
                var participants = options.Int("participants");
                for (var i = 0; i < count; i++)
                {
                    lines[i] = (Id(prefix, i % participants), Id(prefix + "-x", i), -1);
                }

                break;
            }

            case "mix":
                Mix(prefix, options.Int("limit"), lines);
                break;

            default:
                throw new ArgumentException($"unknown plan '{plan}'");
        }

        return lines;
    }

    private static void Mix(string prefix, int limit, (string Sub, string Jti, int CopyOf)[] lines)
    {
        var random = new Random(20_260_801);
        var open = new List<(int Participant, int Used)>();
        var full = new List<int>();
        var participants = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var jti = Id(prefix + "-m", i);
            var roll = random.NextDouble();
            if (roll >= 0.9 && i > 0)
            {
                lines[i] = (string.Empty, string.Empty, FirstOriginal(lines, random.Next(Math.Max(0, i - 2000), i)));
            }
            else if (roll >= 0.8 && full.Count > 0)
            {
                lines[i] = (Id(prefix, full[random.Next(full.Count)]), jti, -1);
            }
            else if (roll >= 0.5 && open.Count > 0)
            {
                var pick = random.Next(open.Count);
                var (participant, used) = open[pick];
                lines[i] = (Id(prefix, participant), jti, -1);
                if (used + 1 >= limit)
                {
                    open[pick] = open[^1];
                    open.RemoveAt(open.Count - 1);
                    full.Add(participant);
                }
                else
                {
                    open[pick] = (participant, used + 1);
                }
            }
            else
            {
                var participant = participants++;
                lines[i] = (Id(prefix, participant), jti, -1);
                if (limit > 1)
                {
                    open.Add((participant, 1));
                }
                else
                {
                    full.Add(participant);
                }
            }
        }
    }

    private static int FirstOriginal((string Sub, string Jti, int CopyOf)[] lines, int index) =>
        lines[index].CopyOf >= 0 ? lines[index].CopyOf : index;

    private static string Id(string prefix, int n) => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{n}");

    private sealed class Options
    {
        private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

        public static Options Parse(ReadOnlySpan<string> args)
        {
            var options = new Options();
            for (var i = 0; i < args.Length; i += 2)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new ArgumentException($"expected --name value pairs, got '{args[i]}'");
                }

                options.values[args[i][2..]] = args[i + 1];
            }

            return options;
        }

        public string Required(string name) =>
            values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required");

        public int Int(string name) =>
            int.TryParse(Required(name), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new ArgumentException($"--{name} must be a positive integer");
    }
}

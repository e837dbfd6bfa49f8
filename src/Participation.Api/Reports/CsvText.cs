using System.Text;

namespace Participation.Api.Reports;

/// <summary>
/// RFC 4180 fields for exports opened in spreadsheets: quoted when they hold a separator, a quote or a line break,
/// and a field that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return) is prefixed
/// with an apostrophe so it shows as text (OWASP "CSV injection").
/// </summary>
public static class CsvText
{
    public static void AppendField(StringBuilder line, string? value)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            line.Append(value);
            return;
        }

        line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}

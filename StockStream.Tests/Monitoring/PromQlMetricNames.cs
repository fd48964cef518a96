using System.Text;
using System.Text.RegularExpressions;

namespace StockStream.Tests.Monitoring;

/// <summary>
/// The metric names a PromQL expression reads (raw and recorded series), ignoring functions, aggregation operators,
/// keywords, label names and values, durations and numbers. A small scanner, not a full parser: good enough for the
/// expressions in our rules and dashboards, and checked by promtool parsing them separately.
/// </summary>
public static partial class PromQlMetricNames
{
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "atan2",
        "inf", "nan",
        // Aggregation operators may be followed by a by/without clause instead of a parenthesis.
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
        "limitk", "limit_ratio",
    };

    public static IReadOnlySet<string> Extract(string expr)
    {
        ArgumentNullException.ThrowIfNull(expr);
        var text = StripComments(expr);
        text = StringLiteral().Replace(text, " ");
        text = Braces().Replace(text, " ");
        text = Brackets().Replace(text, " ");
        text = Grouping().Replace(text, " ");
        text = GrafanaVariable().Replace(text, " ");

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Match match in Identifier().Matches(text))
        {
            var name = match.Groups["name"].Value;
            var isCall = match.Groups["call"].Success;
            if (isCall || Keywords.Contains(name))
            {
                continue;
            }

            names.Add(name);
        }

        return names;
    }

    private static string StripComments(string expr)
    {
        var builder = new StringBuilder(expr.Length);
        foreach (var line in expr.Split('\n'))
        {
            // A '#' outside a string starts a comment; label values with '#' are rare enough to ignore here.
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            builder.Append(hash >= 0 ? line[..hash] : line).Append('\n');
        }

        return builder.ToString();
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`", RegexOptions.CultureInvariant)]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^{}]*\}", RegexOptions.CultureInvariant)]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\[\]]*\]", RegexOptions.CultureInvariant)]
    private static partial Regex Brackets();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z]+)?\}?", RegexOptions.CultureInvariant)]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"(?<![A-Za-z0-9_:.$])(?<name>[A-Za-z_:][A-Za-z0-9_:]*)(?<call>\s*\()?", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}

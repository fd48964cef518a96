using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace StockStream.Tests.Monitoring;

/// <summary>One PromQL expression in the monitoring configs: where it is, what it is called, and the query.</summary>
public sealed record MonitoringExpression(string File, string Name, string Expr, bool IsAlert = false, bool IsRecording = false)
{
    public override string ToString() => $"{File}: {Name}";
}

/// <summary>Every PromQL expression in monitoring/prometheus/rules and monitoring/grafana/dashboards.</summary>
public static class MonitoringExpressions
{
    /// <summary>Grafana's built-in variables and the dashboard's own, with values that make the query plain PromQL.</summary>
    private static readonly (string Variable, string Value)[] GrafanaSubstitutions =
    [
        ("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range", "1h"), ("${resource}", ".*"), ("$resource", ".*"),
    ];

    public static IReadOnlyList<MonitoringExpression> All() => [.. Rules(), .. Dashboards()];

    public static IReadOnlyList<string> RuleFiles() =>
        Directory.EnumerateFiles(Path.Combine(MonitoringRepo.Monitoring, "prometheus", "rules"), "*.yml").Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<string> DashboardFiles() =>
        Directory.EnumerateFiles(Path.Combine(MonitoringRepo.Monitoring, "grafana", "dashboards"), "*.json").Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<MonitoringExpression> Rules()
    {
        var expressions = new List<MonitoringExpression>();
        foreach (var file in RuleFiles())
        {
            var yaml = new YamlStream();
            using (var reader = new StreamReader(file))
            {
                yaml.Load(reader);
            }

            var root = (YamlMappingNode)yaml.Documents[0].RootNode;
            foreach (var group in ((YamlSequenceNode)root["groups"]).Cast<YamlMappingNode>())
            {
                foreach (var rule in ((YamlSequenceNode)group["rules"]).Cast<YamlMappingNode>())
                {
                    var alert = Scalar(rule, "alert");
                    var record = Scalar(rule, "record");
                    var expr = Scalar(rule, "expr") ?? throw new InvalidOperationException($"{file}: a rule without expr");
                    expressions.Add(new MonitoringExpression(MonitoringRepo.Relative(file), alert ?? record ?? "(unnamed)", expr.Trim(),
                        IsAlert: alert is not null, IsRecording: record is not null));
                }
            }
        }

        return expressions;
    }

    /// <summary>Panel queries, with Grafana's variables replaced so promtool can parse them.</summary>
    public static IReadOnlyList<MonitoringExpression> Dashboards()
    {
        var expressions = new List<MonitoringExpression>();
        foreach (var file in DashboardFiles())
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            Collect(document.RootElement, MonitoringRepo.Relative(file), "dashboard", expressions);
        }

        return expressions;
    }

    /// <summary>The PromQL snippets in docs/runbooks (```promql blocks), so the runbooks' queries are checked too.</summary>
    public static IReadOnlyList<MonitoringExpression> Runbooks()
    {
        var expressions = new List<MonitoringExpression>();
        foreach (var file in Directory.EnumerateFiles(MonitoringRepo.PathOf("docs", "runbooks"), "*.md").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() == "```promql")
                {
                    var query = string.Join('\n', lines.Skip(i + 1).TakeWhile(line => line.Trim() != "```").Select(line => line.Trim()));
                    expressions.Add(new MonitoringExpression(MonitoringRepo.Relative(file), $"line {i + 2}", query));
                }
            }
        }

        return expressions;
    }

    /// <summary>Rule names the recording rules define (so a check of live metric names can leave them out).</summary>
    public static IReadOnlySet<string> RecordedNames() =>
        Rules().Where(rule => rule.IsRecording).Select(rule => rule.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>Metric names read by all expressions that are not defined by our own recording rules.</summary>
    public static IReadOnlySet<string> ExportedMetricNamesUsed()
    {
        var recorded = RecordedNames();
        return All().SelectMany(e => PromQlMetricNames.Extract(e.Expr)).Where(name => !recorded.Contains(name)).ToHashSet(StringComparer.Ordinal);
    }

    public static string WithoutGrafanaVariables(string expr) =>
        GrafanaSubstitutions.Aggregate(expr, (text, substitution) => text.Replace(substitution.Variable, substitution.Value, StringComparison.Ordinal));

    private static void Collect(JsonElement element, string file, string title, List<MonitoringExpression> expressions)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var here = element.TryGetProperty("title", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : title;
                if (element.TryGetProperty("targets", out var targets) && targets.ValueKind == JsonValueKind.Array)
                {
                    foreach (var target in targets.EnumerateArray())
                    {
                        if (target.TryGetProperty("expr", out var expr) && expr.ValueKind == JsonValueKind.String)
                        {
                            var refId = target.TryGetProperty("refId", out var id) ? id.GetString() : "?";
                            expressions.Add(new MonitoringExpression(file, $"{here} [{refId}]", WithoutGrafanaVariables(expr.GetString()!)));
                        }
                    }
                }

                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name != "targets")
                    {
                        Collect(property.Value, file, here, expressions);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, file, title, expressions);
                }

                break;
        }
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar ? scalar.Value : null;
}

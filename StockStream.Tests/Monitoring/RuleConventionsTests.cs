using YamlDotNet.RepresentationModel;

namespace StockStream.Tests.Monitoring;

/// <summary>Every alert is documented, labelled, unit-tested both ways, and reads only series that exist.</summary>
public sealed class RuleConventionsTests
{
    private static readonly string[] AlertNames =
    [
        "GatewayDown", "WebSocketProbeFailing", "DeliveryLatencyHigh", "SlowClientDisconnectsSurging", "StaleData",
        "CoinGeckoDown", "RedisDown", "RestartsTooFrequent", "IngestorNoLeader",
        "WebSocketAvailabilityBudgetBurn", "DeliveryLatencyBudgetBurn", "FreshnessBudgetBurn", "Watchdog",
    ];

    public static TheoryData<string> Alerts => new(AlertNames);

    [Fact]
    public void The_alert_set_is_the_designed_one() =>
        Assert.Equal(
            AlertNames.Order(StringComparer.Ordinal),
            MonitoringExpressions.Rules().Where(r => r.IsAlert).Select(r => r.Name).Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Alerts))]
    public void Alert_has_for_severity_summary_and_an_existing_runbook(string alert)
    {
        var rule = AlertRule(alert);

        Assert.True(rule.Children.ContainsKey(new YamlScalarNode("for")), $"{alert} has no for:");
        var labels = (YamlMappingNode)rule["labels"];
        Assert.Contains(((YamlScalarNode)labels["severity"]).Value, new[] { "critical", "warning" });
        var annotations = (YamlMappingNode)rule["annotations"];
        Assert.False(string.IsNullOrWhiteSpace(((YamlScalarNode)annotations["summary"]).Value));
        var runbook = ((YamlScalarNode)annotations["runbook_url"]).Value;
        Assert.Equal($"docs/runbooks/{alert}.md", runbook);
        var path = MonitoringRepo.PathOf("docs", "runbooks", $"{alert}.md");
        Assert.True(File.Exists(path), $"{runbook} is missing");
        var text = File.ReadAllText(path);
        foreach (var section in new[] { "## Symptom", "## Impact", "## Diagnosis", "## Automatic remediation", "## Manual steps" })
        {
            Assert.Contains(section, text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Alerts))]
    public void Alert_has_unit_tests_that_fire_it_and_keep_it_quiet(string alert)
    {
        var cases = AlertTestCases().Where(c => c.Alert == alert).ToList();

        Assert.True(cases.Any(c => c.ExpectsAlerts), $"no promtool test shows {alert} firing");
        Assert.True(cases.Any(c => !c.ExpectsAlerts), $"no promtool test shows {alert} staying quiet");
    }

    [Fact]
    public void WebSocketProbeFailing_fires_within_10_seconds_and_is_critical()
    {
        var rule = AlertRule("WebSocketProbeFailing");

        Assert.Equal("10s", ((YamlScalarNode)rule["for"]).Value);
        Assert.Equal("critical", ((YamlScalarNode)((YamlMappingNode)rule["labels"])["severity"]).Value);
        Assert.Contains("job=\"ws_probe\"", ((YamlScalarNode)rule["expr"]).Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_and_dashboards_read_only_exported_or_recorded_series()
    {
        var recorded = MonitoringExpressions.RecordedNames();
        var unknown = MonitoringExpressions.All()
            .SelectMany(e => PromQlMetricNames.Extract(e.Expr).Select(name => (e, name)))
            .Where(pair => !KnownMetrics.Names.Contains(pair.name) && !recorded.Contains(pair.name))
            .Select(pair => $"{pair.e}: {pair.name}")
            .ToList();

        Assert.True(unknown.Count == 0, "Unknown metric names:\n" + string.Join('\n', unknown));
    }

    [Fact]
    public void Every_exported_series_is_shown_or_alerted_on()
    {
        var used = MonitoringExpressions.ExportedMetricNamesUsed();
        var unused = KnownMetrics.Names.Where(name => !used.Contains(name) && !name.EndsWith("_sum", StringComparison.Ordinal)
            && !name.EndsWith("_count", StringComparison.Ordinal)).ToList();

        Assert.True(unused.Count == 0, "Exported but never used:\n" + string.Join('\n', unused));
    }

    [Fact]
    public void Dashboard_covers_the_designed_panels()
    {
        var titles = MonitoringExpressions.Dashboards().Select(e => e.Name).ToList();

        foreach (var topic in new[] { "Connections", "Updates in", "Frames out", "Delivery latency", "Probe success", "Uptime", "Slow-client",
                     "Redis stream length", "Reader lag", "Source state", "Restarts", "Leadership" })
        {
            Assert.Contains(titles, title => title.StartsWith(topic, StringComparison.Ordinal));
        }
    }

    private static YamlMappingNode AlertRule(string alert)
    {
        foreach (var file in MonitoringExpressions.RuleFiles())
        {
            foreach (var rule in RulesIn(file))
            {
                if (rule.Children.TryGetValue(new YamlScalarNode("alert"), out var name) && ((YamlScalarNode)name).Value == alert)
                {
                    return rule;
                }
            }
        }

        throw new InvalidOperationException($"No alert {alert} in monitoring/prometheus/rules");
    }

    private static IEnumerable<YamlMappingNode> RulesIn(string file) =>
        ((YamlSequenceNode)Load(file)["groups"]).Cast<YamlMappingNode>()
            .SelectMany(group => ((YamlSequenceNode)group["rules"]).Cast<YamlMappingNode>());

    private static IEnumerable<(string Alert, bool ExpectsAlerts)> AlertTestCases()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(MonitoringRepo.Monitoring, "prometheus", "tests"), "*.yml"))
        {
            foreach (var test in ((YamlSequenceNode)Load(file)["tests"]).Cast<YamlMappingNode>())
            {
                if (!test.Children.TryGetValue(new YamlScalarNode("alert_rule_test"), out var cases))
                {
                    continue;
                }

                foreach (var @case in ((YamlSequenceNode)cases).Cast<YamlMappingNode>())
                {
                    var expected = @case.Children.TryGetValue(new YamlScalarNode("exp_alerts"), out var alerts) && alerts is YamlSequenceNode { Children.Count: > 0 };
                    yield return (((YamlScalarNode)@case["alertname"]).Value!, expected);
                }
            }
        }
    }

    private static YamlMappingNode Load(string file)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(file);
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }
}

using StockStream.AppHost.Monitoring;

namespace StockStream.Tests.Monitoring;

/// <summary>The monitoring configs pass the checks of the tools that run them (Debian's prometheus, blackbox, alertmanager, yamllint).</summary>
public sealed class MonitoringConfigTests : IDisposable
{
    private readonly DirectoryInfo _run = Directory.CreateTempSubdirectory("stockstream-monitoring-config-");

    public void Dispose() => _run.Delete(recursive: true);

    [Fact]
    public void A_missing_tool_fails_naming_the_debian_package()
    {
        var error = Assert.Throws<InvalidOperationException>(() => MonitoringTools.Require("stockstream-no-such-tool", "prometheus-alertmanager"));

        Assert.Contains("apt-get install -y prometheus-alertmanager", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prometheus_config_in_the_repository_is_valid()
    {
        var result = await MonitoringTools.RunAsync(MonitoringTools.Promtool,
            ["check", "config", Path.Combine(MonitoringRepo.Monitoring, "prometheus", "prometheus.yml")]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("3 rule files found", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rendered_prometheus_config_is_valid_with_its_target_files()
    {
        var plan = Render();

        var result = await MonitoringTools.RunAsync(MonitoringTools.Promtool, ["check", "config", Path.Combine(plan.RunFolder, "prometheus", "prometheus.yml")]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("does not exist", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rules_are_valid()
    {
        var result = await MonitoringTools.RunAsync(MonitoringTools.Promtool, ["check", "rules", .. MonitoringExpressions.RuleFiles()]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Rule_unit_tests_pass()
    {
        var tests = Directory.EnumerateFiles(Path.Combine(MonitoringRepo.Monitoring, "prometheus", "tests"), "*.yml").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(tests);

        var result = await MonitoringTools.RunAsync(MonitoringTools.Promtool, ["test", "rules", .. tests],
            Path.Combine(MonitoringRepo.Monitoring, "prometheus"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAILED", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blackbox_config_is_valid_as_committed_and_as_rendered()
    {
        var committed = await MonitoringTools.RunAsync(MonitoringTools.BlackboxExporter,
            ["--config.check", $"--config.file={Path.Combine(MonitoringRepo.Monitoring, "blackbox", "blackbox.yml")}"]);
        var plan = Render();
        var rendered = await MonitoringTools.RunAsync(MonitoringTools.BlackboxExporter,
            ["--config.check", $"--config.file={Path.Combine(plan.RunFolder, "blackbox", "blackbox.yml")}"]);

        Assert.True(committed.ExitCode == 0, committed.ToString());
        Assert.True(rendered.ExitCode == 0, rendered.ToString());
        Assert.Contains("Config file is ok", rendered.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rendered_alertmanager_config_is_valid()
    {
        // The committed file holds the webhook placeholder, which amtool rejects as a URL: check what runs.
        var plan = Render();

        var result = await MonitoringTools.RunAsync(MonitoringTools.Amtool, ["check-config", Path.Combine(plan.RunFolder, "alertmanager", "alertmanager.yml")]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("remediation", "alertname=WebSocketProbeFailing", "severity=critical", "resource=gateway-1")]
    [InlineData("remediation", "alertname=GatewayDown", "severity=critical", "resource=gateway-0")]
    [InlineData("log-only", "alertname=DeliveryLatencyHigh", "severity=warning", "resource=gateway-0")]
    [InlineData("log-only", "alertname=CoinGeckoDown", "severity=warning", "source=coingecko")]
    [InlineData("people", "alertname=FreshnessBudgetBurn", "severity=critical", "slo=freshness")]
    [InlineData("dead-man-switch", "alertname=Watchdog", "severity=warning", "job=stockstream")]
    public async Task Critical_alerts_route_to_the_remediation_webhook_and_warnings_do_not(string receiver, string alertname, string severity, string extra)
    {
        var plan = Render();

        var result = await MonitoringTools.RunAsync(MonitoringTools.Amtool,
            ["config", "routes", "test", $"--config.file={Path.Combine(plan.RunFolder, "alertmanager", "alertmanager.yml")}", alertname, severity, extra]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(receiver, result.StdOut.Trim());
    }

    [Fact]
    public async Task Monitoring_yaml_passes_yamllint()
    {
        var result = await MonitoringTools.RunAsync(MonitoringTools.YamlLint,
            ["--strict", "--format", "parsable", "--config-file", MonitoringRepo.PathOf(".yamllint.yml"), "monitoring"]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Every_rule_dashboard_and_runbook_expression_parses()
    {
        // promtool has no bare "parse this query" command in 2.42: wrap every expression in a recording rule.
        var expressions = MonitoringExpressions.All().Concat(MonitoringExpressions.Runbooks()).ToList();
        var file = Path.Combine(_run.FullName, "all-expressions.yml");
        var lines = new List<string> { "groups:", "  - name: every_expression", "    rules:" };
        for (var i = 0; i < expressions.Count; i++)
        {
            lines.Add($"      - record: check:expression_{i}");
            lines.Add("        expr: |");
            lines.AddRange(expressions[i].Expr.Split('\n').Select(line => "          " + line));
        }

        await File.WriteAllLinesAsync(file, lines);

        var result = await MonitoringTools.RunAsync(MonitoringTools.Promtool, ["check", "rules", file]);

        Assert.True(expressions.Count > 40, $"only {expressions.Count} expressions found");
        Assert.True(result.ExitCode == 0, result + "\n" + string.Join('\n', expressions.Select((e, i) => $"expression_{i} = {e}")));
        Assert.Contains($"{expressions.Count} rules found", result.Output, StringComparison.Ordinal);
    }

    private MonitoringPlan Render() => new MonitoringLayout().Render(new MonitoringRequest(
        MonitoringRepo.Monitoring,
        Path.Combine(_run.FullName, "run"),
        [new MonitoredService("gateway-0", "gateway", "127.0.0.1:5201"), new MonitoredService("apphost", "apphost", "127.0.0.1:18888")],
        [new WebSocketEndpoint("gateway-0", "127.0.0.1:5201")],
        "127.0.0.1:19090", "127.0.0.1:19115", "127.0.0.1:19093",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwcm9iZSJ9.c2lnbmF0dXJl",
        new Uri("http://127.0.0.1:18888/alerts")));
}

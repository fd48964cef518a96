using System.Diagnostics;
using System.Text.Json;
using StockStream.AppHost.Monitoring;
using Xunit.Abstractions;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Monitoring;

/// <summary>
/// The whole loop with the real binaries: blackbox ws probe → Prometheus rule → Alertmanager → remediation webhook →
/// restart of the right resource.
/// </summary>
public sealed class SelfHealingTests(ITestOutputHelper output) : IDisposable
{
    // Shaped like a JWT (the layout insists); the fake gateway only checks it arrives.
    private const string ProbeToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwcm9iZSIsInNjb3BlIjoicmVhZCJ9.cHJvYmUtc2lnbmF0dXJl";

    private readonly DirectoryInfo _run = Directory.CreateTempSubdirectory("stockstream-selfhealing-");

    public void Dispose()
    {
        try
        {
            _run.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A process still flushing its data folder; the temp folder is cleaned up by the OS.
        }
    }

    [Fact]
    public async Task WebSocketProbeFailing_reaches_the_webhook_and_restarts_the_failed_gateway()
    {
        await using var gateway = await FakeGateway.StartAsync();
        var controller = new RecordingResourceController();
        await using var webhook = await WebhookHost.StartAsync(controller, options => options.Cooldown = TimeSpan.Zero);
        var plan = new MonitoringLayout().Render(new MonitoringRequest(
            MonitoringRepo.Monitoring,
            _run.FullName,
            [new MonitoredService("gateway-0", "gateway", gateway.HostPort)],
            [new WebSocketEndpoint("gateway-0", gateway.HostPort)],
            $"127.0.0.1:{MonitoringStack.FreePort()}",
            $"127.0.0.1:{MonitoringStack.FreePort()}",
            $"127.0.0.1:{MonitoringStack.FreePort()}",
            ProbeToken,
            webhook.AlertsUrl));
        await using var stack = await MonitoringStack.StartAsync(plan, TimeSpan.FromSeconds(30));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string Diagnostics() => stack.Diagnostics() + "\nalerts: " + Get(http, plan, "api/v1/alerts") + "\ntargets: " + Get(http, plan, "api/v1/targets");

        await Eventually.TrueAsync(async () => await ProbeSuccessAsync(http, plan) == 1, TimeSpan.FromSeconds(60),
            "the ws_upgrade probe of gateway-0 succeeds", Diagnostics);
        Assert.Contains(ProbeToken, gateway.TokensSeen);
        Assert.True(gateway.Upgrades > 0);
        Assert.Empty(controller.Requested);

        var broken = Stopwatch.StartNew();
        gateway.Healthy = false;
        await Eventually.TrueAsync(async () => await ProbeSuccessAsync(http, plan) == 0, TimeSpan.FromSeconds(30),
            "Prometheus sees the probe fail", Diagnostics);
        var probeFailedAfter = broken.Elapsed;
        await Eventually.TrueAsync(() => controller.Restarted.Contains("gateway-0"), TimeSpan.FromSeconds(90),
            "WebSocketProbeFailing reaches the webhook and gateway-0 is restarted", Diagnostics);
        var restartedAfter = broken.Elapsed;

        output.WriteLine($"probe_success=0 seen after {probeFailedAfter.TotalSeconds:F1} s; restart requested after {restartedAfter.TotalSeconds:F1} s");
        Assert.Equal(["gateway-0"], controller.Restarted);
        Assert.True(restartedAfter < TimeSpan.FromSeconds(60), $"self-healing took {restartedAfter.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task RedisDown_inhibits_restarts_in_alertmanager()
    {
        var controller = new RecordingResourceController();
        await using var webhook = await WebhookHost.StartAsync(controller, options => options.Cooldown = TimeSpan.Zero);
        var plan = new MonitoringLayout().Render(new MonitoringRequest(
            MonitoringRepo.Monitoring, _run.FullName, [], [],
            $"127.0.0.1:{MonitoringStack.FreePort()}", $"127.0.0.1:{MonitoringStack.FreePort()}", $"127.0.0.1:{MonitoringStack.FreePort()}",
            ProbeToken, webhook.AlertsUrl));
        await using var stack = await MonitoringStack.StartAsync(plan, TimeSpan.FromSeconds(30));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var now = DateTimeOffset.UtcNow;
        var alerts = $$"""
            [
              {"labels": {"alertname": "RedisDown", "severity": "critical"}, "startsAt": "{{now:O}}"},
              {"labels": {"alertname": "WebSocketProbeFailing", "severity": "critical", "resource": "gateway-1", "job": "ws_probe"}, "startsAt": "{{now:O}}"},
              {"labels": {"alertname": "ControlAlert", "severity": "critical", "resource": "control-0"}, "startsAt": "{{now:O}}"}
            ]
            """;

        using var posted = await http.PostAsync(new Uri(plan.AlertmanagerUrl, "api/v2/alerts"),
            new StringContent(alerts, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());

        string state = "(none)";
        await Eventually.TrueAsync(async () =>
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(plan.AlertmanagerUrl, "api/v2/alerts")));
            var probe = document.RootElement.EnumerateArray()
                .Where(a => a.GetProperty("labels").GetProperty("alertname").GetString() == "WebSocketProbeFailing")
                .Select(a => a.GetProperty("status"))
                .ToList();
            state = probe.Count == 0 ? "(none)" : probe[0].ToString();
            return probe.Count == 1 && probe[0].GetProperty("state").GetString() == "suppressed"
                && probe[0].GetProperty("inhibitedBy").GetArrayLength() == 1;
        }, TimeSpan.FromSeconds(30), "WebSocketProbeFailing is inhibited by RedisDown", () => state + "\n" + stack.Diagnostics());

        // A critical alert that RedisDown does not inhibit, sent at the same moment, is the control: once its restart
        // arrives, the inhibited group has had the same group wait and must have sent nothing.
        await Eventually.TrueAsync(() => controller.Requested.Contains("control-0"), TimeSpan.FromSeconds(30),
            "the uninhibited control alert reaches the webhook", stack.Diagnostics);
        Assert.Equal(["control-0"], controller.Requested);
    }

    private static async Task<double?> ProbeSuccessAsync(HttpClient http, MonitoringPlan plan)
    {
        var query = Uri.EscapeDataString("probe_success{job=\"ws_probe\",resource=\"gateway-0\"}");
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(plan.PrometheusUrl, $"api/v1/query?query={query}")));
        var result = document.RootElement.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 0
            ? null
            : double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Get(HttpClient http, MonitoringPlan plan, string path)
    {
        try
        {
            return http.GetStringAsync(new Uri(plan.PrometheusUrl, path)).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ex.Message;
        }
    }
}

using System.Diagnostics;
using System.Text.Json;
using StockStream.AppHost.Monitoring;
using StockStream.Tests.Fakes;
using StockStream.Tests.Infrastructure;
using Xunit.Abstractions;
using static StockStream.Tests.Gateway.GatewayTestKit;

namespace StockStream.Tests.Monitoring;

/// <summary>
/// The real system started with <c>--monitoring true</c>: the AppHost runs Prometheus, the blackbox exporter and
/// Alertmanager from their Debian binaries, and its own control plane is the remediation webhook.
/// </summary>
public sealed class MonitoredSystemTests(ITestOutputHelper output)
{
    private static readonly string[] Symbols = ["AAPL", "MSFT", "NVDA"];

    // Prometheus synthesises these only while an alert is pending or firing.
    private static readonly HashSet<string> AlertSeries = ["ALERTS", "ALERTS_FOR_STATE"];

    [Fact]
    public async Task Every_series_the_rules_dashboards_and_runbooks_read_is_exported_by_the_running_system()
    {
        // Bad entries upstream, a standby ingestor, refused and malformed clients: the event counters get their series.
        await using var coinGecko = await FakeCoinGecko.StartAsync();
        coinGecko.Default = FakeResponse.Fixture("exchange_rates_bad_entries.json");
        var options = MonitoredOptions(gateways: 2, ingestors: 2);
        options.CoinGeckoBaseUrl = coinGecko.BaseAddress.ToString().TrimEnd('/');
        options.Environment["ingestor"]["CoinGecko__Enabled"] = "true";
        options.Environment["ingestor"]["CoinGecko__PollInterval"] = "00:00:01";
        await using var system = await StockStreamSystem.StartAsync(options);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var prometheus = system.PrometheusUrl ?? throw new InvalidOperationException("The monitoring stack did not start.");

        await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket("gateway-0"), system.CreateToken());
        await client.SubscribeAsync(1, Symbols);
        await client.WaitForAsync(f => f.IsMarketData(), TimeSpan.FromSeconds(30), "updates flow");
        await client.SendAsync("{not json");
        await client.WaitForTypeAsync("error");
        // Only the refusal's counter matters here (AuthMatrixTests own the status codes); under a loaded CI machine the
        // alert loop may be restarting gateway-1 at this moment, so ask until it answers.
        await Eventually.TrueAsync(async () => await TestClient.RefusedStatusAsync(system.GatewayWebSocket("gateway-1"), token: null) == 401,
            TimeSpan.FromSeconds(60), "gateway-1 refuses a client without a token with 401",
            () => string.Join(", ", system.AllReplicas().Select(r => $"{r.Id}: {r.State}/{r.Health}, restarts {r.Restarts}")));

        var recorded = MonitoringExpressions.RecordedNames();
        var expressions = MonitoringExpressions.All().Concat(MonitoringExpressions.Runbooks()).ToList();
        var needed = expressions
            .SelectMany(e => PromQlMetricNames.Extract(e.Expr).Select(name => (Expression: e, Name: name)))
            .Where(pair => !recorded.Contains(pair.Name) && !AlertSeries.Contains(pair.Name))
            .ToList();
        Assert.True(needed.Select(p => p.Name).Distinct().Count() > 25, $"only {needed.Count} metric names found in the expressions");

        IReadOnlySet<string> live = new HashSet<string>();
        string Missing() => string.Join('\n', needed.Where(p => !live.Contains(p.Name)).Select(p => $"{p.Name}  ({p.Expression})").Distinct());
        await Eventually.TrueAsync(async () =>
        {
            live = await SeriesNamesAsync(http, prometheus);
            return needed.All(p => live.Contains(p.Name));
        }, TimeSpan.FromSeconds(90), "Prometheus scrapes every series the rules, dashboards and runbooks use", () => "Not exported:\n" + Missing());

        // Every recording rule evaluates to something too: its inputs are real, not just well-named.
        await Eventually.TrueAsync(async () =>
        {
            live = await SeriesNamesAsync(http, prometheus);
            return recorded.All(live.Contains);
        }, TimeSpan.FromSeconds(60), "every recording rule produces a series",
            () => "Not recorded:\n" + string.Join('\n', recorded.Where(name => !live.Contains(name))));
    }

    [Fact]
    public async Task A_gateway_that_refuses_websockets_is_restarted_by_the_alert_loop_and_its_clients_resume_without_a_gap()
    {
        await using var system = await StockStreamSystem.StartAsync(MonitoredOptions(gateways: 2, ingestors: 1));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var prometheus = system.PrometheusUrl ?? throw new InvalidOperationException("The monitoring stack did not start.");
        var alertmanager = system.AlertmanagerUrl!;
        var gateway0 = system.ResolveId("gateway-0");
        string Diagnostics() => $"gateway-0: {system.Replica("gateway-0").State}, restarts {system.Replica("gateway-0").Restarts}\n" +
            $"alertmanager: {Get(http, new Uri(alertmanager, "api/v2/alerts"))}\nprometheus alerts: {Get(http, new Uri(prometheus, "api/v1/alerts"))}\n" +
            $"alertmanager output:\n{system.RecentOutputAsync("alertmanager").GetAwaiter().GetResult()}";

        await Eventually.TrueAsync(async () => await ProbeSuccessAsync(http, prometheus, gateway0) == 1, TimeSpan.FromSeconds(60),
            "the WebSocket probe of gateway-0 succeeds", Diagnostics);

        await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket("gateway-0"), system.CreateToken());
        var epoch = (await client.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString()!;
        await client.SubscribeAsync(1, Symbols);
        foreach (var symbol in Symbols)
        {
            await client.WaitForAsync(_ => Seqs(client.All, symbol).Count >= 3, TimeSpan.FromSeconds(30), $"three {symbol} frames");
        }

        var pidBefore = system.Replica("gateway-0").ProcessId!.Value;
        var restartsBefore = system.Replica("gateway-0").Restarts;
        var broken = Stopwatch.StartNew();
        using (var fault = await http.PostAsync(new Uri(system.Endpoint("gateway-0"), "/faults/reject-websockets"), null))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, fault.StatusCode);
        }

        await Eventually.TrueAsync(async () => await ProbeSuccessAsync(http, prometheus, gateway0) == 0, TimeSpan.FromSeconds(30),
            "Prometheus sees the WebSocket probe of gateway-0 fail", Diagnostics);
        var probeFailed = broken.Elapsed;
        await Eventually.TrueAsync(() => system.Replica("gateway-0").Restarts > restartsBefore, TimeSpan.FromSeconds(90),
            "WebSocketProbeFailing fires, Alertmanager calls the AppHost's webhook and gateway-0 is restarted", Diagnostics);
        var restarted = broken.Elapsed;
        Assert.Equal(ServerRestartCloseCode, await client.WaitClosedAsync(TimeSpan.FromSeconds(30)));

        await system.WaitReadyAsync("gateway-0");
        Assert.NotEqual(pidBefore, system.Replica("gateway-0").ProcessId);
        await Eventually.TrueAsync(async () => await ProbeSuccessAsync(http, prometheus, gateway0) == 1, TimeSpan.FromSeconds(60),
            "the probe of the restarted gateway-0 succeeds again", Diagnostics);
        var probeRecovered = broken.Elapsed;

        // The client comes back to the same replica and resumes where it was cut off.
        var last = Symbols.ToDictionary(s => s, s => Seqs(client.All, s)[^1]);
        await using var resumed = await TestClient.ConnectAsync(system.GatewayWebSocket("gateway-0"), system.CreateToken());
        await resumed.SendAsync(new { type = "subscribe", id = 2, symbols = Symbols, resume = new { epoch, positions = last } });
        foreach (var symbol in Symbols)
        {
            await resumed.WaitForAsync(_ => Seqs(resumed.All, symbol).Count >= 3, TimeSpan.FromSeconds(30), $"{symbol} resumes");
            AssertContiguous(Seqs(resumed.All, symbol), $"{symbol} resumed after {last[symbol]}", first: last[symbol] + 1);
        }

        var clientsResumed = broken.Elapsed;
        Assert.DoesNotContain(resumed.All, f => f.Type() is "snapshot" or "reset");
        Assert.Equal(1, system.Replica("gateway-0").Restarts - restartsBefore);
        Assert.Equal(0, system.Replica("gateway-1").Restarts);

        output.WriteLine($"fault at 0 s; probe_success=0 after {probeFailed.TotalSeconds:F1} s; restart after {restarted.TotalSeconds:F1} s; " +
            $"probe_success=1 after {probeRecovered.TotalSeconds:F1} s; client resumed after {clientsResumed.TotalSeconds:F1} s");
    }

    /// <summary>docs/protocol.md: the gateway is draining; reconnect and resume.</summary>
    private const int ServerRestartCloseCode = 1012;

    private static SystemOptions MonitoredOptions(int gateways, int ingestors)
    {
        var options = SystemFixture.TestOptions(gateways, ingestors);
        options.Monitoring = true;
        return options;
    }

    private static async Task<IReadOnlySet<string>> SeriesNamesAsync(HttpClient http, Uri prometheus)
    {
        try
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(prometheus, "api/v1/label/__name__/values")));
            return document.RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetString()!).ToHashSet(StringComparer.Ordinal);
        }
        catch (HttpRequestException)
        {
            return new HashSet<string>();
        }
    }

    private static async Task<double?> ProbeSuccessAsync(HttpClient http, Uri prometheus, string resource)
    {
        try
        {
            var query = Uri.EscapeDataString($"probe_success{{job=\"ws_probe\",resource=\"{resource}\"}}");
            using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(prometheus, $"api/v1/query?query={query}")));
            var result = document.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0 ? null : double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static string Get(HttpClient http, Uri url)
    {
        try
        {
            return http.GetStringAsync(url).GetAwaiter().GetResult();
        }
        catch (HttpRequestException ex)
        {
            return ex.Message;
        }
    }
}

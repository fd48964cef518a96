using System.Text.Json;
using StockStream.AppHost.Monitoring;

namespace StockStream.Tests.Monitoring;

public sealed class MonitoringLayoutTests : IDisposable
{
    private const string Token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwcm9iZSJ9.c2lnbmF0dXJl";

    private readonly DirectoryInfo _run = Directory.CreateTempSubdirectory("stockstream-layout-");

    public void Dispose() => _run.Delete(recursive: true);

    private MonitoringRequest Request(string token = Token) => new(
        MonitoringRepo.Monitoring,
        _run.FullName,
        [
            new MonitoredService("apphost", "apphost", "127.0.0.1:18888"),
            new MonitoredService("gateway-0", "gateway", "127.0.0.1:5201"),
            new MonitoredService("gateway-1", "gateway", "127.0.0.1:5202"),
        ],
        [new WebSocketEndpoint("gateway-0", "127.0.0.1:5201"), new WebSocketEndpoint("gateway-1", "127.0.0.1:5202")],
        "127.0.0.1:19090", "127.0.0.1:19115", "127.0.0.1:19093", token, new Uri("http://127.0.0.1:18888/alerts"));

    [Fact]
    public void Placeholders_are_filled_and_the_token_file_is_private()
    {
        var plan = new MonitoringLayout().Render(Request());

        var blackbox = File.ReadAllText(Path.Combine(plan.RunFolder, "blackbox", "blackbox.yml"));
        var alertmanager = File.ReadAllText(Path.Combine(plan.RunFolder, "alertmanager", "alertmanager.yml"));
        Assert.Contains($"GET /ws?access_token={Token} HTTP/1.1\\r", blackbox, StringComparison.Ordinal);
        Assert.DoesNotContain(MonitoringLayout.ProbeTokenPlaceholder, blackbox, StringComparison.Ordinal);
        Assert.Contains("url: http://127.0.0.1:18888/alerts", alertmanager, StringComparison.Ordinal);
        Assert.DoesNotContain(MonitoringLayout.WebhookUrlPlaceholder, alertmanager, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(plan.RunFolder, "prometheus", "rules", "alerts.yml")));
        Assert.False(Directory.Exists(Path.Combine(plan.RunFolder, "prometheus", "tests")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(plan.RunFolder, "blackbox", "blackbox.yml")));
        }
    }

    [Fact]
    public void Target_files_carry_service_resource_and_the_blackbox_address()
    {
        var plan = new MonitoringLayout().Render(Request());

        using var services = JsonDocument.Parse(File.ReadAllText(Path.Combine(plan.TargetsFolder, "services.json")));
        using var ws = JsonDocument.Parse(File.ReadAllText(Path.Combine(plan.TargetsFolder, "ws_probe.json")));
        using var probes = JsonDocument.Parse(File.ReadAllText(Path.Combine(plan.TargetsFolder, "http_probe.json")));
        using var alertmanagers = JsonDocument.Parse(File.ReadAllText(Path.Combine(plan.TargetsFolder, "alertmanager.json")));

        var gateway = services.RootElement[1];
        Assert.Equal("127.0.0.1:5201", gateway.GetProperty("targets")[0].GetString());
        Assert.Equal("gateway", gateway.GetProperty("labels").GetProperty("service").GetString());
        Assert.Equal("gateway-0", gateway.GetProperty("labels").GetProperty("resource").GetString());
        Assert.Equal(2, ws.RootElement.GetArrayLength());
        Assert.Equal("127.0.0.1:5202", ws.RootElement[1].GetProperty("targets")[0].GetString());
        Assert.Equal("gateway-1", ws.RootElement[1].GetProperty("labels").GetProperty("resource").GetString());
        Assert.Equal("127.0.0.1:19115", ws.RootElement[1].GetProperty("labels").GetProperty("__blackbox_address").GetString());
        Assert.Equal("http://127.0.0.1:18888/health", probes.RootElement[0].GetProperty("targets")[0].GetString());
        Assert.Equal("127.0.0.1:19093", alertmanagers.RootElement[0].GetProperty("targets")[0].GetString());
    }

    [Fact]
    public void Commands_listen_where_asked_keep_data_in_the_run_folder_and_disable_clustering()
    {
        var plan = new MonitoringLayout().Render(Request());

        Assert.Equal("prometheus", plan.Prometheus.FileName);
        Assert.Contains("--web.listen-address=127.0.0.1:19090", plan.Prometheus.Arguments);
        Assert.Contains("--web.enable-lifecycle", plan.Prometheus.Arguments);
        Assert.Contains($"--storage.tsdb.path={Path.Combine(plan.RunFolder, "prometheus-data")}", plan.Prometheus.Arguments);
        Assert.Equal("prometheus-blackbox-exporter", plan.Blackbox.FileName);
        Assert.Contains("--web.listen-address=127.0.0.1:19115", plan.Blackbox.Arguments);
        Assert.Equal("prometheus-alertmanager", plan.Alertmanager.FileName);
        Assert.Contains("--cluster.listen-address=", plan.Alertmanager.Arguments);
        Assert.Contains($"--storage.path={Path.Combine(plan.RunFolder, "alertmanager-data")}", plan.Alertmanager.Arguments);
        Assert.Equal(new Uri("http://127.0.0.1:19090/"), plan.PrometheusUrl);
        Assert.Equal([plan.Blackbox, plan.Alertmanager, plan.Prometheus], plan.Commands);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5201/")]
    [InlineData("ws://127.0.0.1:5201/ws")]
    public void A_websocket_endpoint_is_host_and_port_of_the_replica(string url) =>
        Assert.Equal(new WebSocketEndpoint("gateway-0", "127.0.0.1:5201"), WebSocketEndpoint.FromUri("gateway-0", new Uri(url)));

    [Theory]
    [InlineData("not a token")]
    [InlineData("abc\"\ninjected: true")]
    [InlineData("abc.def&x=1")]
    public void A_token_that_is_not_a_jwt_is_refused(string token) =>
        Assert.Throws<ArgumentException>(() => new MonitoringLayout().Render(Request(token)));

    [Fact]
    public void Targets_can_be_rewritten_when_replicas_change()
    {
        var plan = new MonitoringLayout().Render(Request());

        MonitoringLayout.WriteTargets(plan.TargetsFolder, [new MonitoredService("gateway-2", "gateway", "127.0.0.1:5203")],
            [new WebSocketEndpoint("gateway-2", "127.0.0.1:5203")], "127.0.0.1:19115", "127.0.0.1:19093");

        using var ws = JsonDocument.Parse(File.ReadAllText(Path.Combine(plan.TargetsFolder, "ws_probe.json")));
        Assert.Equal("gateway-2", Assert.Single(ws.RootElement.EnumerateArray()).GetProperty("labels").GetProperty("resource").GetString());
        Assert.Empty(Directory.GetFiles(plan.TargetsFolder, "*.tmp"));
    }
}

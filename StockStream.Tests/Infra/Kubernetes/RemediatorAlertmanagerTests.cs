using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using StockStream.Tests.Infrastructure;
using StockStream.Tests.Monitoring;

namespace StockStream.Tests.Infra.Kubernetes;

/// <summary>
/// The real Alertmanager (Debian's, with monitoring/alertmanager/alertmanager.yml: the same routes and inhibitions the
/// chart's AlertmanagerConfig carries) posting to the remediator, which rolls the Deployment on the fake API server.
/// </summary>
public sealed class RemediatorAlertmanagerTests
{
    [Fact]
    public async Task A_critical_alert_from_alertmanager_restarts_its_deployment_once_and_redis_down_inhibits_restarts()
    {
        await using var api = await FakeKubernetesApi.StartAsync(["stockstream-gateway", "stockstream-ingestor", "stockstream-web"]);
        await using var remediator = await RemediatorHost.StartAsync(api, TimeProvider.System, cooldown: TimeSpan.Zero);
        await using var alertmanager = await AlertmanagerProcess.StartAsync(remediator.AlertsUrl);

        var startsAt = DateTimeOffset.UtcNow;
        await alertmanager.PostAsync(
            Alert("WebSocketProbeFailing", "critical", startsAt, ("resource", "stockstream-gateway"), ("job", "ws_probe")),
            Alert("DeliveryLatencyHigh", "warning", startsAt, ("resource", "stockstream-web")));

        await Eventually.TrueAsync(() => api.Patches.Any(), TimeSpan.FromSeconds(30), "Alertmanager's webhook made the remediator restart the gateway", alertmanager.Diagnostics);
        Assert.Equal("/apis/apps/v1/namespaces/stockstream-test/deployments/stockstream-gateway", Assert.Single(api.Patches).Path);

        // Redis down: the ingestor's alert is inhibited, nothing restarts it (restarts would not bring Redis back).
        await alertmanager.PostAsync(Alert("RedisDown", "critical", startsAt));
        await Eventually.TrueAsync(async () => await alertmanager.StateAsync("RedisDown") == "active", TimeSpan.FromSeconds(30), "RedisDown is active", alertmanager.Diagnostics);
        await alertmanager.PostAsync(Alert("IngestorNoLeader", "critical", startsAt, ("resource", "stockstream-ingestor")));
        await Eventually.TrueAsync(async () => await alertmanager.StateAsync("IngestorNoLeader") == "suppressed", TimeSpan.FromSeconds(30),
            "RedisDown inhibits the ingestor alert", alertmanager.Diagnostics);

        // A later critical alert RedisDown does not inhibit goes through: by then the ingestor's group has been judged.
        await alertmanager.PostAsync(Alert("WebFrozen", "critical", DateTimeOffset.UtcNow, ("resource", "stockstream-web")));
        await Eventually.TrueAsync(() => api.Patches.Count() == 2, TimeSpan.FromSeconds(30), "the web was restarted", alertmanager.Diagnostics);

        Assert.Equal(["stockstream-gateway", "stockstream-web"], api.Patches.Select(p => p.Path.Split('/')[^1]));
    }

    private static object Alert(string name, string severity, DateTimeOffset startsAt, params (string Key, string Value)[] labels)
    {
        var all = new Dictionary<string, string> { ["alertname"] = name, ["severity"] = severity, ["namespace"] = "stockstream" };
        foreach (var (key, value) in labels)
        {
            all[key] = value;
        }

        return new { labels = all, annotations = new Dictionary<string, string> { ["summary"] = name }, startsAt, generatorURL = "http://prometheus:9090/graph" };
    }

    /// <summary>prometheus-alertmanager on a free loopback port with the repository's configuration; killed on dispose.</summary>
    private sealed class AlertmanagerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly DirectoryInfo _folder;
        private readonly StringBuilder _output = new();
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

        private AlertmanagerProcess(Process process, DirectoryInfo folder, Uri url)
        {
            _process = process;
            _folder = folder;
            Url = url;
        }

        public Uri Url { get; }

        public static async Task<AlertmanagerProcess> StartAsync(Uri webhook)
        {
            var binary = MonitoringTools.Alertmanager;
            var folder = Directory.CreateTempSubdirectory("stockstream-alertmanager-");
            var config = InfraRepo.Read("monitoring", "alertmanager", "alertmanager.yml").Replace("__REMEDIATION_WEBHOOK_URL__", webhook.ToString(), StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "alertmanager.yml"), config);
            var port = FreePort();
            var info = new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = folder.FullName,
            };
            foreach (var argument in new[]
                     {
                         $"--config.file={Path.Combine(folder.FullName, "alertmanager.yml")}", $"--storage.path={Path.Combine(folder.FullName, "data")}",
                         $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                     })
            {
                info.ArgumentList.Add(argument);
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {binary}");
            var alertmanager = new AlertmanagerProcess(process, folder, new Uri($"http://127.0.0.1:{port}/"));
            process.OutputDataReceived += (_, e) => alertmanager.Append(e.Data);
            process.ErrorDataReceived += (_, e) => alertmanager.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await Eventually.TrueAsync(async () =>
                {
                    Assert.False(process.HasExited, alertmanager.Diagnostics());
                    using var response = await alertmanager._http.GetAsync(new Uri(alertmanager.Url, "-/ready"));
                    return response.IsSuccessStatusCode;
                }, TimeSpan.FromSeconds(30), "alertmanager is ready", alertmanager.Diagnostics);
            }
            catch
            {
                await alertmanager.DisposeAsync();
                throw;
            }

            return alertmanager;
        }

        public async Task PostAsync(params object[] alerts)
        {
            using var response = await _http.PostAsJsonAsync(new Uri(Url, "api/v2/alerts"), alerts);
            Assert.True(response.IsSuccessStatusCode, $"POST /api/v2/alerts: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        /// <summary>active, suppressed or unprocessed, for the alert with that name.</summary>
        public async Task<string?> StateAsync(string alertName)
        {
            using var alerts = JsonDocument.Parse(await _http.GetStringAsync(new Uri(Url, "api/v2/alerts")));
            return alerts.RootElement.EnumerateArray()
                .Where(a => a.GetProperty("labels").GetProperty("alertname").GetString() == alertName)
                .Select(a => a.GetProperty("status").GetProperty("state").GetString())
                .FirstOrDefault();
        }

        public string Diagnostics()
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
            {
            }

            _process.Dispose();
            _folder.Delete(recursive: true);
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}

using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace StockStream.AppHost.Monitoring;

/// <summary>A scraped service instance: <c>gateway-1</c>, <c>gateway</c>, <c>127.0.0.1:5123</c>.</summary>
public sealed record MonitoredService(string ResourceName, string ServiceName, string HostPort);

/// <summary>A gateway replica's WebSocket listener, probed with a real Upgrade handshake.</summary>
public sealed record WebSocketEndpoint(string ResourceName, string HostPort)
{
    /// <summary>From a replica's endpoint URL (<c>http://127.0.0.1:5201</c> or <c>ws://127.0.0.1:5201/ws</c>); the probe adds the path.</summary>
    public static WebSocketEndpoint FromUri(string resourceName, Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return new WebSocketEndpoint(resourceName, $"{endpoint.Host}:{endpoint.Port}");
    }
}

/// <summary>Everything the monitoring configs need from the running system.</summary>
public sealed record MonitoringRequest(
    string MonitoringFolder,
    string RunFolder,
    IReadOnlyList<MonitoredService> Services,
    IReadOnlyList<WebSocketEndpoint> WebSocketEndpoints,
    string PrometheusAddress,
    string BlackboxAddress,
    string AlertmanagerAddress,
    string ProbeToken,
    Uri WebhookUrl);

/// <summary>How to start one monitoring process (the Debian binaries; <see cref="FileName"/> is looked up on PATH).</summary>
public sealed record MonitoringCommand(string Name, string FileName, IReadOnlyList<string> Arguments, string WorkingDirectory, string DebianPackage);

/// <summary>The rendered layout: where the configs went and how to start Prometheus, the blackbox exporter and Alertmanager.</summary>
public sealed record MonitoringPlan(
    string RunFolder,
    string TargetsFolder,
    Uri PrometheusUrl,
    Uri BlackboxUrl,
    Uri AlertmanagerUrl,
    MonitoringCommand Prometheus,
    MonitoringCommand Blackbox,
    MonitoringCommand Alertmanager)
{
    /// <summary>In start order: the exporter and Alertmanager first, so Prometheus finds them on its first round.</summary>
    public IReadOnlyList<MonitoringCommand> Commands => [Blackbox, Alertmanager, Prometheus];
}

/// <summary>
/// Renders the repository's <c>monitoring/</c> configs into a run folder for one AppHost run: copies them, fills in
/// the probe token and webhook URL, writes the file_sd target files, and says how to start each process.
/// Plain records in and out, so it does not depend on the rest of the AppHost.
/// </summary>
public sealed partial class MonitoringLayout
{
    public const string ProbeTokenPlaceholder = "__PROBE_TOKEN__";
    public const string WebhookUrlPlaceholder = "__REMEDIATION_WEBHOOK_URL__";

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = true };

    public MonitoringPlan Render(MonitoringRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var source = Path.GetFullPath(request.MonitoringFolder);
        if (!File.Exists(Path.Combine(source, "prometheus", "prometheus.yml")))
        {
            throw new DirectoryNotFoundException($"{source} is not the monitoring folder (no prometheus/prometheus.yml).");
        }

        // A JWT is base64url segments joined by dots; anything else could break out of the YAML string or the URL.
        if (!ProbeTokenShape().IsMatch(request.ProbeToken))
        {
            throw new ArgumentException("The probe token must be a JWT (base64url segments separated by dots).", nameof(request));
        }

        if (!request.WebhookUrl.IsAbsoluteUri || request.WebhookUrl.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"The webhook URL must be an absolute http(s) URL, not {request.WebhookUrl}.", nameof(request));
        }

        var run = Path.GetFullPath(request.RunFolder);
        var prometheusFolder = Path.Combine(run, "prometheus");
        var targets = Path.Combine(prometheusFolder, "targets");
        var rules = Path.Combine(prometheusFolder, "rules");
        var blackboxFolder = Path.Combine(run, "blackbox");
        var alertmanagerFolder = Path.Combine(run, "alertmanager");
        foreach (var folder in new[] { targets, rules, blackboxFolder, alertmanagerFolder })
        {
            Directory.CreateDirectory(folder);
        }

        File.Copy(Path.Combine(source, "prometheus", "prometheus.yml"), Path.Combine(prometheusFolder, "prometheus.yml"), overwrite: true);
        foreach (var rule in Directory.EnumerateFiles(Path.Combine(source, "prometheus", "rules"), "*.yml"))
        {
            File.Copy(rule, Path.Combine(rules, Path.GetFileName(rule)), overwrite: true);
        }

        var blackboxConfig = Path.Combine(blackboxFolder, "blackbox.yml");
        WriteSecret(blackboxConfig, File.ReadAllText(Path.Combine(source, "blackbox", "blackbox.yml"))
            .Replace(ProbeTokenPlaceholder, request.ProbeToken, StringComparison.Ordinal));
        var alertmanagerConfig = Path.Combine(alertmanagerFolder, "alertmanager.yml");
        File.WriteAllText(alertmanagerConfig, File.ReadAllText(Path.Combine(source, "alertmanager", "alertmanager.yml"))
            .Replace(WebhookUrlPlaceholder, request.WebhookUrl.AbsoluteUri, StringComparison.Ordinal));

        WriteTargets(targets, request.Services, request.WebSocketEndpoints, request.BlackboxAddress, request.AlertmanagerAddress);

        var prometheusData = Path.Combine(run, "prometheus-data");
        var alertmanagerData = Path.Combine(run, "alertmanager-data");
        Directory.CreateDirectory(prometheusData);
        Directory.CreateDirectory(alertmanagerData);

        return new MonitoringPlan(
            run,
            targets,
            new Uri($"http://{request.PrometheusAddress}/"),
            new Uri($"http://{request.BlackboxAddress}/"),
            new Uri($"http://{request.AlertmanagerAddress}/"),
            new MonitoringCommand("prometheus", "prometheus",
            [
                $"--config.file={Path.Combine(prometheusFolder, "prometheus.yml")}",
                $"--web.listen-address={request.PrometheusAddress}",
                $"--storage.tsdb.path={prometheusData}",
                "--storage.tsdb.retention.time=1d",
                "--web.enable-lifecycle",
            ], prometheusFolder, "prometheus"),
            new MonitoringCommand("blackbox", "prometheus-blackbox-exporter",
            [
                $"--config.file={blackboxConfig}",
                $"--web.listen-address={request.BlackboxAddress}",
            ], blackboxFolder, "prometheus-blackbox-exporter"),
            new MonitoringCommand("alertmanager", "prometheus-alertmanager",
            [
                $"--config.file={alertmanagerConfig}",
                $"--storage.path={alertmanagerData}",
                $"--web.listen-address={request.AlertmanagerAddress}",
                // Empty: no gossip cluster (a single local instance; also keeps it off every non-loopback port).
                "--cluster.listen-address=",
            ], alertmanagerFolder, "prometheus-alertmanager"));
    }

    /// <summary>
    /// (Re)writes the file_sd files; Prometheus picks up changes within its refresh interval. Each file is replaced
    /// atomically so Prometheus never reads half a file.
    /// </summary>
    public static void WriteTargets(string targetsFolder, IReadOnlyList<MonitoredService> services,
        IReadOnlyList<WebSocketEndpoint> webSocketEndpoints, string blackboxAddress, string alertmanagerAddress)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(webSocketEndpoints);
        Directory.CreateDirectory(targetsFolder);
        WriteJson(Path.Combine(targetsFolder, "services.json"), services.Select(s =>
            (s.HostPort, Labels(("service", s.ServiceName), ("resource", s.ResourceName)))));
        WriteJson(Path.Combine(targetsFolder, "ws_probe.json"), webSocketEndpoints.Select(w =>
            (w.HostPort, Labels(("__blackbox_address", blackboxAddress), ("service", "gateway"), ("resource", w.ResourceName)))));
        WriteJson(Path.Combine(targetsFolder, "http_probe.json"), services.Select(s =>
            ($"http://{s.HostPort}/health",
                Labels(("__blackbox_address", blackboxAddress), ("service", s.ServiceName), ("resource", s.ResourceName)))));
        WriteJson(Path.Combine(targetsFolder, "alertmanager.json"), [(alertmanagerAddress, Labels())]);
    }

    private static (string Name, string Value)[] Labels(params (string Name, string Value)[] labels) => labels;

    private static void WriteJson(string path, IEnumerable<(string Target, (string Name, string Value)[] Labels)> groups)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            writer.WriteStartArray();
            foreach (var (target, labels) in groups)
            {
                writer.WriteStartObject();
                writer.WriteStartArray("targets");
                writer.WriteStringValue(target);
                writer.WriteEndArray();
                writer.WriteStartObject("labels");
                foreach (var (name, value) in labels)
                {
                    writer.WriteString(name, value);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, buffer.ToArray());
        File.Move(temporary, path, overwrite: true);
    }

    private static void WriteSecret(string path, string content)
    {
        File.WriteAllText(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+){1,4}$", RegexOptions.CultureInvariant)]
    private static partial Regex ProbeTokenShape();
}

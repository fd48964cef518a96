using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StockStream.Remediation;
using StockStream.Remediator;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Infra.Kubernetes;

/// <summary>
/// The in-cluster remediator end to end through its webhook: Alertmanager's payload → the shared remediation policy
/// (dedupe, cooldown, caps) → a rollout-restart PATCH to a fake Kubernetes API server over TLS with the ServiceAccount.
/// </summary>
public sealed class RemediatorTests
{
    private const string Gateway = "stockstream-gateway";
    private const string Web = "stockstream-web";
    private static readonly string[] OwnDeployments = [Gateway, "stockstream-ingestor", Web];

    [Fact]
    public async Task Firing_alert_rolls_the_named_deployment_with_a_restartedAt_patch_and_the_serviceaccount_token()
    {
        await using var api = await FakeKubernetesApi.StartAsync(OwnDeployments, blocked: true);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 6, 0, 0, TimeSpan.Zero));
        await using var remediator = await RemediatorHost.StartAsync(api, time);

        // The API server does not answer yet: the webhook must answer anyway (Alertmanager retries slow webhooks).
        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T05:59:30Z")));
        await Eventually.TrueAsync(() => api.Patches.Any(), TimeSpan.FromSeconds(10), "the remediator sent its PATCH");
        api.Release();

        var patch = Assert.Single(api.Patches);
        Assert.Equal($"/apis/apps/v1/namespaces/{FakeKubernetesApi.Namespace}/deployments/{Gateway}", patch.Path);
        Assert.Equal("application/strategic-merge-patch+json", patch.ContentType);
        Assert.Equal($"Bearer {FakeKubernetesApi.Token}", patch.Authorization);
        using var body = JsonDocument.Parse(patch.Body);
        var annotations = body.RootElement.GetProperty("spec").GetProperty("template").GetProperty("metadata").GetProperty("annotations");
        Assert.Equal("2026-12-04T06:00:00Z", annotations.GetProperty("kubectl.kubernetes.io/restartedAt").GetString());
        Assert.Single(body.RootElement.EnumerateObject());
    }

    [Fact]
    public async Task Alertmanager_repeats_and_retries_of_one_alert_restart_once()
    {
        await using var api = await FakeKubernetesApi.StartAsync(OwnDeployments);
        await using var remediator = await RemediatorHost.StartAsync(api, new FakeTimeProvider(), cooldown: TimeSpan.Zero);

        var alert = Alert(Gateway, "fp-1", "2026-12-04T05:59:30Z");
        Assert.Equal(1, await remediator.PostAsync(alert));
        Assert.Equal(0, await remediator.PostAsync(alert));
        Assert.Equal(0, await remediator.PostAsync(alert));

        await Eventually.TrueAsync(() => api.Patches.Any(), TimeSpan.FromSeconds(10), "the gateway was restarted");
        Assert.Single(api.Patches);
    }

    [Fact]
    public async Task A_new_occurrence_within_the_cooldown_waits_until_the_cooldown_has_passed()
    {
        await using var api = await FakeKubernetesApi.StartAsync(OwnDeployments);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 6, 0, 0, TimeSpan.Zero));
        await using var remediator = await RemediatorHost.StartAsync(api, time, cooldown: TimeSpan.FromMinutes(5));

        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T05:59:00Z")));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(0, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:01:30Z")));
        // Another Deployment has its own cooldown.
        Assert.Equal(1, await remediator.PostAsync(Alert(Web, "fp-2", "2026-12-04T06:01:30Z")));
        time.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:04:50Z")));

        await Eventually.TrueAsync(() => api.Patches.Count() == 3, TimeSpan.FromSeconds(10), "three restarts were sent");
        Assert.Equal([Gateway, Web, Gateway], api.Patches.Select(p => p.Path.Split('/')[^1]));
    }

    [Fact]
    public async Task Hourly_caps_per_deployment_and_overall_stop_a_restart_storm()
    {
        await using var api = await FakeKubernetesApi.StartAsync(OwnDeployments);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 6, 0, 0, TimeSpan.Zero));
        await using var remediator = await RemediatorHost.StartAsync(api, time, cooldown: TimeSpan.Zero, perDeployment: 2, overall: 3);

        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:00:00Z")));
        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:00:10Z")));
        Assert.Equal(0, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:00:20Z")));
        Assert.Equal(1, await remediator.PostAsync(Alert(Web, "fp-2", "2026-12-04T06:00:20Z")));
        Assert.Equal(0, await remediator.PostAsync(Alert("stockstream-ingestor", "fp-3", "2026-12-04T06:00:20Z")));

        // An hour later the caps have room again.
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T07:00:30Z")));

        await Eventually.TrueAsync(() => api.Patches.Count() == 4, TimeSpan.FromSeconds(10), "four restarts were sent");
    }

    [Fact]
    public async Task An_alert_naming_a_deployment_outside_its_own_is_ignored_without_calling_the_api()
    {
        await using var api = await FakeKubernetesApi.StartAsync([.. OwnDeployments, "coredns"]);
        await using var remediator = await RemediatorHost.StartAsync(api, new FakeTimeProvider(), cooldown: TimeSpan.Zero, perDeployment: 1, overall: 1);

        Assert.Equal(0, await remediator.PostAsync(Alert("coredns", "fp-9", "2026-12-04T06:00:00Z")));
        // It did not use up the overall cap of one either.
        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:00:00Z")));

        await Eventually.TrueAsync(() => api.Patches.Any(), TimeSpan.FromSeconds(10), "the gateway was restarted");
        Assert.DoesNotContain(api.Requests, r => r.Path.Contains("coredns", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Verdicts_and_rollout_restarts_are_counted_and_an_alert_outside_its_deployments_counts_as_NotAllowed()
    {
        await using var api = await FakeKubernetesApi.StartAsync([.. OwnDeployments, "coredns"]);
        await using var remediator = await RemediatorHost.StartAsync(api, new FakeTimeProvider(), cooldown: TimeSpan.Zero);
        using var counters = new RemediatorCounters(remediator.Services.GetRequiredService<IMeterFactory>());

        Assert.Equal(0, await remediator.PostAsync(Alert("coredns", "fp-9", "2026-12-04T06:00:00Z")));
        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:00:00Z")));
        Assert.Equal(0, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:00:00Z")));

        const string Decisions = "stockstream.remediator.decisions", Restarts = "stockstream.remediator.restarts";
        await Eventually.TrueAsync(() => counters.Of(Restarts).Any(), TimeSpan.FromSeconds(10), "the rollout restart was counted");
        Assert.Equal(["verdict=NotAllowed", "verdict=Restart", "verdict=Duplicate"], counters.Of(Decisions));
        Assert.Equal([$"resource={Gateway} result=ok"], counters.Of(Restarts));
    }

    [Fact]
    public async Task A_restart_refused_by_rbac_is_logged_and_the_next_one_still_goes_through()
    {
        await using var api = await FakeKubernetesApi.StartAsync(OwnDeployments);
        await using var remediator = await RemediatorHost.StartAsync(api, new FakeTimeProvider(), cooldown: TimeSpan.Zero);
        api.ForceStatus = HttpStatusCode.Forbidden;

        Assert.Equal(1, await remediator.PostAsync(Alert(Gateway, "fp-1", "2026-12-04T06:00:00Z")));
        await Eventually.TrueAsync(() => remediator.Logs.Any(l => l.Contains("failed", StringComparison.Ordinal) && l.Contains("403", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "the 403 was logged");

        api.ForceStatus = null;
        Assert.Equal(1, await remediator.PostAsync(Alert(Web, "fp-2", "2026-12-04T06:00:00Z")));
        await Eventually.TrueAsync(() => api.Patches.Count() == 2, TimeSpan.FromSeconds(10), "the web restart was sent after the refused one");
    }

    [Fact]
    public async Task The_api_server_is_trusted_only_through_the_serviceaccount_ca()
    {
        await using var api = await FakeKubernetesApi.StartAsync(OwnDeployments);
        await using var other = await FakeKubernetesApi.StartAsync(OwnDeployments);
        // ca.crt of another cluster: the handshake must fail before the token is sent.
        File.Copy(Path.Combine(other.ServiceAccountFolder.FullName, "ca.crt"), Path.Combine(api.ServiceAccountFolder.FullName, "ca.crt"), overwrite: true);
        await using var remediator = await RemediatorHost.StartAsync(api, new FakeTimeProvider());

        var controller = remediator.Services.GetRequiredService<IResourceController>();
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => controller.RestartAsync(Gateway, CancellationToken.None));

        Assert.Contains("SSL", error.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(api.Requests);
    }

    [Fact]
    public async Task Malformed_body_is_refused_with_400()
    {
        await using var api = await FakeKubernetesApi.StartAsync(OwnDeployments);
        await using var remediator = await RemediatorHost.StartAsync(api, new FakeTimeProvider());

        using var response = await remediator.Http.PostAsync(remediator.AlertsUrl, new StringContent("{\"alerts\": [", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Without_its_deployment_list_the_remediator_refuses_to_start_with_a_clear_message()
    {
        await using var api = await FakeKubernetesApi.StartAsync(OwnDeployments);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RemediatorHost.StartAsync(api, new FakeTimeProvider(), deployments: []));

        Assert.Contains("Remediator:Deployments", error.Message, StringComparison.Ordinal);
    }

    /// <summary>An Alertmanager v4 webhook body with one firing critical alert about <paramref name="resource"/>.</summary>
    internal static string Alert(string resource, string fingerprint, string startsAt) => $$"""
        {
          "version": "4", "status": "firing", "receiver": "remediation",
          "groupKey": "{}/{severity=\"critical\"}:{alertname=\"WebSocketProbeFailing\"}",
          "groupLabels": { "alertname": "WebSocketProbeFailing" }, "commonLabels": { "severity": "critical" }, "commonAnnotations": {},
          "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
          "alerts": [{
            "status": "firing",
            "labels": { "alertname": "WebSocketProbeFailing", "severity": "critical", "resource": "{{resource}}", "job": "ws_probe", "namespace": "stockstream" },
            "annotations": { "summary": "WebSocket upgrade to {{resource}} fails" },
            "startsAt": "{{startsAt}}", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": "{{fingerprint}}"
          }]
        }
        """;
}

/// <summary>Every increment of the remediator's counters in one host (its own IMeterFactory), as "name tag=value …".</summary>
internal sealed class RemediatorCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _seen = new();

    public RemediatorCounters(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == "StockStream.Remediator")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var labels = new List<string>();
            foreach (var tag in tags)
            {
                labels.Add($"{tag.Key}={tag.Value}");
            }

            for (var i = 0; i < value; i++)
            {
                _seen.Enqueue(string.Join(' ', labels.Prepend(instrument.Name)));
            }
        });
        _listener.Start();
    }

    /// <summary>The tags of each increment of <paramref name="instrument"/>, in order.</summary>
    public IEnumerable<string> Of(string instrument) =>
        _seen.Where(m => m.StartsWith(instrument + " ", StringComparison.Ordinal)).Select(m => m[(instrument.Length + 1)..]);

    public void Dispose() => _listener.Dispose();
}

/// <summary>The remediator's own wiring (AddRemediator + MapRemediationWebhook) on a free loopback port, pointed at a fake API server.</summary>
internal sealed class RemediatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LogCollector _logs;

    private RemediatorHost(WebApplication app, LogCollector logs)
    {
        _app = app;
        _logs = logs;
        AlertsUrl = new Uri(new Uri(app.Urls.First()), RemediatorExtensions.AlertsPath);
    }

    public Uri AlertsUrl { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    public IServiceProvider Services => _app.Services;

    public IEnumerable<string> Logs => _logs.Lines;

    public static async Task<RemediatorHost> StartAsync(
        FakeKubernetesApi api, TimeProvider time, TimeSpan? cooldown = null, int perDeployment = 5, int overall = 20, string[]? deployments = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new LogCollector();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var settings = new Dictionary<string, string?>
        {
            ["Remediator:ApiServer"] = api.Url.ToString(),
            ["Remediator:ServiceAccountPath"] = api.ServiceAccountFolder.FullName,
            ["Remediation:Cooldown"] = (cooldown ?? TimeSpan.FromMinutes(1)).ToString(),
            ["Remediation:MaxRestartsPerResourcePerHour"] = perDeployment.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Remediation:MaxRestartsPerHour"] = overall.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var list = deployments ?? ["stockstream-gateway", "stockstream-ingestor", "stockstream-web"];
        for (var i = 0; i < list.Length; i++)
        {
            settings[$"Remediator:Deployments:{i}"] = list[i];
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton(time);
        builder.AddRemediator();
        var app = builder.Build();
        app.MapRemediationWebhook(RemediatorExtensions.AlertsPath);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new RemediatorHost(app, logs);
    }

    /// <summary>Posts a webhook body; returns how many restarts it queued (the body of the 202).</summary>
    public async Task<int> PostAsync(string payload)
    {
        using var response = await Http.PostAsync(AlertsUrl, new StringContent(payload, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<AlertsAccepted>())!.Queued;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class LogCollector : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public IEnumerable<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new Collector(_lines);

        public void Dispose()
        {
        }

        private sealed class Collector(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel}: {formatter(state, exception)} {exception?.Message}");
        }
    }
}

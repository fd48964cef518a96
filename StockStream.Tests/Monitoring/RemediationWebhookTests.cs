using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StockStream.AppHost.Remediation;
using StockStream.Remediation;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Monitoring;

/// <summary>Records restart requests; optionally blocks them to prove the webhook does not wait.</summary>
public sealed class RecordingResourceController : IResourceController
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RecordingResourceController(bool blocked = false)
    {
        if (!blocked)
        {
            _release.SetResult();
        }
    }

    public ConcurrentQueue<string> Restarted { get; } = new();

    public ConcurrentQueue<string> Requested { get; } = new();

    public void Release() => _release.TrySetResult();

    public async Task RestartAsync(string resourceName, CancellationToken cancellationToken)
    {
        Requested.Enqueue(resourceName);
        await _release.Task.WaitAsync(cancellationToken);
        Restarted.Enqueue(resourceName);
    }
}

/// <summary>A small Kestrel app on a free loopback port hosting the remediation webhook, as the AppHost's control plane does.</summary>
public sealed class WebhookHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookHost(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public Uri AlertsUrl => new(Url, "/alerts");

    public static async Task<WebhookHost> StartAsync(IResourceController controller, Action<RemediationOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(controller);
        builder.Services.AddRemediation(configure);
        var app = builder.Build();
        app.MapRemediationWebhook();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new WebhookHost(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed class RemediationWebhookTests
{
    private const string Payload = """
        {
          "receiver": "remediation",
          "status": "firing",
          "alerts": [
            {
              "status": "firing",
              "labels": { "alertname": "WebSocketProbeFailing", "severity": "critical", "resource": "gateway-1", "job": "ws_probe" },
              "annotations": { "summary": "WebSocket upgrade to gateway-1 fails" },
              "startsAt": "2026-01-05T14:30:00.123Z",
              "endsAt": "0001-01-01T00:00:00Z",
              "generatorURL": "http://127.0.0.1:9090/graph",
              "fingerprint": "3f1c2a9b8d7e6f50"
            },
            {
              "status": "firing",
              "labels": { "alertname": "RedisDown", "severity": "critical" },
              "annotations": {},
              "startsAt": "2026-01-05T14:30:00Z",
              "endsAt": "0001-01-01T00:00:00Z",
              "fingerprint": "aaaaaaaaaaaaaaaa"
            }
          ],
          "groupLabels": { "alertname": "WebSocketProbeFailing" },
          "commonLabels": { "severity": "critical" },
          "commonAnnotations": {},
          "externalURL": "http://127.0.0.1:9093",
          "version": "4",
          "groupKey": "{}/{severity=\"critical\"}:{alertname=\"WebSocketProbeFailing\"}",
          "truncatedAlerts": 0
        }
        """;

    [Fact]
    public void Alertmanager_payload_is_parsed_with_source_generated_json()
    {
        var payload = System.Text.Json.JsonSerializer.Deserialize(Payload, AlertmanagerJsonContext.Default.AlertmanagerWebhookPayload)!;

        Assert.Equal("4", payload.Version);
        Assert.Equal(2, payload.Alerts.Count);
        var alert = payload.Alerts[0];
        Assert.True(alert.IsFiring);
        Assert.Equal("gateway-1", alert.Resource);
        Assert.Equal("WebSocketProbeFailing", alert.AlertName);
        Assert.Equal("3f1c2a9b8d7e6f50", alert.Fingerprint);
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 14, 30, 0, 123, TimeSpan.Zero), alert.StartsAt);
        Assert.Null(payload.Alerts[1].Resource);
    }

    [Fact]
    public async Task Webhook_answers_at_once_and_restarts_in_the_background()
    {
        var controller = new RecordingResourceController(blocked: true);
        await using var host = await WebhookHost.StartAsync(controller);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        // The restart is blocked: the answer must come anyway.
        using var response = await http.PostAsync(host.AlertsUrl, new StringContent(Payload, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // One restart queued; RedisDown names no resource.
        Assert.Equal("{\"queued\":1}", await response.Content.ReadAsStringAsync());
        await Eventually.TrueAsync(() => controller.Requested.Contains("gateway-1"), TimeSpan.FromSeconds(10), "the restart of gateway-1 was requested");
        Assert.Empty(controller.Restarted);

        controller.Release();
        await Eventually.TrueAsync(() => controller.Restarted.Contains("gateway-1"), TimeSpan.FromSeconds(10), "gateway-1 was restarted");
        Assert.Equal(["gateway-1"], controller.Requested);
    }

    [Fact]
    public async Task Alertmanager_retries_and_repeats_do_not_restart_twice()
    {
        var controller = new RecordingResourceController();
        await using var host = await WebhookHost.StartAsync(controller, options => options.Cooldown = TimeSpan.Zero);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        for (var i = 0; i < 3; i++)
        {
            using var response = await http.PostAsync(host.AlertsUrl, new StringContent(Payload, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await Eventually.TrueAsync(() => !controller.Restarted.IsEmpty, TimeSpan.FromSeconds(10), "gateway-1 was restarted");
        Assert.Equal(["gateway-1"], controller.Restarted);
    }

    [Fact]
    public async Task Malformed_body_is_refused_with_400_so_alertmanager_does_not_retry_it()
    {
        var controller = new RecordingResourceController();
        await using var host = await WebhookHost.StartAsync(controller);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var response = await http.PostAsync(host.AlertsUrl, new StringContent("{\"alerts\": [", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(controller.Requested);
    }

    [Fact]
    public async Task A_failing_restart_does_not_stop_the_remediator()
    {
        var controller = new FailingOnceController();
        await using var host = await WebhookHost.StartAsync(controller, options => options.Cooldown = TimeSpan.Zero);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        await http.PostAsync(host.AlertsUrl, new StringContent(Payload, Encoding.UTF8, "application/json"));
        await http.PostAsync(host.AlertsUrl, new StringContent(Payload.Replace("3f1c2a9b8d7e6f50", "0000000000000001", StringComparison.Ordinal)
            .Replace("gateway-1", "gateway-0", StringComparison.Ordinal), Encoding.UTF8, "application/json"));

        await Eventually.TrueAsync(() => controller.Restarted.Contains("gateway-0"), TimeSpan.FromSeconds(10), "gateway-0 was restarted after gateway-1's failed");
    }

    private sealed class FailingOnceController : IResourceController
    {
        private int _calls;

        public ConcurrentQueue<string> Restarted { get; } = new();

        public Task RestartAsync(string resourceName, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                throw new InvalidOperationException($"{resourceName} is not running");
            }

            Restarted.Enqueue(resourceName);
            return Task.CompletedTask;
        }
    }
}

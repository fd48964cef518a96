using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StockStream.Remediation;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Monitoring;

/// <summary>The shared webhook's hooks: the admission filter before the policy, and the host's view of each decision and restart.</summary>
public sealed class RemediationHooksTests
{
    [Fact]
    public void A_refused_alert_neither_restarts_nor_uses_up_a_cap()
    {
        var hooks = new RecordingHooks(["gateway-1"]);
        var webhook = Webhook(hooks, new RecordingResourceController(), total: 1);

        var queued = webhook.Accept(Payload(RemediationPolicyTests.Alert("coredns", "fp-9"), RemediationPolicyTests.Alert("gateway-1", "fp-1")));

        // The overall cap is one: had coredns been judged by the policy, gateway-1 would have hit HourlyCapReached.
        Assert.Equal(1, queued);
        Assert.Equal(["coredns", "gateway-1"], hooks.Asked);
        Assert.Equal([(RemediationVerdict.Restart, "gateway-1")], hooks.Decisions.Select(d => (d.Verdict, d.Resource)));
    }

    [Fact]
    public void Only_firing_alerts_that_name_a_resource_are_put_to_the_admission_filter()
    {
        var hooks = new RecordingHooks(["gateway-1"]);
        var webhook = Webhook(hooks, new RecordingResourceController());
        var unnamed = RemediationPolicyTests.Alert("gateway-1", "fp-2") with { Labels = new() { ["alertname"] = "RedisDown" } };

        var queued = webhook.Accept(Payload(RemediationPolicyTests.Alert("coredns", "fp-1", status: "resolved"), unnamed));

        Assert.Equal(0, queued);
        Assert.Empty(hooks.Asked);
        Assert.Equal([RemediationVerdict.NotFiring, RemediationVerdict.NoResource], hooks.Decisions.Select(d => d.Verdict));
    }

    [Fact]
    public async Task Hooks_hear_of_every_restart_and_failure_and_the_worker_goes_on_after_a_failure()
    {
        var hooks = new RecordingHooks(["gateway-0", "gateway-1"]);
        var controller = new FailingFirstController();
        using var webhook = Webhook(hooks, controller);
        await webhook.StartAsync(CancellationToken.None);
        try
        {
            Assert.Equal(2, webhook.Accept(Payload(RemediationPolicyTests.Alert("gateway-1", "fp-1"), RemediationPolicyTests.Alert("gateway-0", "fp-2"))));

            await Eventually.TrueAsync(() => hooks.Events.Count == 4, TimeSpan.FromSeconds(10), "both restarts were reported",
                () => string.Join(", ", hooks.Events));
            Assert.Equal(["restarting gateway-1", "failed gateway-1: gateway-1 is not running", "restarting gateway-0", "restarted gateway-0"], hooks.Events);
        }
        finally
        {
            await webhook.StopAsync(CancellationToken.None);
        }
    }

    private static RemediationWebhook Webhook(IRemediationHooks hooks, IResourceController controller, int total = 20) =>
        new(new RemediationPolicy(new RemediationOptions { Cooldown = TimeSpan.Zero, MaxRestartsPerHour = total }, new FakeTimeProvider()),
            controller, hooks, NullLogger<RemediationWebhook>.Instance);

    private static AlertmanagerWebhookPayload Payload(params AlertmanagerAlert[] alerts) => new() { Status = "firing", Alerts = alerts };

    private sealed class RecordingHooks(string[] allowed) : IRemediationHooks
    {
        public ConcurrentQueue<string> Asked { get; } = new();

        public ConcurrentQueue<RemediationDecision> Decisions { get; } = new();

        public ConcurrentQueue<string> Events { get; } = new();

        public bool Admit(AlertmanagerAlert alert, string resource)
        {
            Asked.Enqueue(resource);
            return allowed.Contains(resource);
        }

        public void Decided(RemediationDecision decision) => Decisions.Enqueue(decision);

        public void Restarting(RemediationDecision decision) => Events.Enqueue($"restarting {decision.Resource}");

        public void Restarted(RemediationDecision decision) => Events.Enqueue($"restarted {decision.Resource}");

        public void RestartFailed(RemediationDecision decision, Exception exception) => Events.Enqueue($"failed {decision.Resource}: {exception.Message}");
    }

    private sealed class FailingFirstController : IResourceController
    {
        private int _calls;

        public Task RestartAsync(string resourceName, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _calls) == 1 ? throw new InvalidOperationException($"{resourceName} is not running") : Task.CompletedTask;
    }
}

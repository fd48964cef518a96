using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StockStream.Remediation;

/// <summary>
/// Receives Alertmanager notifications and restarts the alerted resources in the background, one at a time. The HTTP
/// answer must not wait for a restart: Alertmanager retries a slow or failing webhook, which would restart things twice.
/// </summary>
public sealed partial class RemediationWebhook(
    RemediationPolicy policy, IResourceController controller, IRemediationHooks hooks, ILogger<RemediationWebhook> logger) : BackgroundService
{
    private readonly Channel<RemediationDecision> _restarts = Channel.CreateBounded<RemediationDecision>(
        new BoundedChannelOptions(policy.Options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Decides on every alert of a notification and queues the restarts; returns how many were queued.</summary>
    public int Accept(AlertmanagerWebhookPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var queued = 0;
        foreach (var alert in payload.Alerts)
        {
            if (alert is { IsFiring: true, Resource: { } named } && !hooks.Admit(alert, named))
            {
                continue;
            }

            var decision = policy.Evaluate(alert);
            hooks.Decided(decision);
            switch (decision.Verdict)
            {
                case RemediationVerdict.Restart when _restarts.Writer.TryWrite(decision):
                    LogRestartQueued(logger, decision.AlertName, decision.Resource!, alert.Fingerprint);
                    queued++;
                    break;
                case RemediationVerdict.Restart:
                    LogQueueFull(logger, decision.AlertName, decision.Resource!);
                    break;
                case RemediationVerdict.NoResource:
                    LogNoResource(logger, decision.AlertName);
                    break;
                case RemediationVerdict.NotFiring:
                    break;
                default:
                    LogSkipped(logger, decision.AlertName, decision.Resource, decision.Verdict, decision.RetryAfter);
                    break;
            }
        }

        return queued;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var decision in _restarts.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    hooks.Restarting(decision);
                    await controller.RestartAsync(decision.Resource!, stoppingToken).ConfigureAwait(false);
                    hooks.Restarted(decision);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    // One failed restart (unknown or stopped resource, RBAC, API down) must not stop the remediator.
                    hooks.RestartFailed(decision, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {AlertName} on {Resource} (fingerprint {Fingerprint}): restart queued")]
    private static partial void LogRestartQueued(ILogger logger, string alertName, string resource, string fingerprint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {AlertName} on {Resource}: restart queue full, request dropped")]
    private static partial void LogQueueFull(ILogger logger, string alertName, string resource);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {AlertName} names no resource; nothing to restart, people must act")]
    private static partial void LogNoResource(ILogger logger, string alertName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertName} on {Resource}: no restart ({Verdict}, next possible {RetryAfter})")]
    private static partial void LogSkipped(ILogger logger, string alertName, string? resource, RemediationVerdict verdict, DateTimeOffset? retryAfter);
}

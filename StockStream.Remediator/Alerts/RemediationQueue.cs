using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StockStream.Remediation;

namespace StockStream.Remediator.Alerts;

/// <summary>
/// Judges every alert of an Alertmanager notification with the shared <see cref="RemediationPolicy"/> and restarts in
/// the background, one at a time: the webhook answers at once because Alertmanager retries slow or failing webhooks.
/// </summary>
public sealed partial class RemediationQueue(
    RemediationPolicy policy, IResourceController controller, IOptions<RemediatorOptions> options, RemediatorMetrics metrics,
    ILogger<RemediationQueue> logger) : BackgroundService
{
    /// <summary>Verdict label for alerts naming a Deployment outside <see cref="RemediatorOptions.Deployments"/>.</summary>
    public const string NotAllowed = "NotAllowed";

    private readonly Channel<RemediationDecision> _restarts = Channel.CreateBounded<RemediationDecision>(
        new BoundedChannelOptions(policy.Options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Decides on every alert and queues the restarts; returns how many were queued.</summary>
    public int Accept(AlertmanagerWebhookPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var queued = 0;
        foreach (var alert in payload.Alerts)
        {
            // Judged before the policy so a mislabelled alert neither restarts anything nor uses up the hourly cap.
            if (alert is { IsFiring: true, Resource: { } named } && !options.Value.Deployments.Contains(named, StringComparer.Ordinal))
            {
                metrics.Decided(NotAllowed);
                LogNotAllowed(logger, alert.AlertName, named);
                continue;
            }

            var decision = policy.Evaluate(alert);
            metrics.Decided(decision.Verdict.ToString());
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
                var resource = decision.Resource!;
                try
                {
                    LogRestarting(logger, resource, decision.AlertName);
                    await controller.RestartAsync(resource, stoppingToken).ConfigureAwait(false);
                    metrics.Restarted(resource, succeeded: true);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    // A refused or failed restart (unknown Deployment, RBAC, API down) must not stop the remediator.
                    metrics.Restarted(resource, succeeded: false);
                    LogRestartFailed(logger, ex, resource, decision.AlertName);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {AlertName} on {Resource} (fingerprint {Fingerprint}): restart queued")]
    private static partial void LogRestartQueued(ILogger logger, string alertName, string resource, string fingerprint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertName} names {Resource}, which is not a Deployment this remediator may restart; ignored")]
    private static partial void LogNotAllowed(ILogger logger, string alertName, string resource);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {AlertName} on {Resource}: restart queue full, request dropped")]
    private static partial void LogQueueFull(ILogger logger, string alertName, string resource);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {AlertName} names no resource; nothing to restart, people must act")]
    private static partial void LogNoResource(ILogger logger, string alertName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertName} on {Resource}: no restart ({Verdict}, next possible {RetryAfter})")]
    private static partial void LogSkipped(ILogger logger, string alertName, string? resource, RemediationVerdict verdict, DateTimeOffset? retryAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout restart of {Resource} because {AlertName} fires")]
    private static partial void LogRestarting(ILogger logger, string resource, string alertName);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rollout restart of {Resource} for {AlertName} failed")]
    private static partial void LogRestartFailed(ILogger logger, Exception exception, string resource, string alertName);
}

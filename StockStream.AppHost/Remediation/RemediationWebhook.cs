using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StockStream.Remediation;

namespace StockStream.AppHost.Remediation;

/// <summary>
/// Receives Alertmanager notifications and restarts the alerted resources in the background. The HTTP answer must
/// not wait for a restart: Alertmanager retries a slow or failing webhook, which would restart things twice.
/// </summary>
public sealed partial class RemediationWebhook(
    RemediationPolicy policy, IResourceController controller, ILogger<RemediationWebhook> logger) : BackgroundService
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
            var decision = policy.Evaluate(alert);
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
                    var restarts = policy.RestartsInLastHour(resource);
                    LogRestarted(logger, resource, restarts);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    // One failed restart (unknown or already stopped resource) must not stop the remediator.
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {AlertName} on {Resource}: restart queue full, request dropped")]
    private static partial void LogQueueFull(ILogger logger, string alertName, string resource);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {AlertName} names no resource; nothing to restart, people must act")]
    private static partial void LogNoResource(ILogger logger, string alertName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertName} on {Resource}: no restart ({Verdict}, next possible {RetryAfter})")]
    private static partial void LogSkipped(ILogger logger, string alertName, string? resource, RemediationVerdict verdict, DateTimeOffset? retryAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restarting {Resource} because {AlertName} fires")]
    private static partial void LogRestarting(ILogger logger, string resource, string alertName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restarted {Resource} ({Restarts} automatic restarts in the last hour)")]
    private static partial void LogRestarted(ILogger logger, string resource, int restarts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Restart of {Resource} for {AlertName} failed")]
    private static partial void LogRestartFailed(ILogger logger, Exception exception, string resource, string alertName);
}

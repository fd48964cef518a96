using Microsoft.Extensions.Options;
using StockStream.Remediation;

namespace StockStream.Remediator.Alerts;

/// <summary>
/// The remediator's side of the shared <see cref="RemediationWebhook"/>: only the Deployments it is configured for may
/// be restarted, and every verdict and rollout restart is counted (<c>stockstream_remediator_*</c>).
/// </summary>
public sealed partial class DeploymentRemediationHooks(
    IOptions<RemediatorOptions> options, RemediatorMetrics metrics, ILogger<DeploymentRemediationHooks> logger) : IRemediationHooks
{
    /// <summary>Verdict label for alerts naming a Deployment outside <see cref="RemediatorOptions.Deployments"/>.</summary>
    public const string NotAllowed = "NotAllowed";

    public bool Admit(AlertmanagerAlert alert, string resource)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (options.Value.Deployments.Contains(resource, StringComparer.Ordinal))
        {
            return true;
        }

        metrics.Decided(NotAllowed);
        LogNotAllowed(logger, alert.AlertName, resource);
        return false;
    }

    public void Decided(RemediationDecision decision) => metrics.Decided(decision.Verdict.ToString());

    public void Restarting(RemediationDecision decision) => LogRestarting(logger, decision.Resource!, decision.AlertName);

    public void Restarted(RemediationDecision decision) => metrics.Restarted(decision.Resource!, succeeded: true);

    public void RestartFailed(RemediationDecision decision, Exception exception)
    {
        metrics.Restarted(decision.Resource!, succeeded: false);
        LogRestartFailed(logger, exception, decision.Resource!, decision.AlertName);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertName} names {Resource}, which is not a Deployment this remediator may restart; ignored")]
    private static partial void LogNotAllowed(ILogger logger, string alertName, string resource);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout restart of {Resource} because {AlertName} fires")]
    private static partial void LogRestarting(ILogger logger, string resource, string alertName);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rollout restart of {Resource} for {AlertName} failed")]
    private static partial void LogRestartFailed(ILogger logger, Exception exception, string resource, string alertName);
}

using Microsoft.Extensions.Logging;
using StockStream.Remediation;

namespace StockStream.AppHost.Remediation;

/// <summary>
/// The AppHost's side of the remediation webhook: every replica of this run may be restarted; restarts are counted by
/// <see cref="Supervision.RestartLedger"/> (stockstream_apphost_restarts_total), so only logging is left here.
/// </summary>
internal sealed partial class AspireRemediationHooks(RemediationPolicy policy, ILogger<AspireRemediationHooks> logger) : IRemediationHooks
{
    public bool Admit(AlertmanagerAlert alert, string resource) => true;

    public void Decided(RemediationDecision decision)
    {
    }

    public void Restarting(RemediationDecision decision) => LogRestarting(logger, decision.Resource!, decision.AlertName);

    public void Restarted(RemediationDecision decision)
    {
        var restarts = policy.RestartsInLastHour(decision.Resource!);
        LogRestarted(logger, decision.Resource!, restarts);
    }

    public void RestartFailed(RemediationDecision decision, Exception exception) =>
        LogRestartFailed(logger, exception, decision.Resource!, decision.AlertName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restarting {Resource} because {AlertName} fires")]
    private static partial void LogRestarting(ILogger logger, string resource, string alertName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restarted {Resource} ({Restarts} automatic restarts in the last hour)")]
    private static partial void LogRestarted(ILogger logger, string resource, int restarts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Restart of {Resource} for {AlertName} failed")]
    private static partial void LogRestartFailed(ILogger logger, Exception exception, string resource, string alertName);
}

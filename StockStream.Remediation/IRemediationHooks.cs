namespace StockStream.Remediation;

/// <summary>
/// What a host adds to the shared <see cref="RemediationWebhook"/>: which resources an alert may restart there, and
/// what it logs and counts around each restart (the AppHost restarts replicas, the remediator rolls Deployments).
/// </summary>
public interface IRemediationHooks
{
    /// <summary>
    /// Whether a firing alert may restart <paramref name="resource"/>. Asked before the policy, so a refused alert
    /// neither restarts anything nor uses up a cap; the host logs and counts the refusal itself.
    /// </summary>
    bool Admit(AlertmanagerAlert alert, string resource);

    /// <summary>The policy's verdict on an admitted alert (or one that is not firing or names no resource).</summary>
    void Decided(RemediationDecision decision);

    /// <summary>The background worker is about to restart <see cref="RemediationDecision.Resource"/>.</summary>
    void Restarting(RemediationDecision decision);

    /// <summary>The <see cref="IResourceController"/> restarted the resource.</summary>
    void Restarted(RemediationDecision decision);

    /// <summary>The restart failed; the worker goes on with the next one.</summary>
    void RestartFailed(RemediationDecision decision, Exception exception);
}

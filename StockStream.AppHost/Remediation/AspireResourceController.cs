using StockStream.Remediation;
using Aspire.Hosting.ApplicationModel;
using StockStream.AppHost.Supervision;

namespace StockStream.AppHost.Remediation;

/// <summary>Restarts a replica (<c>gateway-abcd1234</c>) through Aspire's own commands, as the dashboard's buttons do.</summary>
internal sealed class AspireResourceController(ResourceCommandService commands, ResourceNotificationService notifications, RestartLedger ledger)
    : IResourceController
{
    // A gateway drains its clients (1012) before it exits, behind a `dotnet run` wrapper; on a loaded machine that
    // outlasts DCP's own stop budget (about 15 s), after which Aspire's restart gives up before starting again.
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    public async Task RestartAsync(string resourceName, CancellationToken cancellationToken)
    {
        string? failure;
        try
        {
            var restarted = await commands.ExecuteCommandAsync(resourceName, KnownResourceCommands.RestartCommand, cancellationToken).ConfigureAwait(false);
            failure = restarted.Success ? null : restarted.Message;
        }
        catch (InvalidOperationException ex)
        {
            failure = ex.Message; // "Failed to stop resource …": DCP's budget ran out, the stop goes on
        }

        if (failure is not null)
        {
            // The stop was asked for and goes on: wait for it, then start.
            await WaitStoppedAsync(resourceName, cancellationToken).ConfigureAwait(false);
            var started = await commands.ExecuteCommandAsync(resourceName, KnownResourceCommands.StartCommand, cancellationToken).ConfigureAwait(false);
            if (!started.Success)
            {
                throw new InvalidOperationException($"Aspire could not restart {resourceName}: {failure}; then {started.Message}");
            }
        }

        ledger.Record(resourceName);
    }

    private async Task WaitStoppedAsync(string resourceName, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StopTimeout);
        var model = notifications.TryGetCurrentState(resourceName, out var current) ? current.Resource.Name : resourceName;
        await notifications.WaitForResourceAsync(model,
            // "Unknown": DCP stopped waiting for the process itself; it is on its way out.
            e => e.ResourceId == resourceName && e.Snapshot.State?.Text is { } state && (KnownResourceStates.TerminalStates.Contains(state) || state == "Unknown"),
            timeout.Token).ConfigureAwait(false);
    }
}

using Aspire.Hosting.ApplicationModel;
using StockStream.AppHost.Supervision;

namespace StockStream.AppHost.Remediation;

/// <summary>Restarts a replica (<c>gateway-abcd1234</c>) through Aspire's own restart command, as the dashboard's button does.</summary>
internal sealed class AspireResourceController(ResourceCommandService commands, RestartLedger ledger) : IResourceController
{
    public async Task RestartAsync(string resourceName, CancellationToken cancellationToken)
    {
        var result = await commands.ExecuteCommandAsync(resourceName, KnownResourceCommands.RestartCommand, cancellationToken).ConfigureAwait(false);
        if (!result.Success)
        {
            throw new InvalidOperationException($"Aspire could not restart {resourceName}: {result.Message}");
        }

        ledger.Record(resourceName);
    }
}

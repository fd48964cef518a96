namespace StockStream.AppHost.Remediation;

/// <summary>Restarts a running resource instance by name (e.g. <c>gateway-1</c>); the AppHost's supervisor implements it.</summary>
public interface IResourceController
{
    Task RestartAsync(string resourceName, CancellationToken cancellationToken);
}

namespace StockStream.Remediation;

/// <summary>Restarts a running resource instance by name (e.g. <c>gateway-1</c>); the AppHost's supervisor and the in-cluster remediator implement it.</summary>
public interface IResourceController
{
    Task RestartAsync(string resourceName, CancellationToken cancellationToken);
}

using Aspire.Hosting.ApplicationModel;

namespace StockStream.AppHost.Gateway;

/// <summary>
/// A replica's own address, behind Aspire's proxy: the port its process listens on, from the environment DCP gave it
/// (<c>ASPNETCORE_URLS</c>). The proxy spreads clients over replicas; probes, fault switches and scrapes need one.
/// </summary>
public static class ReplicaAddress
{
    public static Uri? Of(CustomResourceSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var urls = snapshot.EnvironmentVariables.FirstOrDefault(e => e.Name == "ASPNETCORE_URLS")?.Value;
        var first = urls?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
        if (first is null || !Uri.TryCreate(first.Replace("://localhost", "://127.0.0.1", StringComparison.OrdinalIgnoreCase), UriKind.Absolute, out var uri))
        {
            return null;
        }

        return uri;
    }

    /// <summary>The address of replica <paramref name="resourceId"/>, once DCP has started it.</summary>
    public static Uri? Of(ResourceNotificationService notifications, string resourceId)
    {
        ArgumentNullException.ThrowIfNull(notifications);
        return notifications.TryGetCurrentState(resourceId, out var current) ? Of(current.Snapshot) : null;
    }
}

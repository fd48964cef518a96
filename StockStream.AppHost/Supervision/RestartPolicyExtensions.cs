using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace StockStream.AppHost.Supervision;

/// <summary>
/// How a crashed resource is started again: after <see cref="InitialDelay"/>, doubling up to <see cref="MaxDelay"/>
/// while it keeps crashing, and not more than <see cref="MaxRestarts"/> times in <see cref="Window"/> (then it stays
/// down and says so: a crash loop needs a person).
/// </summary>
public sealed record RestartPolicyAnnotation(TimeSpan InitialDelay, TimeSpan MaxDelay, int MaxRestarts, TimeSpan Window) : IResourceAnnotation;

/// <summary>Aspire does not restart a process that exited on its own; this extension does, per replica.</summary>
public static class RestartPolicyExtensions
{
    /// <summary>
    /// Restarts each replica of the resource when it exits without being asked to (a crash, kill -9, an unhandled
    /// exception). Stops by the dashboard, by a command or by the AppHost's shutdown are left alone.
    /// </summary>
    public static IResourceBuilder<T> WithRestartPolicy<T>(this IResourceBuilder<T> builder, TimeSpan? initialDelay = null, TimeSpan? maxDelay = null,
        int maxRestarts = 10, TimeSpan? window = null) where T : IResource
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ApplicationBuilder.Services.AddResourceSupervision();
        return builder.WithAnnotation(new RestartPolicyAnnotation(
            initialDelay ?? TimeSpan.FromSeconds(1), maxDelay ?? TimeSpan.FromSeconds(30), maxRestarts, window ?? TimeSpan.FromMinutes(10)));
    }

    internal static IServiceCollection AddResourceSupervision(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RestartLedger>();
        services.TryAddSingleton<ResourceSupervisor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ResourceSupervisor>(provider => provider.GetRequiredService<ResourceSupervisor>()));
        return services;
    }
}

using Microsoft.Extensions.Options;
using StockStream.Remediation;
using StockStream.Remediator.Alerts;
using StockStream.Remediator.Kubernetes;

namespace StockStream.Remediator;

/// <summary>Wires the shared Alertmanager webhook and remediation policy to the Kubernetes Deployment restarter.</summary>
public static class RemediatorExtensions
{
    /// <summary>Where Alertmanager posts (the chart's AlertmanagerConfig points its webhook here).</summary>
    public const string AlertsPath = RemediationWebhookExtensions.DefaultPath;

    /// <summary>Registers everything behind <see cref="RemediationWebhookExtensions.MapRemediationWebhook"/>.</summary>
    public static IHostApplicationBuilder AddRemediator(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<RemediatorOptions>().BindConfiguration(RemediatorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RemediationOptions>().BindConfiguration(RemediationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<RemediatorMetrics>();
        builder.Services.AddSingleton<ServiceAccount>();
        // The webhook (a singleton) keeps this typed client for its lifetime; the handler's PooledConnectionLifetime
        // still re-resolves the API server's address every few minutes.
        builder.Services.AddHttpClient<IResourceController, DeploymentRestarter>((provider, http) =>
                http.BaseAddress = provider.GetRequiredService<IOptions<RemediatorOptions>>().Value.ApiServer)
            .ConfigurePrimaryHttpMessageHandler(provider => provider.GetRequiredService<ServiceAccount>().CreateHandler());
        builder.Services.AddRemediationWebhook<DeploymentRemediationHooks>();
        return builder;
    }
}

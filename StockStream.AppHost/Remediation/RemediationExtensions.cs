using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StockStream.Remediation;

namespace StockStream.AppHost.Remediation;

/// <summary>Wires the shared Alertmanager remediation webhook with the AppHost's hooks.</summary>
public static class RemediationExtensions
{
    /// <summary>
    /// Registers the policy and the background remediator. The caller registers an <see cref="IResourceController"/>
    /// (the AppHost's supervisor) and may register its own <see cref="TimeProvider"/>; the endpoint is
    /// <see cref="RemediationWebhookExtensions.MapRemediationWebhook"/>.
    /// </summary>
    public static IServiceCollection AddRemediation(this IServiceCollection services, Action<RemediationOptions>? configure = null)
    {
        var options = new RemediationOptions();
        configure?.Invoke(options);
        return services.AddRemediation(options);
    }

    /// <summary>The same with limits already bound from configuration (the AppHost's <c>AppHost:Remediation</c>).</summary>
    public static IServiceCollection AddRemediation(this IServiceCollection services, RemediationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        System.ComponentModel.DataAnnotations.Validator.ValidateObject(options, new(options), validateAllProperties: true);
        services.AddSingleton(Options.Create(options));
        return services.AddRemediationWebhook<AspireRemediationHooks>();
    }
}

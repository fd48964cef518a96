using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StockStream.Remediation;

namespace StockStream.AppHost.Remediation;

/// <summary>Wires the Alertmanager remediation webhook into a web app.</summary>
public static class RemediationExtensions
{
    /// <summary>
    /// Registers the policy and the background remediator. The caller registers an <see cref="IResourceController"/>
    /// (the AppHost's supervisor) and may register its own <see cref="TimeProvider"/>.
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
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(provider => new RemediationPolicy(provider.GetRequiredService<RemediationOptions>(), provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<RemediationWebhook>();
        services.AddHostedService(provider => provider.GetRequiredService<RemediationWebhook>());
        return services;
    }

    /// <summary>POST endpoint for Alertmanager's webhook receiver: answers 202 at once, restarts in the background.</summary>
    public static void MapRemediationWebhook(this IEndpointRouteBuilder endpoints, string path = "/alerts")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost(path, async (HttpRequest request, RemediationWebhook webhook, CancellationToken cancellationToken) =>
        {
            AlertmanagerWebhookPayload? payload;
            try
            {
                payload = await JsonSerializer.DeserializeAsync(request.Body, AlertmanagerJsonContext.Default.AlertmanagerWebhookPayload, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (JsonException)
            {
                // 4xx: Alertmanager does not retry a request it got wrong.
                return Results.BadRequest();
            }

            if (payload is null)
            {
                return Results.BadRequest();
            }

            webhook.Accept(payload);
            return Results.Accepted();
        });
    }
}

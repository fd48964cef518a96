using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StockStream.Remediation;
using StockStream.Remediator.Alerts;
using StockStream.Remediator.Kubernetes;

namespace StockStream.Remediator;

/// <summary>Wires the Alertmanager webhook, the shared remediation policy and the Kubernetes Deployment restarter.</summary>
public static class RemediatorExtensions
{
    /// <summary>Where Alertmanager posts (the chart's AlertmanagerConfig points its webhook here).</summary>
    public const string AlertsPath = "/alerts";

    public static IHostApplicationBuilder AddRemediator(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<RemediatorOptions>().BindConfiguration(RemediatorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RemediationOptions>().BindConfiguration(RemediationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(provider => new RemediationPolicy(
            provider.GetRequiredService<IOptions<RemediationOptions>>().Value, provider.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<RemediatorMetrics>();
        builder.Services.AddSingleton<ServiceAccount>();
        // The queue (a singleton) keeps this typed client for its lifetime; the handler's PooledConnectionLifetime
        // still re-resolves the API server's address every few minutes.
        builder.Services.AddHttpClient<IResourceController, DeploymentRestarter>((provider, http) =>
                http.BaseAddress = provider.GetRequiredService<IOptions<RemediatorOptions>>().Value.ApiServer)
            .ConfigurePrimaryHttpMessageHandler(provider => provider.GetRequiredService<ServiceAccount>().CreateHandler());
        builder.Services.AddSingleton<RemediationQueue>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<RemediationQueue>());
        return builder;
    }

    /// <summary>POST endpoint for Alertmanager's webhook receiver: 202 at once, restarts in the background; 400 for a body it cannot read.</summary>
    public static IEndpointRouteBuilder MapAlertmanagerWebhook(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost(AlertsPath, async (HttpRequest request, RemediationQueue queue, CancellationToken cancellationToken) =>
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

            return Results.Accepted(value: new AlertsAccepted(queue.Accept(payload)));
        });
        return endpoints;
    }
}

/// <summary>The webhook's answer: how many restarts the notification queued.</summary>
public sealed record AlertsAccepted(int Queued);

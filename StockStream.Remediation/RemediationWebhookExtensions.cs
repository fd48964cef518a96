using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace StockStream.Remediation;

/// <summary>Wires the Alertmanager remediation webhook into a web app; the AppHost and the remediator both use it.</summary>
public static class RemediationWebhookExtensions
{
    /// <summary>Where Alertmanager posts by default.</summary>
    public const string DefaultPath = "/alerts";

    /// <summary>
    /// Registers the policy (limits from <see cref="IOptions{RemediationOptions}"/>, which the caller binds and
    /// validates), the webhook and its background worker, and the host's <typeparamref name="THooks"/>. The caller
    /// registers an <see cref="IResourceController"/> and may register its own <see cref="TimeProvider"/>.
    /// </summary>
    public static IServiceCollection AddRemediationWebhook<THooks>(this IServiceCollection services)
        where THooks : class, IRemediationHooks
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider => new RemediationPolicy(
            provider.GetRequiredService<IOptions<RemediationOptions>>().Value, provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IRemediationHooks, THooks>();
        services.AddSingleton<RemediationWebhook>();
        services.AddHostedService(provider => provider.GetRequiredService<RemediationWebhook>());
        return services;
    }

    /// <summary>
    /// POST endpoint for Alertmanager's webhook receiver: 202 at once with <see cref="AlertsAccepted"/>, restarts in
    /// the background; 400 for a body it cannot read.
    /// </summary>
    public static RouteHandlerBuilder MapRemediationWebhook(this IEndpointRouteBuilder endpoints, string path = DefaultPath)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapPost(path, async (HttpRequest request, RemediationWebhook webhook, CancellationToken cancellationToken) =>
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

            return Results.Json(new AlertsAccepted(webhook.Accept(payload)), AlertmanagerJsonContext.Default.AlertsAccepted,
                statusCode: StatusCodes.Status202Accepted);
        });
    }
}

using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace StockStream.AppHost.Gateway;

/// <summary>The gateway's entries in the Aspire dashboard: its WebSocket URL, a development token and its fault switches.</summary>
public static class GatewayCommandExtensions
{
    public const string DevelopmentTokenCommand = "dev-token";
    public const string RejectWebSocketsCommand = "fault-reject-websockets";
    public const string ClearFaultsCommand = "fault-clear";

    /// <summary>Shows <c>ws://…/ws</c> beside the HTTP endpoint, since that is what clients connect to.</summary>
    public static IResourceBuilder<ProjectResource> WithWebSocketUrl(this IResourceBuilder<ProjectResource> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithUrls(context =>
        {
            var http = context.Urls.FirstOrDefault(u => u.Endpoint?.EndpointName == "http");
            if (http is not null && Uri.TryCreate(http.Url, UriKind.Absolute, out var uri))
            {
                context.Urls.Add(new ResourceUrlAnnotation
                {
                    Url = new UriBuilder(uri) { Scheme = "ws", Path = "/ws" }.Uri.ToString(),
                    DisplayText = "WebSocket (docs/protocol.md)",
                    Endpoint = http.Endpoint,
                });
            }
        });
    }

    /// <summary>A dashboard command that mints a 12-hour development token with the run's signing key.</summary>
    public static IResourceBuilder<ProjectResource> WithDevelopmentTokenCommand(this IResourceBuilder<ProjectResource> builder,
        IResourceBuilder<ParameterResource> signingKey)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(signingKey);
        return builder.WithCommand(DevelopmentTokenCommand, "Development token", async context =>
        {
            var key = await signingKey.Resource.GetValueAsync(context.CancellationToken).ConfigureAwait(false);
            if (string.IsNullOrEmpty(key))
            {
                return CommandResults.Failure("The signing-key parameter has no value.");
            }

            var token = DevelopmentTokens.Create(key, "developer", TimeSpan.FromHours(12));
            return CommandResults.Success("A token for 12 hours (subject 'developer'): send it as 'Authorization: Bearer <token>'.",
                token, CommandResultFormat.Text, displayImmediately: true);
        }, new CommandOptions
        {
            Description = "Mints a JWT that opens the gateway's WebSocket for 12 hours (development signing key).",
            IconName = "Key",
            IsHighlighted = true,
            UpdateState = _ => ResourceCommandState.Enabled,
        });
    }

    /// <summary>
    /// The gateway's fault switch (<c>Faults:Enabled</c>) on each replica: refuse WebSocket upgrades, or clear the
    /// faults. Proves the probe → alert → restart loop by hand.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithFaultCommands(this IResourceBuilder<ProjectResource> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .WithFaultCommand(RejectWebSocketsCommand, "Fault: refuse WebSockets", "/faults/reject-websockets", "PlugDisconnected",
                "Makes this replica refuse WebSocket upgrades until restarted or cleared (the probe fails, the alert fires).")
            .WithFaultCommand(ClearFaultsCommand, "Fault: clear", "/faults/clear", "PlugConnected", "Clears this replica's injected faults.");
    }

    private static IResourceBuilder<ProjectResource> WithFaultCommand(this IResourceBuilder<ProjectResource> builder, string name, string displayName,
        string path, string icon, string description) =>
        builder.WithCommand(name, displayName, async context =>
        {
            var notifications = context.Services.GetRequiredService<ResourceNotificationService>();
            if (ReplicaAddress.Of(notifications, context.ResourceName) is not { } replica)
            {
                return CommandResults.Failure($"{context.ResourceName} is not running.");
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            using var response = await http.PostAsync(new Uri(replica, path), content: null, context.CancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode
                ? CommandResults.Success()
                : CommandResults.Failure($"{context.ResourceName} answered {(int)response.StatusCode} (is Faults:Enabled true?).");
        }, new CommandOptions
        {
            Description = description,
            IconName = icon,
            UpdateState = context => context.ResourceSnapshot.State?.Text == KnownResourceStates.Running
                ? ResourceCommandState.Enabled
                : ResourceCommandState.Disabled,
        });
}

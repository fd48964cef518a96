using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Sends traces, logs and metrics (ours included, so the Azure alerts and the gateway's scale rule can read them) to
/// Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set, as infra/ does in Azure. Nothing changes
/// without it: local runs keep OTLP to the Aspire dashboard and Prometheus /metrics.
/// </summary>
public static class AzureMonitorTelemetry
{
    public const string ConnectionStringKey = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>Client id of the app's user-assigned identity; Entra ID sign-in is required because infra/ turns local auth off.</summary>
    public const string ClientIdKey = "AZURE_CLIENT_ID";

    public static TBuilder AddAzureMonitorWhenConfigured<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var connectionString = builder.Configuration[ConnectionStringKey];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return builder;
        }

        var clientId = builder.Configuration[ClientIdKey];
        builder.Services.AddOpenTelemetry().UseAzureMonitorExporter(options =>
        {
            options.ConnectionString = connectionString;
            if (!string.IsNullOrWhiteSpace(clientId))
            {
                options.Credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
            }

            // The image's files are read-only for the app user; only the temp folder is writable.
            options.StorageDirectory = Path.Combine(Path.GetTempPath(), "stockstream-telemetry");
        });
        return builder;
    }
}

using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using StockStream.Remediation;

namespace StockStream.Remediator.Kubernetes;

/// <summary>
/// Restarts a Deployment the way <c>kubectl rollout restart</c> does: a strategic merge patch of the Pod template's
/// <c>kubectl.kubernetes.io/restartedAt</c> annotation, so the Deployment rolls its Pods within its
/// <c>maxUnavailable</c>/PDB limits. Authenticates with the Pod's ServiceAccount token.
/// </summary>
public sealed partial class DeploymentRestarter(
    HttpClient http, IOptions<RemediatorOptions> options, ServiceAccount serviceAccount, TimeProvider timeProvider,
    ILogger<DeploymentRestarter> logger) : IResourceController
{
    public const string RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

    private static readonly MediaTypeHeaderValue StrategicMergePatch = new("application/strategic-merge-patch+json");

    public async Task RestartAsync(string resourceName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(resourceName);
        if (!options.Value.Deployments.Contains(resourceName, StringComparer.Ordinal))
        {
            throw new InvalidOperationException(
                $"{resourceName} is not one of the Deployments this remediator may restart ({string.Join(", ", options.Value.Deployments)}).");
        }

        var ns = options.Value.Namespace is { Length: > 0 } configured ? configured : await serviceAccount.NamespaceAsync(cancellationToken).ConfigureAwait(false);
        // One timestamp per restart: the resilience handler's retries then send the same patch, which rolls the Pods once.
        var restartedAt = timeProvider.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var patch = new JsonObject
        {
            ["spec"] = new JsonObject
            {
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [RestartedAtAnnotation] = restartedAt } },
                },
            },
        };

        var path = $"apis/apps/v1/namespaces/{Uri.EscapeDataString(ns)}/deployments/{Uri.EscapeDataString(resourceName)}";
        using var request = new HttpRequestMessage(HttpMethod.Patch, path)
        {
            Content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(patch.ToJsonString())) { Headers = { ContentType = StrategicMergePatch } },
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await serviceAccount.TokenAsync(cancellationToken).ConfigureAwait(false));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new HttpRequestException(
                $"PATCH deployment {ns}/{resourceName} answered {(int)response.StatusCode}: {(body.Length > 500 ? body[..500] : body)}",
                null, response.StatusCode);
        }

        LogPatched(logger, ns, resourceName, restartedAt);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Patched deployment {Namespace}/{Deployment}: restartedAt {RestartedAt} (rollout restart)")]
    private static partial void LogPatched(ILogger logger, string @namespace, string deployment, string restartedAt);
}

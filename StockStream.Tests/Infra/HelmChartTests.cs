using YamlDotNet.RepresentationModel;

namespace StockStream.Tests.Infra;

/// <summary>deploy/helm/stockstream lints, renders, and what it renders is locked down and probed like Azure.</summary>
public sealed class HelmChartTests
{
    private static readonly string Chart = InfraRepo.PathOf("deploy", "helm", "stockstream");

    [Fact]
    public async Task Chart_passes_helm_lint_strict()
    {
        var result = await InfraTools.RunAsync(await InfraTools.HelmAsync(), ["lint", "--strict", Chart], timeout: TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Default_render_has_four_locked_down_deployments_with_probes()
    {
        var documents = await RenderAsync();
        var deployments = Kind(documents, "Deployment");

        Assert.Equal(["gateway", "ingestor", "remediator", "web"], deployments.Select(Component).Order(StringComparer.Ordinal));
        foreach (var deployment in deployments)
        {
            var pod = deployment.Get("spec", "template", "spec")!;
            Assert.Equal("true", pod.Scalar("securityContext", "runAsNonRoot"));
            // Only the remediator talks to the Kubernetes API (ChartPolicyTests checks its RBAC).
            Assert.Equal(Component(deployment) == "remediator" ? "true" : "false", pod.Scalar("automountServiceAccountToken"));
            Assert.Contains(pod.Items("volumes"), volume => volume.Scalar("name") == "tmp" && volume.Get("emptyDir") is not null);

            var container = Assert.Single(pod.Items("containers"));
            Assert.Equal("true", container.Scalar("securityContext", "readOnlyRootFilesystem"));
            Assert.Equal("false", container.Scalar("securityContext", "allowPrivilegeEscalation"));
            Assert.Contains(container.Items("securityContext", "capabilities", "drop"), drop => ((YamlScalarNode)drop).Value == "ALL");
            Assert.Contains(container.Items("volumeMounts"), mount => mount.Scalar("mountPath") == "/tmp");
            Assert.Equal("/alive", container.Scalar("livenessProbe", "httpGet", "path"));
            Assert.Equal("/alive", container.Scalar("startupProbe", "httpGet", "path"));
            Assert.Equal("/health", container.Scalar("readinessProbe", "httpGet", "path"));
            Assert.Equal(["8080"], container.Items("ports").Select(port => port.Scalar("containerPort")));
        }

        var ingestor = deployments.Single(d => Component(d) == "ingestor");
        Assert.Equal("2", ingestor.Scalar("spec", "replicas"));
    }

    [Fact]
    public async Task Gateway_gets_a_websocket_friendly_ingress_a_pdb_and_an_hpa()
    {
        var documents = await RenderAsync();

        var ingresses = Kind(documents, "Ingress");
        Assert.Equal(["gateway", "web"], ingresses.Select(Component).Order(StringComparer.Ordinal));
        var gatewayIngress = ingresses.Single(i => Component(i) == "gateway");
        Assert.Equal("3600", gatewayIngress.Scalar("metadata", "annotations", "nginx.ingress.kubernetes.io/proxy-read-timeout"));
        var webIngress = ingresses.Single(i => Component(i) == "web");
        Assert.Equal("cookie", webIngress.Scalar("metadata", "annotations", "nginx.ingress.kubernetes.io/affinity"));

        Assert.Equal(["gateway", "ingestor", "remediator", "web"], Kind(documents, "PodDisruptionBudget").Select(Component).Order(StringComparer.Ordinal));
        var hpa = Assert.Single(Kind(documents, "HorizontalPodAutoscaler"));
        Assert.Equal("gateway", Component(hpa));
        Assert.Equal("2", hpa.Scalar("spec", "minReplicas"));
        // The four components, and the endpoint-less Service the web Ingress sends /metrics, /health and /alive to.
        Assert.Equal(["gateway", "ingestor", "remediator", "unrouted", "web"], Kind(documents, "Service").Select(Component).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Secrets_come_from_the_existing_secret_never_from_values()
    {
        var documents = await RenderAsync("--set", "redis.secretKey=redis-connection-string", "--set", "redis.connectionString=");
        foreach (var deployment in Kind(documents, "Deployment"))
        {
            var env = deployment.Get("spec", "template", "spec")!.Items("containers").Single().Items("env").ToList();
            foreach (var variable in env.Where(v => v.Scalar("name") is "Auth__SigningKey" or "CoinGecko__ApiKey" or "ConnectionStrings__redis"))
            {
                Assert.Null(variable.Get("value"));
                Assert.Equal("stockstream-secrets", variable.Scalar("valueFrom", "secretKeyRef", "name"));
            }
        }
    }

    [Fact]
    public async Task An_oidc_authority_replaces_the_development_signing_key()
    {
        var documents = await RenderAsync("--set", "auth.authority=https://login.example.com/tenant/v2.0");
        var gateway = Kind(documents, "Deployment").Single(d => Component(d) == "gateway");
        var names = gateway.Get("spec", "template", "spec")!.Items("containers").Single().Items("env").Select(v => v.Scalar("name")).ToList();

        Assert.Contains("Auth__Authority", names);
        Assert.DoesNotContain("Auth__SigningKey", names);
    }

    private static async Task<IReadOnlyList<YamlMappingNode>> RenderAsync(params string[] extra)
    {
        var result = await InfraTools.RunAsync(await InfraTools.HelmAsync(), ["template", "stockstream", Chart, .. extra],
            timeout: TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.ToString());
        return YamlDocuments.LoadAll(result.StdOut);
    }

    private static List<YamlMappingNode> Kind(IEnumerable<YamlMappingNode> documents, string kind) =>
        documents.Where(d => d.Scalar("kind") == kind).ToList();

    private static string? Component(YamlNode document) => document.Scalar("metadata", "labels", "app.kubernetes.io/component");
}

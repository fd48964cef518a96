namespace StockStream.Tests.Infra.Kubernetes;

/// <summary>
/// helm lint --strict and helm template for every environment, and every rendered object (and the Argo CD objects)
/// validated offline against the pinned Kubernetes 1.36 API and CRD schemas; a broken object must fail the check.
/// </summary>
public sealed class ManifestValidationTests
{
    public static TheoryData<string> Environments() => Chart.EnvironmentNames();

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Chart_passes_helm_lint_strict_for_every_environment(string environment)
    {
        var result = await Chart.HelmAsync(["lint", "--strict", Chart.Path, "--namespace", Chart.Namespace, .. Chart.Environments[environment]]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Every_rendered_object_is_valid_against_the_pinned_kubernetes_and_crd_schemas(string environment)
    {
        var results = await ManifestCheck.ValidateTextAsync(await Chart.RenderTextAsync(environment));

        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.True(r.Errors.Count == 0, r.ToString()));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task No_rendered_object_has_a_field_the_kubernetes_api_does_not_know(string environment)
    {
        var errors = ManifestCheck.UnknownFields(await Chart.RenderTextAsync(environment));

        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Fact]
    public void A_misindented_or_misspelt_field_is_caught_as_unknown()
    {
        const string Misindented = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: misindented
            spec:
              replica: 2
              selector:
                matchLabels: {app: x}
              template:
                spec:
                  containers:
                    - name: app
                      image: example/app:1
                  readinessProbe:
                    httpGet: {path: /health, port: 8080}
            ---
            apiVersion: monitoring.coreos.com/v1
            kind: ServiceMonitor
            metadata:
              name: left-to-the-crd-schema
            spec:
              selector: {}
              endpoints: []
            """;

        var errors = ManifestCheck.UnknownFields(Misindented);

        var error = Assert.Single(errors);
        Assert.Contains("Deployment misindented", error, StringComparison.Ordinal);
        Assert.Contains("'replica' not found on type 'k8s.Models.V1DeploymentSpec'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_every_switch_on_the_monitoring_objects_are_rendered_and_validated_against_their_crds()
    {
        var results = await ManifestCheck.ValidateTextAsync(await Chart.RenderTextAsync("all-switches"));

        var kinds = results.Select(r => $"{r.ApiVersion} {r.Kind}").ToHashSet();
        foreach (var expected in new[]
        {
            "monitoring.coreos.com/v1 ServiceMonitor", "monitoring.coreos.com/v1 PrometheusRule", "monitoring.coreos.com/v1 Probe",
            "monitoring.coreos.com/v1alpha1 AlertmanagerConfig", "networking.k8s.io/v1 NetworkPolicy", "policy/v1 PodDisruptionBudget",
            "rbac.authorization.k8s.io/v1 Role", "rbac.authorization.k8s.io/v1 RoleBinding",
        })
        {
            Assert.Contains(expected, kinds);
        }

        Assert.All(results, r => Assert.True(r.Errors.Count == 0, r.ToString()));
    }

    [Fact]
    public async Task Argo_cd_objects_are_valid_against_the_argo_cd_crd_schemas()
    {
        var files = InfraRepo.Files(Path.Combine("deploy", "argocd"), "*.yaml").ToArray();
        var results = await ManifestCheck.ValidateAsync(files);

        Assert.Contains(results, r => r.Kind == "AppProject");
        Assert.Equal(["stockstream-apps", "stockstream-dev", "stockstream-prod"],
            results.Where(r => r.Kind == "Application").Select(r => r.Name!).Order(StringComparer.Ordinal));
        Assert.All(results, r => Assert.True(r.Errors.Count == 0, r.ToString()));
    }

    [Fact]
    public async Task A_deliberately_broken_manifest_fails_the_check_with_the_path_of_each_mistake()
    {
        const string Broken = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: broken
            spec:
              replicas: two
              selector:
                matchLabels: {app: broken}
              template:
                spec:
                  containers:
                    - image: example/broken:1
                      ports:
                        - containerPort: http
            ---
            apiVersion: monitoring.coreos.com/v1
            kind: ServiceMonitor
            metadata:
              name: broken
            spec:
              selector: {}
              endpoints:
                port: http
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata:
              name: broken
            spec:
              source:
                repoURL: https://example.com/repo.git
            ---
            apiVersion: example.com/v1
            kind: Widget
            metadata:
              name: unknown
            """;

        var results = await ManifestCheck.ValidateTextAsync(Broken);

        Assert.Equal(4, results.Count);
        var deployment = results[0].Errors;
        Assert.Contains("/spec/replicas must be integer", deployment);
        Assert.Contains("/spec/template/spec/containers/0 must have required property name", deployment);
        Assert.Contains("/spec/template/spec/containers/0/ports/0/containerPort must be integer", deployment);
        Assert.Contains("/spec/endpoints must be array", results[1].Errors);
        Assert.Contains("/spec must have required property destination", results[2].Errors);
        Assert.Contains("no pinned schema for example.com/v1 Widget", results[3].Errors);
    }

    [Fact]
    public async Task A_valid_object_changed_in_one_field_fails_the_check()
    {
        // The rendered gateway Deployment itself, with one wrong type: the check looks at our real objects, not only at toys.
        var text = await Chart.RenderTextAsync("default");
        var broken = text.Replace("revisionHistoryLimit: 5", "revisionHistoryLimit: five", StringComparison.Ordinal);
        Assert.NotEqual(text, broken);

        var results = await ManifestCheck.ValidateTextAsync(broken);

        Assert.Contains(results, r => r.Kind == "Deployment" && r.Errors.Contains("/spec/revisionHistoryLimit must be integer"));
    }
}

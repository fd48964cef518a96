using YamlDotNet.RepresentationModel;

namespace StockStream.Tests.Infra.Kubernetes;

/// <summary>What the chart renders, checked as policy: isolation, disruption budgets, least privilege, rules without drift.</summary>
public sealed class ChartPolicyTests
{
    public static TheoryData<string> Environments() => Chart.EnvironmentNames();

    [Fact]
    public void The_charts_rule_files_are_identical_to_monitoring_prometheus_rules()
    {
        var files = Directory.GetFiles(InfraRepo.PathOf("monitoring", "prometheus", "rules"), "*.yml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();
        foreach (var file in files)
        {
            Assert.True(
                InfraRepo.Read("monitoring", "prometheus", "rules", file) == InfraRepo.Read("deploy", "helm", "stockstream", "files", "rules", file),
                $"deploy/helm/stockstream/files/rules/{file} differs from monitoring/prometheus/rules/{file}: " +
                $"cp monitoring/prometheus/rules/{file} deploy/helm/stockstream/files/rules/{file}");
        }

        Assert.Equal(files, Directory.GetFiles(InfraRepo.PathOf("deploy", "helm", "stockstream", "files", "rules"), "*.yml")
            .Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("alerts.yml", files);
    }

    [Fact]
    public async Task PrometheusRule_carries_exactly_the_groups_and_rules_of_monitoring()
    {
        var rule = Assert.Single((await Chart.RenderAsync("all-switches")).Kind("PrometheusRule"));

        // The chart reads files/rules/*.yml in name order (Helm's .Files.Glob).
        var expected = Directory.GetFiles(InfraRepo.PathOf("monitoring", "prometheus", "rules"), "*.yml").Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)
            .SelectMany(file => YamlDocuments.LoadMapping(InfraRepo.Read("monitoring", "prometheus", "rules", file!)).Items("groups"))
            .Select(Canonical).ToList();
        var rendered = rule.Items("spec", "groups").Select(Canonical).ToList();

        Assert.Equal(expected, rendered);
        Assert.Contains("WebSocketProbeFailing", string.Join('\n', rendered), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Values_schema_refuses_bad_values_with_the_offending_key_in_the_message()
    {
        var bad = Path.Combine(Path.GetTempPath(), $"stockstream-bad-values-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(bad, """
            gateway:
              replicaCount: "two"
              ingres:
                enabled: true
            remediator:
              cooldown: 5m
            redis:
              connectionString: ""
              inCluster:
                enabled: false
            """);
        try
        {
            foreach (var command in new[] { "lint", "template" })
            {
                var result = await Chart.HelmAsync([command, .. command == "lint" ? new[] { "--strict" } : ["stockstream"], Chart.Path, "-f", bad]);

                Assert.NotEqual(0, result.ExitCode);
                Assert.Contains("/gateway/replicaCount", result.Output, StringComparison.Ordinal);
                Assert.Contains("want integer", result.Output, StringComparison.Ordinal);
                Assert.Contains("'ingres' not allowed", result.Output, StringComparison.Ordinal);
                Assert.Contains("/remediator/cooldown", result.Output, StringComparison.Ordinal);
                Assert.Contains("/redis/connectionString", result.Output, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public async Task The_probe_without_a_blackbox_exporter_is_refused()
    {
        var result = await Chart.HelmAsync(["template", "stockstream", Chart.Path, "--set", "monitoring.probe.enabled=true"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("/monitoring/probe/blackboxExporter", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Every_workload_has_a_pdb_that_still_lets_a_node_drain(string environment)
    {
        var documents = await Chart.RenderAsync(environment);
        var budgets = documents.Kind("PodDisruptionBudget");

        foreach (var deployment in documents.Kind("Deployment"))
        {
            var labels = deployment.Entries("spec", "selector", "matchLabels").ToDictionary(e => e.Key, e => ((YamlScalarNode)e.Value).Value);
            var budget = budgets.SingleOrDefault(b => b.Entries("spec", "selector", "matchLabels")
                .ToDictionary(e => e.Key, e => ((YamlScalarNode)e.Value).Value).SequenceEqual(labels));
            Assert.True(budget is not null, $"{environment}: Deployment {deployment.Name()} has no PodDisruptionBudget");

            var hpa = documents.Kind("HorizontalPodAutoscaler").SingleOrDefault(h => h.Scalar("spec", "scaleTargetRef", "name") == deployment.Name());
            var replicas = int.Parse(hpa?.Scalar("spec", "minReplicas") ?? deployment.Scalar("spec", "replicas") ?? "1", System.Globalization.CultureInfo.InvariantCulture);
            if (budget!.Scalar("spec", "minAvailable") is { } minAvailable)
            {
                Assert.True(int.Parse(minAvailable, System.Globalization.CultureInfo.InvariantCulture) < replicas,
                    $"{environment}: {budget.Name()} minAvailable {minAvailable} with {replicas} replicas would block every node drain");
            }
            else
            {
                Assert.NotEqual("0", budget.Scalar("spec", "maxUnavailable"));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Network_policies_deny_by_default_and_allow_only_the_listed_paths(string environment)
    {
        var documents = await Chart.RenderAsync(environment);
        var policies = documents.Kind("NetworkPolicy");

        var deny = policies.Single(p => p.Name() == "stockstream-default-deny");
        Assert.Equal(["Ingress", "Egress"], deny.Items("spec", "policyTypes").Select(t => ((YamlScalarNode)t).Value));
        Assert.Equal("stockstream", deny.Scalar("spec", "podSelector", "matchLabels", "app.kubernetes.io/instance"));
        Assert.Null(deny.Get("spec", "ingress"));
        Assert.Null(deny.Get("spec", "egress"));

        foreach (var deployment in documents.Kind("Deployment"))
        {
            var component = deployment.Component()!;
            var policy = policies.SingleOrDefault(p => p.Scalar("spec", "podSelector", "matchLabels", "app.kubernetes.io/component") == component);
            Assert.True(policy is not null, $"{environment}: no NetworkPolicy for {component}");
            var egress = policy!.Items("spec", "egress").ToList();
            var ingress = policy.Items("spec", "ingress").ToList();

            if (component == "redis")
            {
                Assert.Empty(egress);
                var from = Assert.Single(ingress).Items("from").Select(f => f.Scalar("podSelector", "matchLabels", "app.kubernetes.io/component"));
                Assert.Equal(["gateway", "ingestor", "web"], from);
                continue;
            }

            // DNS for everyone; nothing else unless listed.
            Assert.Contains(egress, rule => rule.Items("ports").Any(p => p.Scalar("port") == "53"));
            var namespaces = ingress.SelectMany(rule => rule.Items("from")).Select(f => f.Scalar("namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")).ToList();
            Assert.Contains("monitoring", namespaces);
            Assert.Equal(component is "gateway" or "web", namespaces.Contains("ingress-nginx"));

            var https = egress.Where(rule => rule.Items("ports").Any(p => p.Scalar("port") == "443")).ToList();
            Assert.Equal(component is "ingestor" or "remediator", https.Count > 0);
            if (component == "ingestor")
            {
                Assert.Contains("10.0.0.0/8", Assert.Single(https).Items("to").Single().Items("ipBlock", "except").Select(e => ((YamlScalarNode)e).Value));
            }

            var toRedis = egress.Any(rule => rule.Items("to").Any(t => t.Scalar("podSelector", "matchLabels", "app.kubernetes.io/component") == "redis")
                || rule.Items("ports").Any(p => p.Scalar("port") is "6379" or "6380"));
            Assert.Equal(component is "gateway" or "ingestor" or "web", toRedis);
        }
    }

    [Fact]
    public async Task Prod_reaches_its_external_redis_over_tls_only_at_its_address()
    {
        var documents = await Chart.RenderAsync("prod");

        var gateway = documents.Kind("NetworkPolicy").Single(p => p.Name() == "stockstream-gateway");
        var redis = gateway.Items("spec", "egress").Single(rule => rule.Items("ports").Any(p => p.Scalar("port") == "6380"));
        Assert.Equal(["10.20.0.0/24"], redis.Items("to").Select(t => t.Scalar("ipBlock", "cidr")));
        var env = documents.Kind("Deployment").Single(d => d.Component() == "gateway").Get("spec", "template", "spec")!.Items("containers").Single().Items("env");
        Assert.Equal("redis-connection-string", env.Single(v => v.Scalar("name") == "ConnectionStrings__redis").Scalar("valueFrom", "secretKeyRef", "key"));
        Assert.DoesNotContain(documents, d => d.Component() == "redis");
    }

    [Fact]
    public async Task Redis_tls_switch_adds_ssl_to_a_plain_connection_string_and_the_dev_redis_replaces_it()
    {
        var tls = await RenderAsync("--set", "redis.connectionString=cache.example.com:6380\\,abortConnect=False", "--set", "redis.tls=true");
        Assert.Equal("cache.example.com:6380,abortConnect=False,ssl=True", RedisValue(tls, "ingestor"));

        var dev = await Chart.RenderAsync("dev");
        Assert.Equal("stockstream-redis:6379,abortConnect=False", RedisValue(dev, "gateway"));
        var redis = dev.Kind("Deployment").Single(d => d.Component() == "redis");
        Assert.Equal("true", redis.Scalar("spec", "template", "spec", "securityContext", "runAsNonRoot"));
        Assert.Equal("true", redis.Get("spec", "template", "spec")!.Items("containers").Single().Scalar("securityContext", "readOnlyRootFilesystem"));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Remediator_may_only_patch_this_releases_own_deployments(string environment)
    {
        var documents = await Chart.RenderAsync(environment);

        var role = Assert.Single(documents.Kind("Role"));
        var rule = Assert.Single(role.Items("rules"));
        Assert.Equal(["apps"], rule.Items("apiGroups").Select(v => ((YamlScalarNode)v).Value));
        Assert.Equal(["deployments"], rule.Items("resources").Select(v => ((YamlScalarNode)v).Value));
        Assert.Equal(["patch"], rule.Items("verbs").Select(v => ((YamlScalarNode)v).Value));
        var targets = rule.Items("resourceNames").Select(v => ((YamlScalarNode)v).Value!).ToList();
        Assert.Equal(["stockstream-gateway", "stockstream-ingestor", "stockstream-web"], targets);
        Assert.DoesNotContain(documents, d => d.Scalar("kind") is "ClusterRole" or "ClusterRoleBinding");

        var binding = Assert.Single(documents.Kind("RoleBinding"));
        Assert.Equal(role.Name(), binding.Scalar("roleRef", "name"));
        Assert.Equal("stockstream-remediator", Assert.Single(binding.Items("subjects")).Scalar("name"));

        // Only the remediator's pod gets a token, and it is configured with the same list the Role allows.
        foreach (var deployment in documents.Kind("Deployment"))
        {
            var pod = deployment.Get("spec", "template", "spec")!;
            var isRemediator = deployment.Component() == "remediator";
            Assert.Equal(isRemediator ? "true" : "false", pod.Scalar("automountServiceAccountToken"));
            if (isRemediator)
            {
                Assert.Equal("stockstream-remediator", pod.Scalar("serviceAccountName"));
                var env = pod.Items("containers").Single().Items("env").ToList();
                Assert.Equal(targets, env.Where(v => v.Scalar("name")!.StartsWith("Remediator__Deployments__", StringComparison.Ordinal)).Select(v => v.Scalar("value")));
                Assert.DoesNotContain(env, v => v.Scalar("name") == "ConnectionStrings__redis");
            }
        }
    }

    [Fact]
    public async Task Alertmanager_routes_critical_alerts_to_the_remediator_service_with_the_local_inhibitions()
    {
        var documents = await Chart.RenderAsync("all-switches");
        var config = Assert.Single(documents.Kind("AlertmanagerConfig"));

        var route = config.Get("spec", "route")!;
        Assert.Equal("critical", route.Items("matchers").Single(m => m.Scalar("name") == "severity").Scalar("value"));
        var webhook = config.Items("spec", "receivers").Single().Items("webhookConfigs").Single();
        Assert.Equal("http://stockstream-remediator.stockstream.svc:80/alerts", webhook.Scalar("url"));
        Assert.Equal("false", webhook.Scalar("sendResolved"));

        // Same inhibitions as monitoring/alertmanager/alertmanager.yml.
        var local = YamlDocuments.LoadMapping(InfraRepo.Read("monitoring", "alertmanager", "alertmanager.yml"));
        var localSources = local.Items("inhibit_rules").Select(r => ((YamlScalarNode)r.Items("source_matchers").Single()).Value!.Split('"')[1]);
        Assert.Equal(localSources, config.Items("spec", "inhibitRules").Select(r => r.Items("sourceMatch").Single().Scalar("value")));

        // The ServiceMonitor gives targets the labels the rules use; resource = the Deployment the remediator restarts.
        var monitor = Assert.Single(documents.Kind("ServiceMonitor"));
        var relabelings = monitor.Items("spec", "endpoints").Single().Items("relabelings").ToList();
        Assert.Contains(relabelings, r => r.Scalar("targetLabel") == "job" && r.Scalar("replacement") == "stockstream");
        Assert.Contains(relabelings, r => r.Scalar("targetLabel") == "resource" && r.Scalar("replacement") == "stockstream-${1}");
        var probe = Assert.Single(documents.Kind("Probe"));
        Assert.Equal("ws_probe", probe.Scalar("spec", "jobName"));
        Assert.Equal("stockstream-gateway", probe.Scalar("spec", "targets", "staticConfig", "labels", "resource"));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task The_ingress_routes_no_metrics_health_or_alive_path_to_a_service(string environment)
    {
        var documents = await Chart.RenderAsync(environment);
        var appServices = documents.Kind("Deployment").Select(d => d.Name()).ToHashSet();

        foreach (var ingress in documents.Kind("Ingress"))
        {
            var paths = ingress.Items("spec", "rules").SelectMany(r => r.Items("http", "paths")).ToList();
            foreach (var request in new[] { "/metrics", "/metrics/", "/health", "/alive" })
            {
                // Kubernetes Ingress matching: Exact first, then the longest Prefix by path element.
                var match = paths.FirstOrDefault(p => p.Scalar("pathType") == "Exact" && p.Scalar("path") == request)
                    ?? paths.Where(p => p.Scalar("pathType") == "Prefix" && PrefixMatches(p.Scalar("path")!, request))
                        .MaxBy(p => p.Scalar("path")!.Length);
                var backend = match?.Scalar("backend", "service", "name");
                Assert.False(backend is not null && appServices.Contains(backend), $"{environment}: {ingress.Name()} routes {request} to {backend}");
            }
        }

        var unrouted = documents.Kind("Service").SingleOrDefault(s => s.Component() == "unrouted");
        if (unrouted is not null)
        {
            Assert.Null(unrouted.Get("spec", "selector"));
        }
    }

    [Fact]
    public async Task Helm_test_hook_subscribes_through_the_gateway_service_with_the_checked_in_script()
    {
        var documents = await Chart.RenderAsync("default");

        var pod = Assert.Single(documents.Kind("Pod"));
        Assert.Equal("test", pod.Scalar("metadata", "annotations", "helm.sh/hook"));
        var container = pod.Get("spec", "containers")!.Items().Single();
        var env = container.Items("env").ToDictionary(v => v.Scalar("name")!, v => v);
        Assert.Equal("ws://stockstream-gateway:80", env["GATEWAY_URL"].Scalar("value"));
        Assert.Equal("jwt-signing-key", env["SIGNING_KEY"].Scalar("valueFrom", "secretKeyRef", "key"));
        Assert.Equal("true", container.Scalar("securityContext", "readOnlyRootFilesystem"));

        var script = Assert.Single(documents.Kind("ConfigMap"), c => c.Scalar("metadata", "annotations", "helm.sh/hook") == "test");
        Assert.Equal(InfraRepo.Read("deploy", "helm", "stockstream", "files", "tests", "websocket-update.mjs").TrimEnd(),
            script.Scalar("data", "websocket-update.mjs")!.ReplaceLineEndings("\n").TrimEnd());

        // The test pod is fenced in too: DNS and the gateway only.
        var policy = documents.Kind("NetworkPolicy").Single(p => p.Scalar("spec", "podSelector", "matchLabels", "app.kubernetes.io/component") == "test");
        Assert.Equal(2, policy.Items("spec", "egress").Count());
    }

    [Fact]
    public async Task Argo_cd_applications_sync_automatically_with_self_heal_and_prune_from_files_that_exist()
    {
        var project = YamlDocuments.LoadMapping(InfraRepo.Read("deploy", "argocd", "apps", "project.yaml"));
        var allowedKinds = project.Items("spec", "namespaceResourceWhitelist").Select(k => k.Scalar("kind")).ToHashSet();
        var destinations = project.Items("spec", "destinations").Select(d => d.Scalar("namespace")).ToHashSet();
        var rendered = (await Task.WhenAll(Chart.Environments.Keys.Select(Chart.RenderAsync))).SelectMany(d => d)
            .Where(d => d.Scalar("metadata", "annotations", "helm.sh/hook") is null).Select(d => d.Scalar("kind")).ToHashSet();
        Assert.Subset(allowedKinds, rendered);

        var waves = new Dictionary<string, int>();
        foreach (var environment in new[] { "dev", "prod" })
        {
            var app = YamlDocuments.LoadMapping(InfraRepo.Read("deploy", "argocd", "apps", $"stockstream-{environment}.yaml"));
            Assert.Equal("stockstream", app.Scalar("spec", "project"));
            Assert.Equal("true", app.Scalar("spec", "syncPolicy", "automated", "prune"));
            Assert.Equal("true", app.Scalar("spec", "syncPolicy", "automated", "selfHeal"));
            Assert.Contains(app.Scalar("spec", "destination", "namespace"), destinations);
            waves[environment] = int.Parse(app.Scalar("metadata", "annotations", "argocd.argoproj.io/sync-wave")!, System.Globalization.CultureInfo.InvariantCulture);

            var chart = app.Items("spec", "sources").Single(s => s.Scalar("path") is not null);
            Assert.True(Directory.Exists(InfraRepo.PathOf(chart.Scalar("path")!.Split('/'))), $"{chart.Scalar("path")} does not exist");
            var valueFile = ((YamlScalarNode)chart.Items("helm", "valueFiles").Single()).Value!;
            Assert.Equal($"$values/deploy/environments/{environment}.values.yaml", valueFile);
            Assert.True(File.Exists(InfraRepo.PathOf(valueFile["$values/".Length..].Split('/'))), $"{valueFile} does not exist");
            Assert.Contains(app.Items("spec", "ignoreDifferences"), d => d.Items("jqPathExpressions").Any(e => ((YamlScalarNode)e).Value!.Contains("restartedAt", StringComparison.Ordinal)));
        }

        Assert.True(int.Parse(project.Scalar("metadata", "annotations", "argocd.argoproj.io/sync-wave")!, System.Globalization.CultureInfo.InvariantCulture) < waves["dev"]);
        Assert.True(waves["dev"] < waves["prod"]);

        // Inside the chart: RBAC and policies before the workloads, monitoring after them.
        var documents = await Chart.RenderAsync("all-switches");
        int Wave(YamlNode d) => int.Parse(d.Scalar("metadata", "annotations", "argocd.argoproj.io/sync-wave") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(documents.Where(d => d.Scalar("kind") is "Role" or "RoleBinding" or "NetworkPolicy"), d => Assert.True(Wave(d) < 0));
        Assert.All(documents.Where(d => d.Scalar("apiVersion")!.StartsWith("monitoring.coreos.com", StringComparison.Ordinal)), d => Assert.True(Wave(d) > 0));
    }

    [Fact]
    public void Prod_runs_an_immutable_image_tag_promoted_from_dev()
    {
        var dev = YamlDocuments.LoadMapping(InfraRepo.Read("deploy", "environments", "dev.values.yaml")).Scalar("image", "tag");
        var prod = YamlDocuments.LoadMapping(InfraRepo.Read("deploy", "environments", "prod.values.yaml")).Scalar("image", "tag");

        Assert.Matches("^[0-9a-f]{7,40}$", prod);
        Assert.Matches("^[0-9a-f]{7,40}$", dev);
    }

    private static bool PrefixMatches(string prefix, string request)
    {
        var prefixElements = prefix.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var requestElements = request.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        return prefixElements.Length <= requestElements.Length && prefixElements.SequenceEqual(requestElements.Take(prefixElements.Length));
    }

    private static string? RedisValue(IEnumerable<YamlMappingNode> documents, string component) =>
        documents.Kind("Deployment").Single(d => d.Component() == component).Get("spec", "template", "spec")!
            .Items("containers").Single().Items("env").Single(v => v.Scalar("name") == "ConnectionStrings__redis").Scalar("value");

    private static async Task<IReadOnlyList<YamlMappingNode>> RenderAsync(params string[] extra)
    {
        var result = await Chart.HelmAsync(["template", "stockstream", Chart.Path, "--namespace", Chart.Namespace, .. extra]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return YamlDocuments.LoadAll(result.StdOut);
    }

    /// <summary>A node as canonical text (YAML re-serialised), so equal content compares equal whatever its layout.</summary>
    private static string Canonical(YamlNode node)
    {
        var serializer = new YamlDotNet.Serialization.SerializerBuilder().Build();
        var deserializer = new YamlDotNet.Serialization.DeserializerBuilder().Build();
        var stream = new YamlStream(new YamlDocument(node));
        using var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        var value = deserializer.Deserialize<object>(writer.ToString());
        return serializer.Serialize(Normalize(value));
    }

    private static object? Normalize(object? value) => value switch
    {
        IDictionary<object, object> map => map.OrderBy(e => e.Key.ToString(), StringComparer.Ordinal)
            .ToDictionary(e => e.Key.ToString()!, e => Normalize(e.Value)),
        IList<object> list => list.Select(Normalize).ToList(),
        string text => text.TrimEnd('\n'),
        _ => value,
    };
}

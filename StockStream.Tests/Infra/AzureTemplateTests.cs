using System.Text.Json.Nodes;

namespace StockStream.Tests.Infra;

/// <summary>
/// What a first `azd up` deploys, read from the compiled ARM template (issue 14): telemetry to Application Insights
/// with Entra ID auth, the Aspire dashboard, a gateway that scales on connections, alerts that reach someone, a
/// private Key Vault, one identity per app with access to its own secrets only, no public /metrics, probes from the
/// first provision, and the SLO alerts.
/// </summary>
public sealed class AzureTemplateTests
{
    private static readonly string[] Apps = ["gateway", "ingestor", "web"];
    private const string MetricsPublisherRole = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string SecretsUserRole = "4633458b-17de-408a-b874-0445c86b69e6";

    public static TheoryData<string> AppNames() => new(Apps);

    [Theory]
    [MemberData(nameof(AppNames))]
    public async Task App_sends_telemetry_to_application_insights_signed_in_as_its_own_identity(string app)
    {
        var arm = await CompiledTemplate.MainAsync();
        var env = Env(arm, app);

        // ServiceDefaults turns the Azure Monitor exporter on when the connection string is set, and signs in with
        // the user-assigned identity named by AZURE_CLIENT_ID (local auth is off, so only Entra ID works).
        Assert.Contains("'APPLICATIONINSIGHTS_CONNECTION_STRING', 'value', parameters('common').appInsightsConnectionString", env, StringComparison.Ordinal);
        Assert.Contains("'AZURE_CLIENT_ID', 'value', parameters('identity').clientId", env, StringComparison.Ordinal);
        Assert.Contains("appInsightsConnectionString", arm.Deployment($"app-{app}")["properties"]!["parameters"]!["common"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Application_insights_refuses_local_auth_and_every_app_identity_may_publish_to_it()
    {
        var arm = await CompiledTemplate.MainAsync();
        var monitoring = arm.Module("monitoring");
        var insights = CompiledTemplate.Resource(monitoring, "Microsoft.Insights/components");

        Assert.Equal(true, (bool?)insights["properties"]!["DisableLocalAuth"]);
        var publishers = arm.Deployment("monitoring")["properties"]!["parameters"]!["publisherIdentityNames"]!["value"]!.AsArray();
        Assert.Equal(3, publishers.Count);
        var publish = Assert.Single(CompiledTemplate.Resources(monitoring), r => (string?)r["type"] == "Microsoft.Authorization/roleAssignments"
            && CompiledTemplate.Resolve(monitoring, r["properties"]!["roleDefinitionId"]).Contains(MetricsPublisherRole, StringComparison.Ordinal));
        Assert.Equal("[length(parameters('publisherIdentityNames'))]", (string?)publish["copy"]!["count"]);
    }

    [Fact]
    public async Task The_aspire_dashboard_component_runs_in_the_environment()
    {
        var arm = await CompiledTemplate.MainAsync();

        var dashboard = Assert.Single(arm.ResourcesOfType("Microsoft.App/managedEnvironments/dotNetComponents"));
        Assert.Equal("AspireDashboard", (string?)dashboard["properties"]!["componentType"]);
        Assert.Null(dashboard["condition"]);
        Assert.Contains("AZURE_ASPIRE_DASHBOARD_URL", arm.Root["outputs"]!.AsObject().Select(o => o.Key));
    }

    [Fact]
    public async Task Gateway_scales_on_open_connections_with_cpu_and_memory_as_a_safety_net()
    {
        var arm = await CompiledTemplate.MainAsync();
        var rules = ContainerApp(arm, "gateway")["properties"]!["template"]!["scale"]!["rules"]!.AsArray().Select(r => r!.AsObject()).ToList();

        Assert.DoesNotContain(rules, rule => rule["http"] is not null);
        var connections = Assert.Single(rules, rule => (string?)rule["custom"]?["type"] == "azure-app-insights");
        var metadata = connections["custom"]!["metadata"]!;
        Assert.Equal("customMetrics/stockstream.gateway.connections", (string?)metadata["metricId"]);
        Assert.Equal("sum", (string?)metadata["metricAggregationType"]);
        Assert.Equal("[string(parameters('connectionsPerReplica'))]", (string?)metadata["targetValue"]);
        Assert.Equal("[parameters('identity').id]", (string?)connections["custom"]!["identity"]);
        Assert.Contains(rules, rule => (string?)rule["custom"]?["type"] == "cpu");
        Assert.Contains(rules, rule => (string?)rule["custom"]?["type"] == "memory");
        // The metric the rule reads is the one the gateway exports.
        Assert.Contains("\"stockstream.gateway.connections\"", InfraRepo.Read("StockStream.Gateway", "Diagnostics", "GatewayMetrics.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_action_group_always_has_a_receiver_and_the_on_call_email_is_required()
    {
        var arm = await CompiledTemplate.MainAsync();

        var email = arm.Root["parameters"]!["alertEmail"]!.AsObject();
        Assert.False(email.ContainsKey("defaultValue"), "alertEmail must be required: an opt-out is explicit ('none')");
        Assert.Equal(1, (int?)email["minLength"]);
        // azd substitutes the variable without a fallback, so an unset address makes azd ask instead of deploying empty.
        Assert.Contains("\"${STOCKSTREAM_ALERT_EMAIL}\"", InfraRepo.Read("infra", "main.parameters.json"), StringComparison.Ordinal);

        var group = Assert.Single(arm.ResourcesOfType("Microsoft.Insights/actionGroups"));
        var roles = group["properties"]!["armRoleReceivers"]!.AsArray();
        Assert.NotEmpty(roles);
        Assert.Equal("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", (string?)roles[0]!["roleId"]);
        Assert.Contains("'none'", group["properties"]!["emailReceivers"]!.ToString(), StringComparison.Ordinal);

        var alerts = arm.ResourcesOfType("Microsoft.Insights/metricAlerts").Concat(arm.ResourcesOfType("Microsoft.Insights/scheduledQueryRules")).ToList();
        Assert.NotEmpty(alerts);
        Assert.All(alerts, alert => Assert.Contains("Microsoft.Insights/actionGroups", alert["properties"]!["actions"]!.ToJsonString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Key_vault_is_reachable_only_through_its_private_endpoint()
    {
        var arm = await CompiledTemplate.MainAsync();
        var module = arm.Module("keyvault");
        var vault = CompiledTemplate.Resource(module, "Microsoft.KeyVault/vaults")["properties"]!;

        Assert.Equal("Disabled", (string?)vault["publicNetworkAccess"]);
        Assert.Equal("Deny", (string?)vault["networkAcls"]!["defaultAction"]);
        var endpoint = CompiledTemplate.Resource(module, "Microsoft.Network/privateEndpoints");
        Assert.Equal("vault", (string?)endpoint["properties"]!["privateLinkServiceConnections"]![0]!["properties"]!["groupIds"]![0]);
        Assert.Equal("privatelink.vaultcore.azure.net", (string?)CompiledTemplate.Resource(module, "Microsoft.Network/privateDnsZones")["name"]);
    }

    [Fact]
    public async Task Each_app_has_its_own_identity_that_reads_only_its_own_secrets()
    {
        var arm = await CompiledTemplate.MainAsync();

        var identities = Apps.Select(app => arm.Deployment($"app-{app}")["properties"]!["parameters"]!["identity"]!.ToJsonString()).ToList();
        for (var i = 0; i < Apps.Length; i++)
        {
            Assert.Contains($"identity-{Apps[i]}", identities[i], StringComparison.Ordinal);
        }

        Assert.Equal(3, arm.ResourcesOfType("Microsoft.ManagedIdentity/userAssignedIdentities").Count(r => (bool?)r["existing"] != true));

        // Secrets User is granted per secret (secret-reader module), never on the whole vault.
        var secretReader = arm.Module("[format('secret-{0}-{1}', variables('secretReaders')[copyIndex()].app, variables('secretReaders')[copyIndex()].secret)]");
        var grant = CompiledTemplate.Resource(secretReader, "Microsoft.Authorization/roleAssignments");
        Assert.Contains(SecretsUserRole, CompiledTemplate.Resolve(secretReader, grant["properties"]!["roleDefinitionId"]), StringComparison.Ordinal);
        Assert.Equal("[resourceId('Microsoft.KeyVault/vaults/secrets', parameters('keyVaultName'), parameters('secretName'))]", (string?)grant["scope"]);
        var keyVault = arm.Module("keyvault");
        Assert.DoesNotContain(CompiledTemplate.Resources(keyVault), r => (string?)r["type"] == "Microsoft.Authorization/roleAssignments"
            && CompiledTemplate.Resolve(keyVault, r["properties"]!["roleDefinitionId"]).Contains(SecretsUserRole, StringComparison.Ordinal));

        var readers = CompiledTemplate.Variable(arm.Root, "secretReaders").AsArray()
            .Select(r => $"{r!["app"]}:{r["secret"]}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            ["gateway:jwt-signing-key", "gateway:redis-connection-string", "ingestor:coingecko-api-key", "ingestor:redis-connection-string", "web:jwt-signing-key"],
            readers);
        Assert.Contains("'id-{0}-{1}', variables('secretReaders')[copyIndex()].app", arm.Deployment("[format('secret-{0}-{1}', variables('secretReaders')[copyIndex()].app, variables('secretReaders')[copyIndex()].secret)]")["properties"]!["parameters"]!.ToJsonString().Replace("\\u0027", "'", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Web_app_holds_no_redis_secret()
    {
        var arm = await CompiledTemplate.MainAsync();

        Assert.DoesNotContain("redis", arm.Deployment("app-web").ToJsonString(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [MemberData(nameof(AppNames))]
    public async Task Management_endpoints_are_on_a_port_no_ingress_forwards(string app)
    {
        var arm = await CompiledTemplate.MainAsync();
        var module = arm.Module($"app-{app}");
        var configuration = ContainerApp(arm, app)["properties"]!["configuration"]!;

        var management = CompiledTemplate.Variable(module, "managementEnv").AsArray().ToDictionary(e => (string)e!["name"]!, e => (string?)e!["value"]);
        Assert.Equal("8081", management["Management__Port"]);
        Assert.Equal("8080;8081", management["ASPNETCORE_HTTP_PORTS"]);
        Assert.Contains("variables('managementEnv')", Env(arm, app), StringComparison.Ordinal);

        if (configuration["ingress"] is JsonObject ingress)
        {
            Assert.Equal("[variables('containerPort')]", (string?)ingress["targetPort"]);
            Assert.Equal(8080, (int)CompiledTemplate.Variable(module, "containerPort"));
            Assert.Null(ingress["additionalPortMappings"]);
            Assert.Null(ingress["exposedPort"]);
        }

        var readiness = CompiledTemplate.Variable(module, "healthProbes").AsArray().Single(p => (string?)p!["type"] == "Readiness")!;
        Assert.Equal("/health", (string?)readiness["httpGet"]!["path"]);
        Assert.Equal(8081, (int?)readiness["httpGet"]!["port"]);
    }

    [Theory]
    [MemberData(nameof(AppNames))]
    public async Task App_has_startup_liveness_and_readiness_probes_from_the_first_provision(string app)
    {
        var arm = await CompiledTemplate.MainAsync();
        var module = arm.Module($"app-{app}");
        var container = ContainerApp(arm, app)["properties"]!["template"]!["containers"]![0]!;

        Assert.Equal("[if(parameters('exists'), variables('healthProbes'), variables('placeholderProbes'))]", (string?)container["probes"]);
        foreach (var probes in new[] { "healthProbes", "placeholderProbes" })
        {
            Assert.Equal(["Liveness", "Readiness", "Startup"],
                CompiledTemplate.Variable(module, probes).AsArray().Select(p => (string)p!["type"]!).Order(StringComparer.Ordinal));
        }

        var health = CompiledTemplate.Variable(module, "healthProbes").AsArray();
        Assert.All(health.Where(p => (string?)p!["type"] is "Startup" or "Liveness"), p => Assert.Equal("/alive", (string?)p!["httpGet"]!["path"]));
    }

    [Theory]
    [InlineData("gateway")]
    [InlineData("web")]
    public async Task Public_apps_keep_several_revisions_so_cd_can_trial_one_at_zero_traffic(string app)
    {
        var arm = await CompiledTemplate.MainAsync();

        Assert.Equal("Multiple", (string?)ContainerApp(arm, app)["properties"]!["configuration"]!["activeRevisionsMode"]);
    }

    [Fact]
    public async Task Every_slo_has_a_fast_and_a_slow_burn_alert_and_a_dead_man_switch_watches_the_telemetry()
    {
        var arm = await CompiledTemplate.MainAsync();
        var alerts = arm.Module("alerts");
        var rules = CompiledTemplate.Variable(alerts, "queryRules").AsArray().Select(r => r!.AsObject()).ToDictionary(r => (string)r["key"]!);

        foreach (var slo in new[] { "websocket-availability", "delivery-latency", "freshness" })
        {
            var fast = rules[$"slo-{slo}-fast-burn"];
            Assert.Equal("PT1H", (string?)fast["windowSize"]);
            Assert.Contains("(1h)", Query(fast), StringComparison.Ordinal);
            Assert.Contains("(5m)", Query(fast), StringComparison.Ordinal);
            Assert.Contains("> 14.4", Query(fast), StringComparison.Ordinal);
            var slow = rules[$"slo-{slo}-slow-burn"];
            Assert.Equal("PT6H", (string?)slow["windowSize"]);
            Assert.Contains("> 6", Query(slow), StringComparison.Ordinal);
            Assert.Contains("(6h)", Query(slow), StringComparison.Ordinal);
            Assert.Contains("(30m)", Query(slow), StringComparison.Ordinal);
            Assert.True(File.Exists(InfraRepo.PathOf((string)fast["runbook"]!)), $"{fast["runbook"]} is missing");
        }

        var deadMan = rules["dead-man-switch"];
        Assert.Contains("'gateway', 'ingestor', 'web'", Query(deadMan), StringComparison.Ordinal);
        Assert.Contains("isnull(samples)", Query(deadMan), StringComparison.Ordinal);
        Assert.All(rules.Values, rule => Assert.True(File.Exists(InfraRepo.PathOf((string)rule["runbook"]!)), $"{rule["runbook"]} is missing"));

        var test = Assert.Single(arm.ResourcesOfType("Microsoft.Insights/webtests"));
        Assert.Equal("[format('{0}/alive', parameters('gatewayUri'))]", (string?)test["properties"]!["Request"]!["RequestUrl"]);
        Assert.True(test["properties"]!["Locations"]!.AsArray().Count >= 5);
    }

    private static string Query(JsonObject rule) => (string?)rule["query"] ?? "";

    private static JsonObject ContainerApp(CompiledTemplate arm, string app) =>
        CompiledTemplate.Resource(arm.Module($"app-{app}"), "Microsoft.App/containerApps");

    private static string Env(CompiledTemplate arm, string app) =>
        CompiledTemplate.Variable(arm.Module($"app-{app}"), "env").ToString();
}

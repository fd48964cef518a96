using System.Text.RegularExpressions;

namespace StockStream.Tests.Infra;

/// <summary>azure.yaml, the Dockerfiles and the Bicep app modules describe the same three services.</summary>
public sealed partial class AzureYamlTests
{
    public static TheoryData<string> Services()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in YamlDocuments.LoadMapping(InfraRepo.Read("azure.yaml")).Entries("services"))
        {
            data.Add(name);
        }

        return data;
    }

    [Fact]
    public void Azure_yaml_names_the_gateway_the_ingestor_and_the_web()
    {
        var services = YamlDocuments.LoadMapping(InfraRepo.Read("azure.yaml")).Entries("services").Select(pair => pair.Key);
        Assert.Equal(["gateway", "ingestor", "web"], services.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_has_a_dockerfile_at_its_path_with_the_repository_root_as_context(string service)
    {
        var definition = YamlDocuments.LoadMapping(InfraRepo.Read("azure.yaml")).Get("services", service)!;
        Assert.Equal("dotnet", definition.Scalar("language"));
        Assert.Equal("containerapp", definition.Scalar("host"));

        var project = InfraRepo.PathOf(definition.Scalar("project") ?? throw new InvalidOperationException($"{service} has no project"));
        Assert.True(Directory.Exists(project), $"{service}: project folder {project} is missing");

        // azd resolves docker.path and docker.context relative to the project folder.
        var dockerfile = Path.GetFullPath(Path.Combine(project, definition.Scalar("docker", "path") ?? "Dockerfile"));
        Assert.True(File.Exists(dockerfile), $"{service}: {dockerfile} is missing");

        var context = Path.GetFullPath(Path.Combine(project, definition.Scalar("docker", "context") ?? "."));
        Assert.Equal(Path.TrimEndingDirectorySeparator(InfraRepo.Root), Path.TrimEndingDirectorySeparator(context));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_has_a_bicep_module_that_defines_its_container_app(string service)
    {
        var modules = InfraRepo.Files("infra", "*.bicep")
            .Where(file => ContainerAppResource().IsMatch(File.ReadAllText(file))
                && File.ReadAllText(file).Contains($"'azd-service-name': '{service}'", StringComparison.Ordinal))
            .ToList();

        var module = Assert.Single(modules);
        var main = InfraRepo.Read("infra", "main.bicep");
        var relative = Path.GetRelativePath(InfraRepo.PathOf("infra"), module).Replace('\\', '/');
        Assert.Contains($"module {service} '{relative}'", main, StringComparison.Ordinal);
        Assert.Contains($"${{SERVICE_{service.ToUpperInvariant()}_RESOURCE_EXISTS=false}}", InfraRepo.Read("infra", "main.parameters.json"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_is_external_websocket_capable_and_keeps_two_replicas()
    {
        var arm = await CompiledTemplate.MainAsync();
        var module = arm.Module("app-gateway");
        var ingress = CompiledTemplate.Resource(module, "Microsoft.App/containerApps")["properties"]!["configuration"]!["ingress"]!;

        Assert.Equal(true, (bool?)ingress["external"]);
        Assert.Equal("auto", (string?)ingress["transport"]);
        Assert.Equal(false, (bool?)ingress["allowInsecure"]);
        Assert.Equal(2, (int?)module["parameters"]!["minReplicas"]!["minValue"]);
    }

    [Fact]
    public void Ingestor_has_no_ingress_and_two_fixed_replicas()
    {
        var ingestor = InfraRepo.Read("infra", "app", "ingestor.bicep");

        Assert.DoesNotMatch(@"(?m)^\s*ingress:\s*\{", ingestor);
        Assert.Contains("minReplicas: replicas", ingestor, StringComparison.Ordinal);
        Assert.Contains("maxReplicas: replicas", ingestor, StringComparison.Ordinal);
        Assert.Contains("param replicas int = 2", ingestor, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redis_is_private_only()
    {
        var redis = (await CompiledTemplate.MainAsync()).Module("redis");

        Assert.Equal("Disabled", (string?)CompiledTemplate.Resource(redis, "Microsoft.Cache/redisEnterprise")["properties"]!["publicNetworkAccess"]);
        var endpoint = CompiledTemplate.Resource(redis, "Microsoft.Network/privateEndpoints");
        Assert.Equal("redisEnterprise", (string?)endpoint["properties"]!["privateLinkServiceConnections"]![0]!["properties"]!["groupIds"]![0]);
        Assert.Equal("privatelink.redis.azure.net", CompiledTemplate.Resolve(redis, CompiledTemplate.Resource(redis, "Microsoft.Network/privateDnsZones")["name"]));
        CompiledTemplate.Resource(redis, "Microsoft.Network/privateDnsZones/virtualNetworkLinks");
    }

    [GeneratedRegex(@"resource\s+\w+\s+'Microsoft\.App/containerApps@[^']+'\s*=\s*\{", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerAppResource();
}

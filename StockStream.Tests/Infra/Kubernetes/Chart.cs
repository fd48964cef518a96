using StockStream.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace StockStream.Tests.Infra.Kubernetes;

/// <summary>The chart at deploy/helm/stockstream rendered with helm for one environment, as text and as documents.</summary>
internal static class Chart
{
    public static readonly string Path = InfraRepo.PathOf("deploy", "helm", "stockstream");

    public const string Namespace = "stockstream";

    /// <summary>Every switch on: monitoring objects, the probe, the in-cluster Redis.</summary>
    public static readonly string[] AllSwitches =
    [
        "--set", "monitoring.serviceMonitor.enabled=true", "--set", "monitoring.prometheusRule.enabled=true",
        "--set", "monitoring.probe.enabled=true", "--set", "monitoring.probe.blackboxExporter=blackbox.monitoring.svc:9115",
        "--set", "monitoring.alertmanagerConfig.enabled=true", "--set", "redis.inCluster.enabled=true",
    ];

    /// <summary>The environments the test suite renders: name → extra helm arguments.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Environments = new Dictionary<string, string[]>
    {
        ["default"] = [],
        ["all-switches"] = AllSwitches,
        ["dev"] = ["-f", InfraRepo.PathOf("deploy", "environments", "dev.values.yaml")],
        ["prod"] = ["-f", InfraRepo.PathOf("deploy", "environments", "prod.values.yaml")],
    };

    public static TheoryData<string> EnvironmentNames() => [.. Environments.Keys];

    public static async Task<CommandResult> HelmAsync(params string[] arguments) =>
        await InfraTools.RunAsync(await InfraTools.HelmAsync(), arguments, timeout: TimeSpan.FromMinutes(2));

    public static async Task<string> RenderTextAsync(string environment)
    {
        var result = await HelmAsync(["template", "stockstream", Path, "--namespace", Namespace, .. Environments[environment]]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StdOut;
    }

    public static async Task<IReadOnlyList<YamlMappingNode>> RenderAsync(string environment) =>
        YamlDocuments.LoadAll(await RenderTextAsync(environment));

    public static List<YamlMappingNode> Kind(this IEnumerable<YamlMappingNode> documents, string kind) =>
        documents.Where(d => d.Scalar("kind") == kind).ToList();

    public static string? Component(this YamlNode document) => document.Scalar("metadata", "labels", "app.kubernetes.io/component");

    public static string? Name(this YamlNode document) => document.Scalar("metadata", "name");
}

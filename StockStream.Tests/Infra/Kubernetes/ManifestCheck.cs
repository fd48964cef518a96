using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace StockStream.Tests.Infra.Kubernetes;

/// <summary>One validated document: where it came from and what the schema found wrong with it (empty = valid).</summary>
public sealed record ManifestResult(string File, int Index, string? ApiVersion, string? Kind, string? Name, IReadOnlyList<string> Errors)
{
    public override string ToString() => $"{Kind} {Name} ({Path.GetFileName(File)} #{Index}): {string.Join("; ", Errors)}";
}

/// <summary>
/// Offline schema validation of manifests with manifest-check/validate.mjs: the Kubernetes 1.36 API schemas
/// (npm kubernetes-models 5.1.0) and the Argo CD and Prometheus Operator CRD schemas (@kubernetes-models/argo-cd 4.0.0,
/// prometheus-operator 6.0.0), exactly as pinned by manifest-check/package-lock.json. `npm ci` installs them once
/// into a cache folder keyed by the lock file's hash.
/// </summary>
internal static class ManifestCheck
{
    private static readonly string Source = InfraRepo.PathOf("StockStream.Tests", "Infra", "Kubernetes", "manifest-check");
    private static readonly SemaphoreSlim Install = new(1, 1);

    public static async Task<IReadOnlyList<ManifestResult>> ValidateAsync(params string[] files)
    {
        var folder = await InstalledAsync();
        var node = InfraTools.Require("node", "install Node.js 20+ and npm (`sudo apt-get install -y nodejs npm`, or run scripts/setup.sh).");
        var result = await InfraTools.RunAsync(node, [Path.Combine(folder, "validate.mjs"), .. files], folder, TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode is 0 or 1 && result.StdOut.TrimStart().StartsWith('['), result.ToString());
        return JsonSerializer.Deserialize<List<ManifestResult>>(result.StdOut, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    /// <summary>
    /// Fields the Kubernetes API does not know (a misindented or misspelt key, which the OpenAPI schemas let through):
    /// every document of a kind KubernetesClient has a model for is read with its strict deserializer, which refuses
    /// unknown properties, like <c>kubectl apply --validate=strict</c>. CRD objects are left to the schema check.
    /// </summary>
    public static IReadOnlyList<string> UnknownFields(string yaml)
    {
        var known = typeof(k8s.Models.KubernetesEntityAttribute).Assembly.GetTypes()
            .Select(type => type.GetCustomAttributes(typeof(k8s.Models.KubernetesEntityAttribute), inherit: true).OfType<k8s.Models.KubernetesEntityAttribute>().FirstOrDefault())
            .OfType<k8s.Models.KubernetesEntityAttribute>()
            .Select(entity => $"{(string.IsNullOrEmpty(entity.Group) ? string.Empty : entity.Group + "/")}{entity.ApiVersion}/{entity.Kind}")
            .ToHashSet(StringComparer.Ordinal);
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        using (var reader = new StringReader(yaml))
        {
            stream.Load(reader);
        }

        var errors = new List<string>();
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is not YamlDotNet.RepresentationModel.YamlMappingNode root
                || !known.Contains($"{root.Scalar("apiVersion")}/{root.Scalar("kind")}"))
            {
                continue;
            }

            using var text = new StringWriter();
            new YamlDotNet.RepresentationModel.YamlStream(document).Save(text, assignAnchors: false);
            try
            {
                k8s.KubernetesYaml.LoadAllFromString(text.ToString(), strict: true);
            }
            catch (YamlDotNet.Core.YamlException ex)
            {
                errors.Add($"{root.Scalar("kind")} {root.Scalar("metadata", "name")}: {(ex.InnerException ?? ex).Message}");
            }
        }

        return errors;
    }

    /// <summary>Validates YAML text (written to a temporary file).</summary>
    public static async Task<IReadOnlyList<ManifestResult>> ValidateTextAsync(string yaml)
    {
        var file = Path.Combine(Path.GetTempPath(), $"stockstream-manifests-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        try
        {
            return await ValidateAsync(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<string> InstalledAsync()
    {
        var lockFile = Path.Combine(Source, "package-lock.json");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            await File.ReadAllTextAsync(lockFile) + await File.ReadAllTextAsync(Path.Combine(Source, "validate.mjs")))))[..16];
        var cache = Path.Combine(
            Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
            "stockstream", "manifest-check", hash);
        await Install.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(cache, ".installed")))
            {
                return cache;
            }

            var npm = InfraTools.Require("npm", "the manifest schemas come from npm packages: install Node.js and npm (`sudo apt-get install -y nodejs npm`, or run scripts/setup.sh).");
            Directory.CreateDirectory(cache);
            foreach (var file in new[] { "package.json", "package-lock.json", "validate.mjs" })
            {
                File.Copy(Path.Combine(Source, file), Path.Combine(cache, file), overwrite: true);
            }

            var install = await InfraTools.RunAsync(npm, ["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], cache, TimeSpan.FromMinutes(5));
            Assert.True(install.ExitCode == 0, $"Could not install the pinned manifest schemas with npm ci: {install}");
            await File.WriteAllTextAsync(Path.Combine(cache, ".installed"), hash);
            return cache;
        }
        finally
        {
            Install.Release();
        }
    }
}

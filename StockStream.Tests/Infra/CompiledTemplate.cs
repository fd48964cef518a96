using System.Text.Json;
using System.Text.Json.Nodes;

namespace StockStream.Tests.Infra;

/// <summary>
/// infra/main.bicep compiled by the pinned Bicep CLI (`bicep build`) into ARM JSON, once per test run, with the
/// nested module deployments reachable by name. The infra tests assert on this output, not on Bicep source text,
/// so a refactor of the Bicep that keeps the deployed result keeps them green and one that changes it does not.
/// </summary>
internal sealed class CompiledTemplate
{
    private static readonly Lazy<Task<CompiledTemplate>> Main = new(() => BuildAsync("main.bicep"));

    private CompiledTemplate(JsonObject root) => Root = root;

    public JsonObject Root { get; }

    public static Task<CompiledTemplate> MainAsync() => Main.Value;

    /// <summary>The template of the module deployment named <paramref name="name"/> (searched at every depth).</summary>
    public JsonObject Module(string name) =>
        Deployments(Root).SingleOrDefault(d => (string?)d["name"] == name)?["properties"]?["template"]?.AsObject()
        ?? throw new InvalidOperationException($"No module deployment named {name} in the compiled template.");

    /// <summary>The module deployment resource itself (its parameters, condition, copy loop).</summary>
    public JsonObject Deployment(string name) =>
        Deployments(Root).SingleOrDefault(d => (string?)d["name"] == name)
        ?? throw new InvalidOperationException($"No module deployment named {name} in the compiled template.");

    /// <summary>Every resource of <paramref name="type"/> (case-insensitive) at any depth.</summary>
    public IReadOnlyList<JsonObject> ResourcesOfType(string type) =>
        AllResources(Root).Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>Resources of a template, whether it lists them (languageVersion 1) or names them (2.0).</summary>
    public static IEnumerable<JsonObject> Resources(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.OfType<JsonObject>(),
        JsonObject named => named.Select(pair => pair.Value).OfType<JsonObject>(),
        _ => [],
    };

    public static JsonObject Resource(JsonObject template, string type) =>
        Resources(template).SingleOrDefault(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidOperationException($"The template has no single {type} resource.");

    /// <summary>A template variable, which for a literal is plain JSON.</summary>
    public static JsonNode Variable(JsonObject template, string name) =>
        template["variables"]?[name] ?? throw new InvalidOperationException($"The template has no variable {name}.");

    /// <summary>A value, or the variable it names when it is exactly `[variables('x')]`.</summary>
    public static string Resolve(JsonObject template, JsonNode? value)
    {
        var text = value?.ToString() ?? "";
        const string prefix = "[variables('";
        return text.StartsWith(prefix, StringComparison.Ordinal) && text.EndsWith("')]", StringComparison.Ordinal)
            ? Variable(template, text[prefix.Length..^3]).ToString()
            : text;
    }

    private static IEnumerable<JsonObject> Deployments(JsonObject template)
    {
        foreach (var resource in Resources(template).Where(r => (string?)r["type"] == "Microsoft.Resources/deployments"))
        {
            yield return resource;
            if (resource["properties"]?["template"] is JsonObject nested)
            {
                foreach (var inner in Deployments(nested))
                {
                    yield return inner;
                }
            }
        }
    }

    private static IEnumerable<JsonObject> AllResources(JsonObject template)
    {
        foreach (var resource in Resources(template))
        {
            yield return resource;
            if ((string?)resource["type"] == "Microsoft.Resources/deployments" && resource["properties"]?["template"] is JsonObject nested)
            {
                foreach (var inner in AllResources(nested))
                {
                    yield return inner;
                }
            }
        }
    }

    private static async Task<CompiledTemplate> BuildAsync(string file)
    {
        var output = Directory.CreateTempSubdirectory("stockstream-arm-");
        try
        {
            var result = await InfraTools.RunAsync(InfraTools.Bicep(), ["build", InfraRepo.PathOf("infra", file), "--outdir", output.FullName],
                timeout: TimeSpan.FromMinutes(3));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"bicep build {file} failed:\n{result}");
            }

            var json = await File.ReadAllTextAsync(Path.Combine(output.FullName, Path.ChangeExtension(file, ".json")));
            return new CompiledTemplate(JsonNode.Parse(json)!.AsObject());
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using StockStream.Tests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace StockStream.Tests.Gateway;

/// <summary>
/// The JSON Schemas of docs/asyncapi.yaml, one per server frame type (found by its <c>type</c> const), so tests can
/// check every frame the server sends against the published contract.
/// </summary>
public static class ProtocolSchema
{
    private static readonly Lazy<JsonNode> Document = new(() => ToJson(LoadYaml(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "asyncapi.yaml")))));

    private static readonly Lazy<Dictionary<string, JsonSchema>> ServerFrames = new(() =>
    {
        var schemas = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        foreach (var (name, schema) in Schemas)
        {
            if (schema?["properties"]?["type"]?["const"]?.GetValue<string>() is { } type && name.StartsWith("Server", StringComparison.Ordinal))
            {
                var element = JsonSerializer.SerializeToElement(schema);
                schemas[type] = JsonSchema.Build(element, new BuildOptions { SchemaRegistry = new SchemaRegistry() }, new Uri($"https://stockstream.local/asyncapi/{name}"));
            }
        }

        return schemas;
    });

    /// <summary>The asyncapi document as JSON.</summary>
    public static JsonNode AsyncApi => Document.Value;

    /// <summary>Every schema under <c>components.schemas</c>, by name.</summary>
    public static IEnumerable<(string Name, JsonNode? Schema)> Schemas =>
        Document.Value["components"]!["schemas"]!.AsObject().Select(p => (p.Key, p.Value));

    /// <summary>Server frame types the contract defines.</summary>
    public static IReadOnlyCollection<string> ServerFrameTypes => ServerFrames.Value.Keys;

    /// <summary>Fails with every violation when a frame does not match the schema for its type.</summary>
    public static void AssertValid(JsonElement frame)
    {
        if (Violation(frame) is { } violation)
        {
            throw new Xunit.Sdk.XunitException(violation);
        }
    }

    /// <summary>Why the frame does not match docs/asyncapi.yaml; null when it does.</summary>
    public static string? Violation(JsonElement frame)
    {
        if (frame.ValueKind != JsonValueKind.Object || frame.Type() is not { } type)
        {
            return $"frame without type: {frame.GetRawText()}";
        }

        if (!ServerFrames.Value.TryGetValue(type, out var schema))
        {
            return $"docs/asyncapi.yaml has no schema for server frame type '{type}'";
        }

        var result = schema.Evaluate(frame, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            return null;
        }

        var errors = result.Details?.Where(d => d.Errors is not null)
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")) ?? [];
        return $"frame does not match docs/asyncapi.yaml ({type}): {frame.GetRawText()}\n  " + string.Join("\n  ", errors);
    }

    public static void AssertAllValid(IEnumerable<JsonElement> frames)
    {
        foreach (var frame in frames)
        {
            AssertValid(frame);
        }
    }

    private static YamlNode LoadYaml(string text)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(text);
        stream.Load(reader);
        return stream.Documents.Single().RootNode;
    }

    /// <summary>YAML → JSON with YAML 1.2 core types for plain scalars (numbers, booleans, null); quoted scalars stay strings.</summary>
    private static JsonNode ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value!, (JsonNode?)ToJsonOrNull(p.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJsonOrNull)]),
        YamlScalarNode scalar => Scalar(scalar)!,
        _ => throw new InvalidOperationException($"unsupported YAML node {node.NodeType}"),
    };

    private static JsonNode? ToJsonOrNull(YamlNode node) => node is YamlScalarNode scalar ? Scalar(scalar) : ToJson(node);

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }

        return value switch
        {
            "null" or "~" or "" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
            _ => JsonValue.Create(value),
        };
    }
}

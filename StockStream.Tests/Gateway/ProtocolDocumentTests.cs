using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StockStream.Gateway.Protocol;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>docs/protocol.md, docs/asyncapi.yaml and the server's code tables list the same frames, codes and reasons.</summary>
public sealed partial class ProtocolDocumentTests
{
    private static readonly string Prose = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "protocol.md"));

    [Fact]
    public void Every_server_frame_type_is_in_both_documents()
    {
        var table = Section("## Server → client", "### welcome");
        var prose = FrameRow().Matches(table).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.Equal(prose.Order(), ProtocolSchema.ServerFrameTypes.Order());
        foreach (var type in prose)
        {
            Assert.True(ProtocolSchema.AsyncApi["components"]!["messages"]![type] is not null, $"asyncapi.yaml has no message '{type}'");
        }
    }

    [Fact]
    public void Client_requests_are_in_both_documents()
    {
        var schemas = ProtocolSchema.Schemas.Where(s => s.Name.StartsWith("Client", StringComparison.Ordinal))
            .Select(s => s.Schema!["properties"]!["type"]!["const"]!.GetValue<string>()).Order().ToList();
        var examples = ClientExample().Matches(Section("## Client → server", "### Resume and history")).Select(m => m.Groups[1].Value).Distinct().Order().ToList();

        Assert.Equal(["auth", "ping", "subscribe", "unsubscribe"], schemas);
        Assert.Equal(schemas, examples);
    }

    [Fact]
    public void Error_codes_and_reasons_match_the_server_and_the_schema()
    {
        var prose = CodeRows(Section("### error", "### authenticated"));
        var server = ErrorCodes.All.ToDictionary(c => c, ErrorCodes.Reason);
        var schema = ProtocolSchema.AsyncApi["components"]!["schemas"]!["ServerError"]!["properties"]!;

        Assert.Equal(server.OrderBy(p => p.Key), prose.OrderBy(p => p.Key));
        Assert.Equal(server.Keys.Select(k => (long)k).Order(), Enum<long>(schema["code"]!).Order());
        Assert.Equal(server.Values.Order(), Enum<string>(schema["reason"]!).Order());
    }

    [Fact]
    public void Close_codes_and_reasons_match_the_server_and_the_schema()
    {
        var prose = CodeRows(Section("### closing", "## Client → server"));
        var server = CloseCodes.All.ToDictionary(c => c, CloseCodes.Reason);
        var schema = ProtocolSchema.AsyncApi["components"]!["schemas"]!["ServerClosing"]!["properties"]!;

        Assert.Equal(server.OrderBy(p => p.Key), prose.OrderBy(p => p.Key));
        Assert.Equal(server.Keys.Select(k => (long)k).Order(), Enum<long>(schema["code"]!).Order());
        Assert.Equal(server.Values.Order(), Enum<string>(schema["reason"]!).Order());
        Assert.Empty(ErrorCodes.All.Intersect(CloseCodes.All));
    }

    [Fact]
    public void Every_reset_reason_is_listed_in_both_documents()
    {
        var prose = ReasonRow().Matches(Section("### reset", "### status")).Select(m => m.Groups[1].Value).Order().ToList();
        var schema = Enum<string>(ProtocolSchema.AsyncApi["components"]!["schemas"]!["ServerReset"]!["properties"]!["reason"]!).Order().ToList();

        Assert.Equal(ResetReasons.All.Order(), prose);
        Assert.Equal(ResetReasons.All.Order(), schema);
    }

    [Fact]
    public void Every_reference_in_the_asyncapi_document_resolves_and_every_message_has_a_schema()
    {
        var document = ProtocolSchema.AsyncApi;
        var references = new List<string>();
        Collect(document, references);

        Assert.NotEmpty(references);
        foreach (var reference in references)
        {
            Assert.StartsWith("#/", reference, StringComparison.Ordinal);
            JsonNode? node = document;
            foreach (var segment in reference[2..].Split('/'))
            {
                node = node?[segment];
            }

            Assert.True(node is not null, $"asyncapi.yaml: {reference} does not resolve");
        }

        Assert.Equal("3.0.0", document["asyncapi"]!.GetValue<string>());
        foreach (var (name, message) in document["components"]!["messages"]!.AsObject())
        {
            Assert.True(message!["payload"]?["$ref"] is not null, $"message {name} has no payload schema");
        }
    }

    private static void Collect(JsonNode? node, List<string> references)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "$ref")
                    {
                        references.Add(value!.GetValue<string>());
                    }
                    else
                    {
                        Collect(value, references);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Collect(item, references);
                }

                break;
        }
    }

    [Fact]
    public void Protocol_document_has_a_changelog_for_v1_1()
    {
        Assert.Contains("## Changes in v1.1", Prose, StringComparison.Ordinal);
        Assert.Equal("1.1.0", ProtocolSchema.AsyncApi["info"]!["version"]!.GetValue<string>());
    }

    private static string Section(string start, string end)
    {
        var from = Prose.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"docs/protocol.md has no '{start}'");
        var to = Prose.IndexOf(end, from + start.Length, StringComparison.Ordinal);
        Assert.True(to > from, $"docs/protocol.md has no '{end}' after '{start}'");
        return Prose[from..to];
    }

    private static Dictionary<int, string> CodeRows(string section) =>
        CodeRow().Matches(section).ToDictionary(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), m => m.Groups[2].Value);

    private static IEnumerable<T> Enum<T>(JsonNode node) => node["enum"]!.AsArray().Select(v => v!.GetValue<T>());

    [GeneratedRegex(@"^\| `(\w+)` \| ", RegexOptions.Multiline)]
    private static partial Regex FrameRow();

    [GeneratedRegex(@"^\| (\d{4}) \| `(\w+)` \|", RegexOptions.Multiline)]
    private static partial Regex CodeRow();

    [GeneratedRegex(@"^\| `(\w+)` \| ", RegexOptions.Multiline)]
    private static partial Regex ReasonRow();

    [GeneratedRegex(@"^\{""type"":""(\w+)""", RegexOptions.Multiline)]
    private static partial Regex ClientExample();
}

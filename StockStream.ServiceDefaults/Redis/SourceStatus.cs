using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.Extensions.Hosting;

/// <summary>Health of one upstream as the ingestor sees it; clients use it to show staleness honestly.</summary>
public sealed record SourceStatus(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("last_success")] long? LastSuccess,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("updated_at")] long UpdatedAt)
{
    public const string Ok = "ok";
    public const string Degraded = "degraded";
    public const string Down = "down";

    public string ToJson() => JsonSerializer.Serialize(this, SourceStatusJsonContext.Default.SourceStatus);

    public static SourceStatus? FromJson(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, SourceStatusJsonContext.Default.SourceStatus);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSerializable(typeof(SourceStatus))]
internal sealed partial class SourceStatusJsonContext : JsonSerializerContext;

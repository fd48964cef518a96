using System.Text.Json;
using System.Text.Json.Serialization;

namespace StockStream.Gateway.Protocol;

/// <summary>Any client → server frame; which fields matter depends on <see cref="Type"/>.</summary>
public sealed class ClientRequest
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("id")]
    public long? Id { get; set; }

    [JsonPropertyName("symbols")]
    public List<string>? Symbols { get; set; }

    [JsonPropertyName("resume")]
    public ResumeRequest? Resume { get; set; }

    /// <summary>A fresh JWT for <c>auth</c> (in-band refresh on a long-lived connection).</summary>
    [JsonPropertyName("token")]
    public string? Token { get; set; }

    /// <summary>Parses one text frame; null with a message when it is not a JSON object of the expected shape.</summary>
    public static ClientRequest? TryParse(ReadOnlySpan<byte> utf8, out string? error)
    {
        try
        {
            var request = JsonSerializer.Deserialize(utf8, ClientRequestJsonContext.Default.ClientRequest);
            if (request is null)
            {
                error = "Expected a JSON object.";
                return null;
            }

            error = null;
            return request;
        }
        catch (JsonException ex)
        {
            error = "Malformed JSON: " + ex.Message.Split('.')[0] + ".";
            return null;
        }
    }
}

public sealed class ResumeRequest
{
    [JsonPropertyName("epoch")]
    public string? Epoch { get; set; }

    [JsonPropertyName("positions")]
    public Dictionary<string, long>? Positions { get; set; }
}

[JsonSourceGenerationOptions(AllowDuplicateProperties = false, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ClientRequest))]
internal sealed partial class ClientRequestJsonContext : JsonSerializerContext;

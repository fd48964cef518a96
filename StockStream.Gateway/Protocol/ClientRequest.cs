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

    /// <summary>
    /// The top-level integer <c>id</c> of a frame that could not be handled (wrongly typed field, rate limited), so
    /// even that answer echoes it; null when there is none or the JSON breaks before it.
    /// </summary>
    public static long? TryReadId(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (isId)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var id) ? id : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Broken JSON after the fields we could read: no id found before the break.
        }

        return null;
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

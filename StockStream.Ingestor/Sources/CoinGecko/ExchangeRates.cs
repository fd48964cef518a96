using System.Text.Json;

namespace StockStream.Ingestor.Sources.CoinGecko;

/// <summary>
/// One entry of <c>/api/v3/exchange_rates</c>: how many units of <see cref="Code"/> equal 1 BTC.
/// <see cref="Problem"/> says why <see cref="Value"/> is unusable (null, missing, not a number); null when it parsed.
/// </summary>
public readonly record struct ExchangeRate(string Code, string? Type, decimal Value, string? Problem);

/// <summary>Every entry of one response, keyed by lower-case currency code.</summary>
public sealed class ExchangeRates(Dictionary<string, ExchangeRate> entries)
{
    public IReadOnlyDictionary<string, ExchangeRate> Entries => entries;

    public bool TryGet(string code, out ExchangeRate rate) => entries.TryGetValue(code, out rate);
}

/// <summary>
/// Reads the response with <see cref="Utf8JsonReader"/>: a broken document fails as a whole, while a bad
/// value inside one entry only marks that entry, so the rest of the response stays usable.
/// </summary>
public static class ExchangeRatesParser
{
    public const string Null = "null";
    public const string Missing = "missing";
    public const string NotANumber = "not_a_number";
    public const string OutOfRange = "out_of_range";

    public static bool TryParse(ReadOnlySpan<byte> json, out ExchangeRates? rates, out string? error)
    {
        rates = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "not a JSON object";
                return false;
            }

            Dictionary<string, ExchangeRate>? entries = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isRates = reader.ValueTextEquals("rates"u8);
                reader.Read();
                if (isRates && reader.TokenType == JsonTokenType.StartObject)
                {
                    entries = ReadRates(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "unexpected content after the document";
                return false;
            }

            if (entries is null)
            {
                error = "no rates object";
                return false;
            }

            rates = new ExchangeRates(entries);
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            error = $"invalid JSON at byte {ex.BytePositionInLine ?? 0} of line {(ex.LineNumber ?? 0) + 1}";
            return false;
        }
    }

    private static Dictionary<string, ExchangeRate> ReadRates(ref Utf8JsonReader reader)
    {
        var entries = new Dictionary<string, ExchangeRate>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var code = reader.GetString()!.ToLowerInvariant();
            reader.Read();
            entries[code] = reader.TokenType == JsonTokenType.StartObject
                ? ReadEntry(ref reader, code)
                : Skipped(ref reader, code);
        }

        return entries;
    }

    private static ExchangeRate Skipped(ref Utf8JsonReader reader, string code)
    {
        reader.Skip();
        return new ExchangeRate(code, null, 0, NotANumber);
    }

    private static ExchangeRate ReadEntry(ref Utf8JsonReader reader, string code)
    {
        string? type = null;
        decimal value = 0;
        string? problem = Missing;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("value"u8))
            {
                reader.Read();
                (value, problem) = ReadValue(ref reader);
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return new ExchangeRate(code, type, value, problem);
    }

    private static (decimal Value, string? Problem) ReadValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return reader.TryGetDecimal(out var value) ? (value, null) : (0, OutOfRange);
            case JsonTokenType.Null:
                return (0, Null);
            default:
                // Strings ("NaN", "Infinity", "1.5"), booleans, objects: CoinGecko sends numbers, so anything else is suspect.
                reader.Skip();
                return (0, NotANumber);
        }
    }
}

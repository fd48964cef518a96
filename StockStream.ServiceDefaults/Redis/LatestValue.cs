using System.Globalization;

namespace Microsoft.Extensions.Hosting;

/// <summary>One instrument value as stored in Redis (stream entry or latest hash).</summary>
public readonly record struct LatestValue(string Symbol, long Seq, string Price, string Open, long Timestamp, string Kind, string Source)
{
    public string Format() => string.Join(';', Seq.ToString(CultureInfo.InvariantCulture), Price, Open, Timestamp.ToString(CultureInfo.InvariantCulture), Kind, Source);

    public static bool TryParse(string symbol, string? text, out LatestValue value)
    {
        value = default;
        if (text is null)
        {
            return false;
        }

        var parts = text.Split(';');
        if (parts.Length != 6
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var ts))
        {
            return false;
        }

        value = new LatestValue(symbol, seq, parts[1], parts[2], ts, parts[4], parts[5]);
        return true;
    }
}

using System.Globalization;

namespace StockStream.LoadGen;

/// <summary>One scrape of a gateway's Prometheus <c>/metrics</c>: series name (with labels) → value.</summary>
public sealed class GatewayMetricsScrape
{
    private readonly Dictionary<string, double> _series = new(StringComparer.Ordinal);

    public static readonly GatewayMetricsScrape Empty = new();

    public static async Task<GatewayMetricsScrape> ReadAsync(HttpClient http, Uri? metrics)
    {
        var scrape = new GatewayMetricsScrape();
        if (metrics is null)
        {
            return scrape;
        }

        try
        {
            var text = await http.GetStringAsync(metrics).ConfigureAwait(false);
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                // name{labels} value [timestamp]
                var end = line.IndexOf('}', StringComparison.Ordinal);
                var space = line.IndexOf(' ', end < 0 ? 0 : end);
                if (space <= 0)
                {
                    continue;
                }

                var rest = line[(space + 1)..].Split(' ')[0];
                if (double.TryParse(rest, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    scrape._series[line[..space]] = value;
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"metrics scrape of {metrics} failed: {ex.Message}");
        }

        return scrape;
    }

    /// <summary>Sum of every series of a metric (over all label sets).</summary>
    public double Sum(string name)
    {
        double sum = 0;
        foreach (var (key, value) in _series)
        {
            if (key == name || (key.StartsWith(name, StringComparison.Ordinal) && key.Length > name.Length && key[name.Length] == '{'))
            {
                sum += value;
            }
        }

        return sum;
    }

    /// <summary>Sum of every series whose name starts with <paramref name="prefix"/> (unit suffixes vary by exporter version).</summary>
    public double SumPrefix(string prefix) => _series.Where(s => s.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(s => s.Value);

    /// <summary>Cumulative histogram buckets (upper bound → count) of a metric.</summary>
    public SortedDictionary<double, double> Buckets(string name)
    {
        var buckets = new SortedDictionary<double, double>();
        var prefix = name + "_bucket{";
        foreach (var (key, value) in _series)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var le = key.IndexOf("le=\"", StringComparison.Ordinal);
            if (le < 0)
            {
                continue;
            }

            var text = key[(le + 4)..key.IndexOf('"', le + 4)];
            var bound = text == "+Inf" ? double.PositiveInfinity : double.Parse(text, CultureInfo.InvariantCulture);
            buckets[bound] = buckets.GetValueOrDefault(bound) + value;
        }

        return buckets;
    }

    /// <summary>Quantile of the increase of a cumulative histogram between two scrapes (linear within a bucket).</summary>
    public static double? Quantile(SortedDictionary<double, double> before, SortedDictionary<double, double> after, double q)
    {
        var deltas = after.Select(b => (Bound: b.Key, Count: b.Value - before.GetValueOrDefault(b.Key))).ToList();
        if (deltas.Count == 0)
        {
            return null;
        }

        var total = deltas[^1].Count;
        if (total <= 0)
        {
            return null;
        }

        var rank = q * total;
        double lower = 0, previous = 0;
        foreach (var (bound, count) in deltas)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(bound))
                {
                    return lower;
                }

                var within = count - previous;
                return within <= 0 ? bound : lower + ((bound - lower) * (rank - previous) / within);
            }

            lower = bound;
            previous = count;
        }

        return lower;
    }
}

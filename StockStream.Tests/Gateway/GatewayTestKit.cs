using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using StockStream.AppHost;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>Small helpers shared by the gateway tests: metrics scrapes, hand-made tokens, sequence checks.</summary>
public static class GatewayTestKit
{
    /// <summary>Instruments that move on nearly every tick even at the shared fixture's slow GBM speed.</summary>
    public static readonly string[] Busy = ["TSLA", "NVDA", "META", "AMD", "AVGO"];

    /// <summary>Every frame type docs/protocol.md lists (plus <c>authenticated</c>, the in-band refresh ack).</summary>
    public static readonly HashSet<string> ServerTypes =
        ["welcome", "subscribed", "unsubscribed", "snapshot", "update", "reset", "status", "heartbeat", "pong", "error", "closing", "authenticated"];

    public static readonly HashSet<int> ErrorCodes = [4000, 4003, 4004, 4009, 4010, 4013, 4015, 4029];

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Sum of every series of a Prometheus metric on one replica's /metrics (0 when it has no series yet).</summary>
    public static async Task<double> ScrapeAsync(StockStreamSystem system, string replica, string metric)
    {
        var text = await Http.GetStringAsync(new Uri(system.Endpoint(replica), "/metrics"));
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(metric, StringComparison.Ordinal) || line.Length <= metric.Length || line[metric.Length] is not ('{' or ' '))
            {
                continue;
            }

            var rest = line[metric.Length] == '{' ? line[(line.LastIndexOf('}') + 1)..] : line[metric.Length..];
            sum += double.Parse(rest.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }

        return sum;
    }

    /// <summary>An unsigned JWT (<c>alg: none</c>) with otherwise valid claims, built by hand.</summary>
    public static string UnsignedToken(string subject = "mallory")
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = """{"alg":"none","typ":"JWT"}""";
        var payload = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["sub"] = subject,
            ["scope"] = Microsoft.Extensions.Hosting.DevelopmentTokens.ReadScope,
            ["iss"] = Microsoft.Extensions.Hosting.DevelopmentTokens.DefaultIssuer,
            ["aud"] = Microsoft.Extensions.Hosting.DevelopmentTokens.DefaultAudience,
            ["iat"] = now,
            ["nbf"] = now - 5,
            ["exp"] = now + 3600,
        });
        return Base64Url(header) + "." + Base64Url(payload) + ".";
    }

    public static string Base64Url(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The sequence numbers of a symbol's market data frames, in arrival order.</summary>
    public static List<long> Seqs(IEnumerable<JsonElement> frames, string symbol) =>
        [.. frames.Where(f => f.IsMarketData(symbol)).Select(f => f.Seq())];

    /// <summary>Asserts the seqs increase by exactly one from <paramref name="first"/> (when given) on.</summary>
    public static void AssertContiguous(IReadOnlyList<long> seqs, string context, long? first = null)
    {
        Assert.True(seqs.Count > 0, $"{context}: no market data at all");
        if (first is { } expected)
        {
            Assert.True(seqs[0] == expected, $"{context}: first seq {seqs[0]}, expected {expected}");
        }

        for (var i = 1; i < seqs.Count; i++)
        {
            Assert.True(seqs[i] == seqs[i - 1] + 1,
                $"{context}: seq {seqs[i - 1]} followed by {seqs[i]} (" + (seqs[i] <= seqs[i - 1] ? "duplicate/out of order" : "gap") + $") at index {i}: [{string.Join(',', seqs.Skip(Math.Max(0, i - 5)).Take(10))}]");
        }
    }

    /// <summary>The last frame before the connection ended must be <c>closing</c> with the close code.</summary>
    public static void AssertClosingFrame(TestClient client, int code, string reason)
    {
        var context = $"close status {(int?)client.CloseStatus} '{client.CloseDescription}', {client.All.Count} frames, last:\n{Last(client)}";
        var closing = client.All.LastOrDefault(f => f.Type() == "closing");
        Assert.True(closing.ValueKind == JsonValueKind.Object, $"no closing frame before the close; {context}");
        Assert.True(closing.GetProperty("code").GetInt32() == code, $"closing frame with another code; {context}");
        Assert.Equal(reason, closing.GetProperty("reason").GetString());
        Assert.True(client.All[^1].Type() == "closing", $"frames after the closing frame; {context}");
        Assert.True((int?)client.CloseStatus == code, $"expected close {code}; {context}");
    }

    public static string Last(TestClient client, int count = 5) => string.Join("\n", client.All.TakeLast(count).Select(f => f.GetRawText()));

    /// <summary>Error frames with the given code seen so far.</summary>
    public static List<JsonElement> Errors(TestClient client, int code) =>
        [.. client.All.Where(f => f.Type() == "error" && f.GetProperty("code").GetInt32() == code)];

    /// <summary>Sends a frame that may race the server closing the socket; a failed send is not the test's concern.</summary>
    public static async Task TrySendAsync(TestClient client, byte[] payload, WebSocketMessageType type = WebSocketMessageType.Text)
    {
        try
        {
            await client.SendRawAsync(payload, type);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The server already closed; the test checks how.
        }
    }

    /// <summary>Waits until the server has published past <paramref name="target"/> for every symbol, seen by a watcher client.</summary>
    public static async Task WaitPublishedPastAsync(TestClient watcher, IReadOnlyDictionary<string, long> target, TimeSpan timeout)
    {
        foreach (var (symbol, seq) in target)
        {
            await watcher.WaitForAsync(f => f.IsMarketData(symbol) && f.Seq() > seq, timeout, $"{symbol} published past {seq}");
        }
    }
}

#:property PublishAot=false
// (A plain JIT run: no native-AOT compiler package to restore on the CI runner.)
// Smoke test of a deployed gateway over a real WebSocket, the way a client uses it: connect with a token,
// subscribe, and wait for a live `update` of a subscribed symbol (docs/protocol.md). Exit code 0 when one
// arrives in time, 1 otherwise, with the reason on stderr. A .NET 10 file-based app (no project, no packages):
//   STOCKSTREAM_SMOKE_TOKEN=<jwt> dotnet run .github/scripts/WebSocketSmoke.cs -- wss://<host>/ws [seconds] [symbols]
// The token comes from the environment so it never shows in a process list or a CI log.
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;

if (args.Length < 1 || !Uri.TryCreate(args[0], UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("ws" or "wss"))
{
    Console.Error.WriteLine("usage: WebSocketSmoke <ws[s]://host/ws> [timeout-seconds=60] [symbols=AAPL,MSFT,NVDA,TSLA]");
    return 2;
}

var token = Environment.GetEnvironmentVariable("STOCKSTREAM_SMOKE_TOKEN");
if (string.IsNullOrWhiteSpace(token))
{
    Console.Error.WriteLine("STOCKSTREAM_SMOKE_TOKEN is not set (a JWT the gateway accepts; deploy/scripts/mint-token.sh makes one).");
    return 2;
}

var timeout = TimeSpan.FromSeconds(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60);
var symbols = (args.Length > 2 ? args[2] : "AAPL,MSFT,NVDA,TSLA").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

using var deadline = new CancellationTokenSource(timeout);
using var socket = new ClientWebSocket();
socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
socket.Options.CollectHttpResponseDetails = true;
var stage = "connect";
try
{
    await socket.ConnectAsync(endpoint, deadline.Token);
    stage = "subscribe";
    await socket.SendAsync(SubscribeFrame(symbols), WebSocketMessageType.Text, endOfMessage: true, deadline.Token);

    var subscribed = false;
    var buffer = new byte[64 * 1024];
    using var message = new MemoryStream();
    while (true)
    {
        stage = subscribed ? "wait for an update" : "wait for the subscription ack";
        message.SetLength(0);
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, deadline.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                Console.Error.WriteLine($"FAIL: the server closed the connection ({(int?)result.CloseStatus} {result.CloseStatusDescription}) during: {stage}");
                return 1;
            }

            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        using var frame = JsonDocument.Parse(message.ToArray());
        var type = frame.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "error":
                Console.Error.WriteLine($"FAIL: error frame during {stage}: {frame.RootElement.GetRawText()}");
                return 1;
            case "subscribed" when frame.RootElement.TryGetProperty("id", out var id) && id.GetInt64() == 1:
                subscribed = true;
                break;
            case "update" when subscribed:
                var symbol = frame.RootElement.GetProperty("symbol").GetString();
                Console.WriteLine($"OK: live update for {symbol} (seq {frame.RootElement.GetProperty("seq").GetRawText()}) from {endpoint.Host}");
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "smoke test done", CancellationToken.None);
                return 0;
        }
    }
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine($"FAIL: timed out after {timeout.TotalSeconds:F0} s during: {stage}");
    return 1;
}
catch (WebSocketException ex)
{
    Console.Error.WriteLine($"FAIL: {stage}: {ex.Message} (HTTP {(int)socket.HttpStatusCode})");
    return 1;
}

// {"type":"subscribe","id":1,"symbols":[...]} written by hand: file-based apps are trimmed, so no reflection-based serializer.
static byte[] SubscribeFrame(string[] symbols)
{
    using var buffer = new MemoryStream();
    using (var json = new Utf8JsonWriter(buffer))
    {
        json.WriteStartObject();
        json.WriteString("type", "subscribe");
        json.WriteNumber("id", 1);
        json.WriteStartArray("symbols");
        foreach (var symbol in symbols)
        {
            json.WriteStringValue(symbol);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    return buffer.ToArray();
}

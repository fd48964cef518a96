using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using StockStream.AppHost;
using StockStream.Tests.Infrastructure;
using static StockStream.Tests.Gateway.GatewayTestKit;

namespace StockStream.Tests.Gateway;

/// <summary>A client that stops reading is cut off with 4008 and costs the others nothing (tuned system: 1000 updates/s).</summary>
[Collection(TunedSystemCollection.Name)]
public sealed class SlowClientTests(TunedSystemFixture fixture)
{
    private const string SlowDisconnects = "stockstream_gateway_slow_client_disconnects_total";
    private static readonly string[] FastSymbols = ["AAPL", "MSFT", "NVDA"];

    private StockStreamSystem System => fixture.System;

    [Fact]
    public async Task Client_that_stops_reading_is_closed_with_4008_while_a_fast_client_on_the_same_replica_misses_nothing()
    {
        var replica = TunedSystemFixture.Replica;
        var endpoint = System.GatewayWebSocket(replica);
        var token = System.CreateToken();
        var before = await ScrapeAsync(System, replica, SlowDisconnects);

        await using var fast = await TestClient.ConnectAsync(endpoint, token);
        var instruments = (await fast.WaitForTypeAsync("welcome")).GetProperty("instruments").EnumerateArray().Select(e => e.GetString()!).ToArray();
        await fast.SubscribeAsync(1, FastSymbols);
        await fast.WaitForTypeAsync("subscribed");

        // Subscribes to as much as it may, then never calls ReceiveAsync. Its socket behaves like one on a real
        // network (see ConnectLikeARealNetworkAsync) so the kernel does not absorb megabytes before the gateway notices.
        using var slow = new ClientWebSocket();
        slow.Options.SetBuffer(1024, 1024);
        slow.Options.SetRequestHeader("Authorization", "Bearer " + token);
        using var handler = new SocketsHttpHandler { ConnectCallback = ConnectLikeARealNetworkAsync };
        using var invoker = new HttpMessageInvoker(handler);
        using (var connectTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            await slow.ConnectAsync(endpoint, invoker, connectTimeout.Token);
        }

        var everything = JsonSerializer.SerializeToUtf8Bytes(new { type = "subscribe", id = 1, symbols = instruments.Take(TunedSystemFixture.MaxSubscriptions) });
        await slow.SendAsync(everything, WebSocketMessageType.Text, true, CancellationToken.None);

        await Eventually.TrueAsync(async () => await ScrapeAsync(System, replica, SlowDisconnects) > before, TimeSpan.FromSeconds(90),
            $"{replica} cuts the slow client off and counts it in {SlowDisconnects}");

        // Read what the server managed to send: it ends with the closing frame, then the 4008 close.
        var (tail, closeStatus) = await DrainAsync(slow, TimeSpan.FromSeconds(20));
        var closing = JsonDocument.Parse(tail).RootElement;
        Assert.Equal("closing", closing.Type());
        Assert.Equal(4008, closing.GetProperty("code").GetInt32());
        Assert.Equal("slow_consumer", closing.GetProperty("reason").GetString());
        Assert.Equal((WebSocketCloseStatus)4008, closeStatus);
        Assert.Contains("closing with 4008", await System.RecentOutputAsync(replica), StringComparison.Ordinal);

        // The fast client kept every update before, during and after, and is still connected.
        var seen = FastSymbols.ToDictionary(s => s, s => Seqs(fast.All, s).Count);
        foreach (var symbol in FastSymbols)
        {
            await fast.WaitForAsync(_ => Seqs(fast.All, symbol).Count > seen[symbol] + 10, TimeSpan.FromSeconds(20), $"more {symbol} after the cut-off");
            var seqs = Seqs(fast.All, symbol);
            AssertContiguous(seqs, $"fast client, {symbol}");
            Assert.True(seqs.Count > 50, $"fast client saw only {seqs.Count} {symbol} frames");
        }

        Assert.Equal(WebSocketState.Open, fast.State);
    }

    /// <summary>
    /// Loopback's 64 KB segments make Linux size the gateway's send buffer in megabytes (it scales with the MSS),
    /// which a stalled client would take a minute to fill at test rates. A real network's MSS and a modest receive
    /// buffer keep both ends' buffers to what a stalled client on the internet would leave.
    /// </summary>
    private static async ValueTask<Stream> ConnectLikeARealNetworkAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        const int IpProtoTcp = 6;
        const int TcpMaxSeg = 2;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 32 * 1024 };
        try
        {
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(IpProtoTcp, TcpMaxSeg, BitConverter.GetBytes(1460));
            }

            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads everything buffered; returns the last text message and the close status.</summary>
    private static async Task<(string Last, WebSocketCloseStatus? Status)> DrainAsync(ClientWebSocket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        var last = "";
        var messages = 0;
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cts.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (last, socket.CloseStatus);
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    last = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                    message.SetLength(0);
                    messages++;
                }
            }
        }
        catch (WebSocketException ex)
        {
            throw new InvalidOperationException($"The slow client's connection broke ({ex.WebSocketErrorCode}) after {messages} messages instead of closing with 4008; last: {last}", ex);
        }
    }
}

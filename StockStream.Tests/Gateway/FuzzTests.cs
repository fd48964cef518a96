using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using StockStream.AppHost;
using StockStream.Tests.Infrastructure;
using Xunit.Abstractions;
using static StockStream.Tests.Gateway.GatewayTestKit;

namespace StockStream.Tests.Gateway;

/// <summary>
/// Thousands of random and malformed frames from several clients at a bounded rate, with a fixed seed: the gateway
/// never crashes, answers only with well-formed frames of known types, and keeps serving a well-behaved client.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class FuzzTests(SystemFixture fixture, ITestOutputHelper output)
{
    private const int Seed = 20_251_122;
    private const int Clients = 12;
    private const string Replica = "gateway-1";
    /// <summary>The fuzz ends after this many frames (≈ 12 s at the pace below on a quiet machine), not after a fixed time:
    /// a loaded CI machine sends fewer frames a second, and the test is about the frames, not the clock.</summary>
    private const int TargetFrames = 2400;

    /// <summary>Only a bound against a hang; reaching it is a failure with its own message.</summary>
    private static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(120);

    /// <summary>18 frames/s per client: under the 20/s limit, so most frames reach the parser rather than the rate limiter.</summary>
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(55);

    /// <summary>Close codes a fuzzing client may legitimately get: invalid UTF-8 (1007, from the WebSocket layer), flood, too big.</summary>
    private static readonly HashSet<int> AllowedCloses = [1007, 1008, 1009];

    private StockStreamSystem System => fixture.System;

    [Fact]
    public async Task Random_and_malformed_frames_never_crash_the_gateway_and_get_only_well_formed_replies()
    {
        var instance = System.Replica(Replica);
        var restarts = instance.Restarts;
        var pid = instance.ProcessId;
        Assert.True(instance.IsRunning, $"{Replica} is {instance.State}");

        await using var observer = await TestClient.ConnectAsync(System.GatewayWebSocket(Replica), System.CreateToken());
        await observer.SubscribeAsync(1, Busy);
        foreach (var symbol in Busy)
        {
            await observer.WaitForAsync(_ => Seqs(observer.All, symbol).Count >= 2, TimeSpan.FromSeconds(30), $"{symbol} flowing before the fuzz");
        }

        var before = Busy.ToDictionary(s => s, s => Seqs(observer.All, s).Count);
        var report = new FuzzReport();
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(i => FuzzClientAsync(new Random(Seed + i), report)));
        stopwatch.Stop();
        output.WriteLine($"{report.Sent} frames in {stopwatch.Elapsed.TotalSeconds:F1} s; replies: " +
            string.Join(", ", report.Replies.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}")) +
            "; closes: " + string.Join(", ", report.Closes.OrderBy(c => c.Key).Select(c => $"{c.Key} x{c.Value}")) +
            $"; failed for invalid UTF-8 (RFC 6455 8.1): {report.FailedByRfc}");

        if (!report.Violations.IsEmpty)
        {
            // The gateway's side of the story (warnings, errors) says whether it aborted or the client gave up.
            var log = await System.RecentOutputAsync(Replica);
            Assert.Fail($"{report.Violations.Count} protocol violations, e.g.:\n" + string.Join("\n", report.Violations.Take(10))
                + $"\n{Replica} output (tail):\n" + log[Math.Max(0, log.Length - 4000)..]);
        }

        Assert.True(report.Sent >= TargetFrames, $"only {report.Sent} frames sent in {stopwatch.Elapsed.TotalSeconds:F0} s");
        Assert.True(report.Replies.TryGetValue("error", out var errors) && errors > 500, $"too few error replies: {errors}");

        // The well-behaved client on the same replica was served throughout and still is.
        foreach (var symbol in Busy)
        {
            await observer.WaitForAsync(_ => Seqs(observer.All, symbol).Count > before[symbol] + 3, TimeSpan.FromSeconds(20), $"{symbol} still flowing after the fuzz");
            AssertContiguous(Seqs(observer.All, symbol), $"observer {symbol} during the fuzz");
        }

        var during = Busy.Sum(s => Seqs(observer.All, s).Count - before[s]);
        Assert.True(during >= stopwatch.Elapsed.TotalSeconds * 2, $"observer got only {during} updates during {stopwatch.Elapsed.TotalSeconds:F0} s of fuzzing");
        Assert.Equal(WebSocketState.Open, observer.State);

        var after = System.Replica(Replica);
        Assert.Equal(restarts, after.Restarts);
        Assert.Equal(pid, after.ProcessId);
        Assert.True(after.IsRunning, $"{Replica} is {after.State}");
        Assert.DoesNotContain("unhandled exception", await System.RecentOutputAsync(Replica), StringComparison.OrdinalIgnoreCase);
    }

    private async Task FuzzClientAsync(Random random, FuzzReport report)
    {
        var deadline = DateTime.UtcNow + MaxDuration;
        bool Fuzzing() => DateTime.UtcNow < deadline && Volatile.Read(ref report.Sent) < TargetFrames;
        using var timer = new PeriodicTimer(Pace);
        while (Fuzzing())
        {
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Bearer " + System.CreateToken(subject: "fuzzer"));
            using (var connect = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
            {
                await socket.ConnectAsync(System.GatewayWebSocket(Replica), connect.Token);
            }

            var sent = new Queue<string>();
            var failedByRfc = new StrongBox<bool>();
            var receiving = ReceiveAsync(socket, report, sent, failedByRfc);
            while (Fuzzing() && !receiving.IsCompleted)
            {
                await timer.WaitForNextTickAsync();
                var (payload, type, fragments) = FuzzFrames.Next(random);
                if (type == WebSocketMessageType.Text && !Utf8.IsValid(payload))
                {
                    // RFC 6455 8.1: invalid UTF-8 in a text frame makes the server fail the connection; it may send 1007
                    // first, but a reset may overtake it. That is the WebSocket layer's rule, not the gateway protocol.
                    failedByRfc.Value = true;
                }

                lock (sent)
                {
                    sent.Enqueue(FuzzFrames.Describe(payload, type, fragments));
                    if (sent.Count > 4)
                    {
                        sent.Dequeue();
                    }
                }

                try
                {
                    await SendAsync(socket, payload, type, fragments);
                    Interlocked.Increment(ref report.Sent);
                }
                catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
                {
                    // The server closed (too big, bad UTF-8, flood): the receive loop judges how.
                    break;
                }
            }

            if (socket.State == WebSocketState.Open)
            {
                // Generous bounds: cancelling a ClientWebSocket operation aborts the socket, which would look like a broken connection.
                using var close = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", close.Token);
                }
                catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
                {
                    // Closed meanwhile.
                }
            }

            await receiving.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static async Task SendAsync(ClientWebSocket socket, byte[] payload, WebSocketMessageType type, int fragments)
    {
        if (fragments <= 1 || payload.Length < fragments)
        {
            await socket.SendAsync(payload, type, true, CancellationToken.None);
            return;
        }

        var size = payload.Length / fragments;
        for (var i = 0; i < fragments; i++)
        {
            var end = i == fragments - 1 ? payload.Length : (i + 1) * size;
            await socket.SendAsync(payload.AsMemory(i * size, end - (i * size)), type, i == fragments - 1, CancellationToken.None);
        }
    }

    /// <summary>Validates every server frame until the connection ends; a break without a close frame is a violation.</summary>
    private static async Task ReceiveAsync(ClientWebSocket socket, FuzzReport report, Queue<string> sent, StrongBox<bool> failedByRfc)
    {
        string LastSent()
        {
            lock (sent)
            {
                return " after sending:\n  " + string.Join("\n  ", sent);
            }
        }

        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        var opened = Stopwatch.StartNew();
        var lastReply = "none";
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var code = (int?)socket.CloseStatus ?? 0;
                    report.Closes.AddOrUpdate(code, 1, (_, n) => n + 1);
                    if (code != 1000 && !AllowedCloses.Contains(code))
                    {
                        report.Violations.Add($"closed with unexpected code {code} ({socket.CloseStatusDescription})" + LastSent());
                    }

                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return;
                }

                if (result.MessageType != WebSocketMessageType.Text)
                {
                    report.Violations.Add("server sent a binary frame");
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    var reply = message.ToArray();
                    Validate(reply, report);
                    lastReply = $"{Encoding.UTF8.GetString(reply.AsSpan(0, Math.Min(reply.Length, 80)))} at {opened.Elapsed.TotalSeconds:F1} s";
                    message.SetLength(0);
                }
            }
        }
        catch (WebSocketException ex)
        {
            if (failedByRfc.Value)
            {
                Interlocked.Increment(ref report.FailedByRfc);
                return;
            }

            report.Violations.Add($"connection broke without a close frame after {opened.Elapsed.TotalSeconds:F1} s "
                + $"(last reply: {lastReply}; client state {socket.State}): {ex.WebSocketErrorCode} {ex.Message}" + LastSent());
        }
    }

    private static void Validate(byte[] utf8, FuzzReport report)
    {
        JsonElement frame;
        try
        {
            using var document = JsonDocument.Parse(utf8);
            frame = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            report.Violations.Add("reply is not JSON: " + Encoding.UTF8.GetString(utf8));
            return;
        }

        if (frame.ValueKind != JsonValueKind.Object || frame.Type() is not { } type || !ServerTypes.Contains(type))
        {
            report.Violations.Add("reply without a known type: " + frame.GetRawText());
            return;
        }

        report.Replies.AddOrUpdate(type, 1, (_, n) => n + 1);
        if (ProtocolSchema.Violation(frame) is { } violation)
        {
            report.Violations.Add(violation);
        }

        switch (type)
        {
            case "error" when !frame.TryGetProperty("code", out var code) || !ErrorCodes.Contains(code.GetInt32())
                                || frame.GetProperty("reason").GetString() is not { Length: > 0 }
                                || frame.GetProperty("message").GetString() is not { Length: > 0 }:
                report.Violations.Add("malformed error: " + frame.GetRawText());
                break;
            case "closing" when !AllowedCloses.Contains(frame.GetProperty("code").GetInt32()):
                report.Violations.Add("unexpected closing: " + frame.GetRawText());
                break;
            case "update" or "snapshot" when frame.GetProperty("seq").GetInt64() <= 0 || frame.GetProperty("price").ValueKind != JsonValueKind.String:
                report.Violations.Add("malformed market data: " + frame.GetRawText());
                break;
        }
    }

    private sealed class FuzzReport
    {
        public readonly ConcurrentBag<string> Violations = [];
        public readonly ConcurrentDictionary<string, int> Replies = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<int, int> Closes = new();
        public int Sent;
        public int FailedByRfc;
    }
}

/// <summary>The frame generator: one weighted choice of well-formed, malformed and hostile frames per call.</summary>
internal static class FuzzFrames
{
    private static readonly string[] Symbols = ["AAPL", "MSFT", "NVDA", "TSLA", "ZZZZ", "", " ", "aapl", "BRK.B", "BTC-*", "*", "A\"B", "ÄÖÜ", "😀", "\u0000", "\u202e", new string('X', 200)];
    private static readonly string[] Types = ["subscribe", "unsubscribe", "ping", "auth", "SUBSCRIBE", "", "welcome", "pong", "sub scribe", "\u0000", "ping\n", "🚀"];
    private static readonly string[] Positions = ["0", "1", "-5", "9223372036854775807", "-9223372036854775808", "42", "\"7\"", "null", "1.5"];
    private static readonly string[] Values = ["null", "true", "false", "0", "-1", "1.5", "1e400", "-0", "99999999999999999999999999", "9223372036854775808", "\"1\"", "\"\"", "[]", "{}", "[null]", "[1,2]", "\"\\ud800\"", "\"\\u0000\""];

    public static (byte[] Payload, WebSocketMessageType Type, int Fragments) Next(Random random)
    {
        var roll = random.Next(100);
        return roll switch
        {
            < 15 => Text(Valid(random)),
            < 25 => Text(RandomUnicode(random)),
            < 30 => Text(Truncate(random, Valid(random))),
            < 35 => Text(Nested(random)),
            < 45 => Text(WrongTypes(random)),
            < 52 => Text(Syntax(random)),
            < 58 => Text(UnicodeFields(random)),
            < 62 => (Array.Empty<byte>(), WebSocketMessageType.Text, 1),
            < 68 => (RandomBytes(random, random.Next(1, 300)), WebSocketMessageType.Binary, 1 + random.Next(3)),
            < 80 => (Encoding.UTF8.GetBytes(Valid(random)), WebSocketMessageType.Text, 2 + random.Next(6)),
            < 88 => Text(ValidWithNoise(random)),
            < 92 => Text(Resume(random)),
            < 94 => (RandomBytes(random, random.Next(1, 100)), WebSocketMessageType.Text, 1),
            < 96 => Text("{\"type\":\"ping\",\"pad\":\"" + new string('y', 4096 + random.Next(5000)) + "\"}"),
            _ => Text("{\"type\":\"ping\",\"pad\":\"" + new string('z', random.Next(3000, 4000)) + "\"}"),
        };
    }

    private static (byte[], WebSocketMessageType, int) Text(string json) => (Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, 1);

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];

    private static string Json(string value) => JsonSerializer.Serialize(value);

    private static string SymbolList(Random random) =>
        "[" + string.Join(',', Enumerable.Range(0, random.Next(0, 6)).Select(_ => Json(Pick(random, Symbols)))) + "]";

    private static string Valid(Random random) => random.Next(4) switch
    {
        0 => $$"""{"type":"subscribe","id":{{random.Next()}},"symbols":{{SymbolList(random)}}}""",
        1 => $$"""{"type":"unsubscribe","id":{{random.Next()}},"symbols":{{SymbolList(random)}}}""",
        2 => $$"""{"type":"ping","id":{{random.NextInt64(long.MinValue, long.MaxValue)}}}""",
        _ => $$"""{"type":{{Json(Pick(random, Types))}},"id":{{random.Next()}}}""",
    };

    private static string ValidWithNoise(Random random) =>
        Valid(random)[..^1] + $$$""","x{{{random.Next()}}}":{{{Pick(random, Values)}}},"nested":{"a":[1,{"b":null}]}}""";

    private static string Resume(Random random)
    {
        var positions = "{" + Json(Pick(random, Symbols)) + ":" + Pick(random, Positions) + "}";
        var epoch = Json(random.Next(2) == 0 ? "bogus" : "");
        return $$"""{"type":"subscribe","id":{{random.Next()}},"symbols":{{SymbolList(random)}},"resume":{"epoch":{{epoch}},"positions":""" + positions + "}}";
    }

    private static string WrongTypes(Random random) => random.Next(4) switch
    {
        0 => $$"""{"type":"subscribe","id":{{Pick(random, Values)}},"symbols":["AAPL"]}""",
        1 => $$"""{"type":"subscribe","id":1,"symbols":{{Pick(random, Values)}}}""",
        2 => $$"""{"type":{{Pick(random, Values)}},"id":1}""",
        _ => $$"""{"type":"subscribe","id":1,"symbols":["AAPL"],"resume":{{Pick(random, Values)}}}""",
    };

    private static string Syntax(Random random) => random.Next(8) switch
    {
        0 => """{"type":"ping",}""",
        1 => """{"type":"ping"} // comment""",
        2 => """{'type':'ping'}""",
        3 => """{"type":"ping","type":"subscribe"}""",
        4 => """{"type":"ping"}{"type":"ping"}""",
        5 => """{type:ping}""",
        6 => "{\"type\":\"ping\",\"id\":1" + new string(' ', random.Next(100)),
        _ => "\uFEFF{\"type\":\"ping\"}",
    };

    private static string UnicodeFields(Random random) =>
        $$"""{"type":{{Json(Pick(random, Types))}},"id":{{random.Next()}},"symbols":[{{Json(RandomUnicode(random))}}],"{{RandomUnicode(random).Replace("\"", "", StringComparison.Ordinal).Replace("\\", "", StringComparison.Ordinal)}}":1}""";

    private static string Truncate(Random random, string json) => json[..random.Next(json.Length)];

    private static string Nested(Random random)
    {
        var depth = random.Next(60, 1500);
        var open = random.Next(2) == 0 ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        var body = string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, random.Next(2) == 0 ? depth : depth / 2));
        var json = random.Next(2) == 0 ? body : $$"""{"type":"ping","id":1,"deep":{{body}}}""";
        return json.Length > 4000 ? json[..4000] : json;
    }

    private static string RandomUnicode(Random random)
    {
        var builder = new StringBuilder();
        var length = random.Next(0, 80);
        for (var i = 0; i < length; i++)
        {
            var kind = random.Next(10);
            if (kind < 5)
            {
                builder.Append((char)random.Next(0x20, 0x7F));
            }
            else if (kind < 7)
            {
                builder.Append((char)random.Next(0x00, 0x20));
            }
            else if (kind < 9)
            {
                var c = (char)random.Next(0x80, 0xD800);
                builder.Append(c);
            }
            else
            {
                builder.Append(char.ConvertFromUtf32(random.Next(0x1F300, 0x1FAFF)));
            }
        }

        return builder.ToString();
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A short description of a frame for failure messages.</summary>
    public static string Describe(byte[] payload, WebSocketMessageType type, int fragments) =>
        string.Create(CultureInfo.InvariantCulture, $"{type} x{fragments}, {payload.Length} bytes: {Encoding.UTF8.GetString(payload[..Math.Min(100, payload.Length)])}");
}

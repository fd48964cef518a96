using System.Net.WebSockets;
using System.Text;
using StockStream.Gateway.FanOut;

namespace StockStream.Tests.Gateway;

/// <summary>The gathering stream under the server's WebSocket: one socket write per corked batch, frames intact.</summary>
public sealed class CoalescingStreamTests
{
    [Fact]
    public async Task Uncorked_writes_pass_straight_through_with_their_flushes()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);
        await stream.WriteAsync("ab"u8.ToArray());
        await stream.FlushAsync();
        await stream.WriteAsync("cd"u8.ToArray());
        await stream.FlushAsync();

        Assert.Equal(["ab", "cd"], inner.Writes);
        Assert.Equal(2, inner.Flushes);
    }

    [Fact]
    public async Task Corked_writes_are_gathered_and_go_out_in_one_write_with_the_first_uncorked_frame()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner) { Corked = true };
        for (var i = 0; i < 3; i++)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"f{i};"));
            await stream.FlushAsync();
        }

        Assert.Empty(inner.Writes);
        Assert.Equal(0, inner.Flushes);

        stream.Corked = false;
        await stream.WriteAsync("last"u8.ToArray());
        await stream.FlushAsync();
        Assert.Equal(["f0;f1;f2;last"], inner.Writes);
        Assert.Equal(1, inner.Flushes);

        // And back to passing through.
        await stream.WriteAsync("x"u8.ToArray());
        await stream.FlushAsync();
        Assert.Equal(["f0;f1;f2;last", "x"], inner.Writes);
    }

    [Fact]
    public async Task Each_batch_starts_fresh_and_a_dispose_drops_what_is_still_gathered()
    {
        var inner = new RecordingStream();
        var stream = new CoalescingStream(inner) { Corked = true };
        await stream.WriteAsync("a"u8.ToArray());
        stream.Corked = false;
        await stream.FlushAsync();
        stream.Corked = true;
        await stream.WriteAsync("b"u8.ToArray());
        stream.Corked = false;
        await stream.WriteAsync("c"u8.ToArray());
        await stream.FlushAsync();
        Assert.Equal(["a", "bc"], inner.Writes);

        stream.Corked = true;
        await stream.WriteAsync("lost"u8.ToArray());
        await stream.DisposeAsync();
        Assert.Equal(["a", "bc"], inner.Writes);
    }

    [Fact]
    public async Task Gathered_bytes_grow_past_the_first_buffer_without_loss()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner) { Corked = true };
        var expected = new StringBuilder();
        for (var i = 0; i < 2_000; i++)
        {
            var part = $"{i:D5}|";
            expected.Append(part);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(part));
        }

        stream.Corked = false;
        await stream.FlushAsync();
        Assert.Equal([expected.ToString()], inner.Writes);
    }

    [Fact]
    public async Task A_server_WebSocket_over_it_sends_a_corked_batch_as_intact_frames_in_one_write()
    {
        var inner = new RecordingStream();
        var coalescing = new CoalescingStream(inner);
        using var server = WebSocket.CreateFromStream(coalescing, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        var messages = new[] { "{\"type\":\"update\",\"seq\":1}", new string('x', 300), "{\"type\":\"update\",\"seq\":3}" };
        for (var i = 0; i < messages.Length; i++)
        {
            coalescing.Corked = i < messages.Length - 1;
            await server.SendAsync(Encoding.UTF8.GetBytes(messages[i]), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }

        Assert.Single(inner.RawWrites);

        // A client reading those bytes sees the three messages, whole and in order.
        using var client = WebSocket.CreateFromStream(new MemoryStream(inner.RawWrites[0]), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        var buffer = new byte[1024];
        foreach (var message in messages)
        {
            var result = await client.ReceiveAsync(buffer, CancellationToken.None);
            Assert.True(result.EndOfMessage);
            Assert.Equal(message, Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
    }

    [Fact]
    public async Task Frames_appended_while_corked_and_a_last_frame_sent_by_the_WebSocket_arrive_intact_in_one_write()
    {
        var inner = new RecordingStream();
        var coalescing = new CoalescingStream(inner);
        using var server = WebSocket.CreateFromStream(coalescing, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        // Header sizes: 7-bit, 16-bit and 64-bit lengths.
        var messages = new[] { "{\"seq\":1}", new string('y', 300), new string('z', 70_000), "{\"seq\":4}" };
        coalescing.Corked = true;
        foreach (var message in messages[..^1])
        {
            coalescing.AppendTextFrame(Encoding.UTF8.GetBytes(message));
        }

        coalescing.Corked = false;
        await server.SendAsync(Encoding.UTF8.GetBytes(messages[^1]), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        Assert.Single(inner.RawWrites);

        using var client = WebSocket.CreateFromStream(new MemoryStream(inner.RawWrites[0]), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        var buffer = new byte[100_000];
        foreach (var message in messages)
        {
            var length = 0;
            while (true)
            {
                var result = await client.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                Assert.Equal(WebSocketMessageType.Text, result.MessageType);
                length += result.Count;
                if (result.EndOfMessage)
                {
                    break;
                }
            }

            Assert.Equal(message, Encoding.UTF8.GetString(buffer, 0, length));
        }
    }

    [Fact]
    public void Appending_a_frame_uncorked_is_refused()
    {
        using var stream = new CoalescingStream(new RecordingStream());
        Assert.Throws<InvalidOperationException>(() => stream.AppendTextFrame("x"u8));
    }

    /// <summary>Records each write (the socket sends it would become) and counts flushes.</summary>
    private sealed class RecordingStream : Stream
    {
        public List<byte[]> RawWrites { get; } = [];

        public List<string> Writes => [.. RawWrites.Select(w => Encoding.UTF8.GetString(w))];

        public int Flushes { get; private set; }

        // Readable only because a WebSocket requires it; nothing ever arrives.
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            RawWrites.Add(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flushes++;
            return Task.CompletedTask;
        }

        public override void Flush() => Flushes++;

        public override int Read(byte[] buffer, int offset, int count) => 0;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => RawWrites.Add(buffer.AsSpan(offset, count).ToArray());
    }
}

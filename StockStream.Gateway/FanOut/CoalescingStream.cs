using System.Buffers;
using System.Buffers.Binary;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// The upgraded connection's stream under the server's WebSocket. While <see cref="Corked"/>, frames the WebSocket
/// writes are gathered instead of flushed one by one; the first flush after uncorking writes them all at once. The
/// client's writer corks around a send batch, so a burst of K frames costs one flush and one socket send instead of K.
/// </summary>
/// <remarks>
/// Writes and flushes to the inner stream come only from the WebSocket, under its send lock (its own keep-alive and
/// close frames included). <see cref="AppendTextFrame"/> adds to the gathered bytes from outside that lock, so
/// gathering (never the inner write) takes a lock of its own; each frame is appended whole.
/// </remarks>
public sealed class CoalescingStream(Stream inner) : Stream
{
    private readonly Lock _gate = new();
    private byte[]? _pending;
    private int _pendingLength;
    private volatile bool _corked;

    /// <summary>Set by the client's writer around a batch; the last frame of the batch is written uncorked.</summary>
    public bool Corked
    {
        get => _corked;
        set => _corked = value;
    }

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_corked || _pendingLength > 0)
            {
                Append(buffer.Span);
                return ValueTask.CompletedTask;
            }
        }

        return inner.WriteAsync(buffer, cancellationToken);
    }

    /// <summary>
    /// Gathers a whole text frame built here (server frames are unmasked, so it is just a header and the payload),
    /// skipping the WebSocket's per-send work. Only while corked: the batch must end with a send through the
    /// WebSocket, whose flush writes the gathered frames in order.
    /// </summary>
    public void AppendTextFrame(ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[10];
        header[0] = 0x81; // FIN, text
        int headerLength;
        if (payload.Length <= 125)
        {
            header[1] = (byte)payload.Length;
            headerLength = 2;
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)payload.Length);
            headerLength = 4;
        }
        else
        {
            header[1] = 127;
            BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)payload.Length);
            headerLength = 10;
        }

        lock (_gate)
        {
            if (!_corked)
            {
                throw new InvalidOperationException("Frames are appended only while corked.");
            }

            Append(header[..headerLength]);
            Append(payload);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The WebSocket writes asynchronously.");

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_corked)
        {
            return Task.CompletedTask;
        }

        byte[]? pending;
        int length;
        lock (_gate)
        {
            // The flush owns the gathered buffer from here: a write after it (or a dispose) starts from nothing.
            pending = _pending;
            length = _pendingLength;
            _pending = null;
            _pendingLength = 0;
        }

        return pending is null || length == 0 ? inner.FlushAsync(cancellationToken) : FlushPendingAsync(pending, length, cancellationToken);
    }

    public override void Flush() => throw new NotSupportedException("The WebSocket flushes asynchronously.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DropPending();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        DropPending();
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async Task FlushPendingAsync(byte[] pending, int length, CancellationToken cancellationToken)
    {
        try
        {
            await inner.WriteAsync(pending.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Returned between bursts: an idle connection holds no gathering buffer.
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        var pending = _pending;
        var length = pending is null ? 0 : _pendingLength;
        if (pending is null || pending.Length - length < bytes.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(4096, (length + bytes.Length) * 2));
            if (pending is not null)
            {
                pending.AsSpan(0, length).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(pending);
            }

            pending = grown;
            _pending = grown;
        }

        bytes.CopyTo(pending.AsSpan(length));
        _pendingLength = length + bytes.Length;
    }

    /// <summary>
    /// On dispose the gathered bytes are dropped, not returned to the pool: the WebSocket disposes without its send
    /// lock, so a send could still be writing into them.
    /// </summary>
    private void DropPending()
    {
        lock (_gate)
        {
            _pending = null;
            _pendingLength = 0;
        }
    }
}

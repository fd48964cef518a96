using System.Buffers;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// The upgraded connection's stream under the server's WebSocket. While <see cref="Corked"/>, frames the WebSocket
/// writes are gathered instead of flushed one by one; the first flush after uncorking writes them all at once. The
/// client's writer corks around a send batch, so a burst of K frames costs one flush and one socket send instead of K.
/// </summary>
/// <remarks>
/// Writes and flushes come only from the WebSocket, which serialises them under its send lock (its own keep-alive
/// and close frames included), so the gathered bytes need no lock of their own; only the flag is shared.
/// </remarks>
public sealed class CoalescingStream(Stream inner) : Stream
{
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
        if (!_corked && _pendingLength == 0)
        {
            return inner.WriteAsync(buffer, cancellationToken);
        }

        Append(buffer.Span);
        return ValueTask.CompletedTask;
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

        var pending = _pending;
        if (pending is null || _pendingLength == 0)
        {
            return inner.FlushAsync(cancellationToken);
        }

        // The flush owns the gathered buffer from here: a write after it (or a dispose) starts from nothing.
        var length = _pendingLength;
        _pending = null;
        _pendingLength = 0;
        return FlushPendingAsync(pending, length, cancellationToken);
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
        _pending = null;
        _pendingLength = 0;
    }
}

using System.IO.Pipelines;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;

namespace StockStream.Gateway.Connections;

/// <summary>
/// A Kestrel connection's transport as the stream a server WebSocket runs on, for upgrades taken below HTTP
/// (<see cref="WebSocketFastPath"/>), where there is no HTTP upgrade stream.
/// </summary>
/// <remarks>
/// Like the wrapper ASP.NET Core's WebSocket middleware puts around its upgrade stream, disposing it after the WebSocket
/// aborted (keep-alive timeout, <c>Abort()</c> after the close grace period) aborts the connection, so a send stuck on a
/// stalled client or a pending read ends at once. After a clean close nothing is aborted: Kestrel sends what is left
/// (the close frame) and closes gracefully once the connection's delegate returns.
/// </remarks>
internal sealed class TransportStream(ConnectionContext connection) : Stream
{
    private readonly Stream _input = connection.Transport.Input.AsStream(leaveOpen: true);
    private readonly Stream _output = connection.Transport.Output.AsStream(leaveOpen: true);

    /// <summary>The WebSocket over this stream, whose state says whether a dispose is an abort.</summary>
    public WebSocket? Socket { get; set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _input.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _input.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The WebSocket reads asynchronously.");

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _output.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _output.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The WebSocket writes asynchronously.");

    public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);

    public override void Flush() => throw new NotSupportedException("The WebSocket flushes asynchronously.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Socket?.State == WebSocketState.Aborted)
        {
            connection.Abort();
        }

        base.Dispose(disposing);
    }
}

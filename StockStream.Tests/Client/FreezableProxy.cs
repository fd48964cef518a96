using System.Net;
using System.Net.Sockets;

namespace StockStream.Tests.Client;

/// <summary>
/// A loopback TCP proxy in front of the gateway that can freeze the connections it carries (no byte either way, socket
/// left open): a partitioned or frozen gateway as the client sees it. New connections after the freeze pass normally.
/// </summary>
internal sealed class FreezableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Link> _links = [];
    private readonly Task _accepting;

    public FreezableProxy(Uri target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections
    {
        get
        {
            lock (_links)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>Stops forwarding on every connection open now; they stay open, silent.</summary>
    public void FreezeExisting()
    {
        lock (_links)
        {
            foreach (var link in _links)
            {
                link.Frozen.Reset();
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                await server.ConnectAsync(_target.Host, _target.Port, _stop.Token);
                var link = new Link(client, server);
                lock (_links)
                {
                    _links.Add(link);
                }

                link.Pumps = Task.WhenAll(PumpAsync(client.GetStream(), server.GetStream(), link), PumpAsync(server.GetStream(), client.GetStream(), link));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Proxy stopped.
        }
    }

    private async Task PumpAsync(Stream from, Stream to, Link link)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                // A frozen link holds the bytes forever (until disposal): nothing more reaches the other side.
                await link.Frozen.WaitHandle.WaitOneAsync(_stop.Token);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // One side went away or the proxy stops.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_links)
        {
            foreach (var link in _links)
            {
                link.Frozen.Set();
                link.Client.Dispose();
                link.Server.Dispose();
            }
        }

        _stop.Dispose();
    }

    private sealed class Link(TcpClient client, TcpClient server)
    {
        public TcpClient Client { get; } = client;

        public TcpClient Server { get; } = server;

        public ManualResetEventSlim Frozen { get; } = new(initialState: true);

        public Task? Pumps { get; set; }
    }
}

internal static class WaitHandleExtensions
{
    public static Task WaitOneAsync(this WaitHandle handle, CancellationToken cancellationToken)
    {
        if (handle.WaitOne(0))
        {
            return Task.CompletedTask;
        }

        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registration = ThreadPool.RegisterWaitForSingleObject(handle, (_, _) => completion.TrySetResult(), null, Timeout.Infinite, executeOnlyOnce: true);
        var cancel = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        return completion.Task.ContinueWith(_ =>
        {
            registration.Unregister(null);
            cancel.Dispose();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}

using System.Net;
using System.Net.Sockets;

namespace StockStream.AppHost.Hosting;

/// <summary>
/// Round-robin TCP proxy in front of a resource's replicas, standing in for Aspire's proxy or a cloud
/// load balancer: WebSockets pass through untouched, and a dead replica is skipped at connect time.
/// </summary>
public sealed class TcpLoadBalancer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<IReadOnlyList<int>> _backends;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _next;

    public TcpLoadBalancer(Func<IReadOnlyList<int>> backends)
    {
        _backends = backends;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptLoopAsync();
    }

    public int Port { get; }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ProxyAsync(client);
        }
    }

    private async Task ProxyAsync(TcpClient client)
    {
        using (client)
        {
            client.NoDelay = true;
            var backend = await ConnectBackendAsync().ConfigureAwait(false);
            if (backend is null)
            {
                return;
            }

            using (backend)
            {
                backend.NoDelay = true;
                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var up = PumpAsync(client.GetStream(), backend.GetStream(), done.Token);
                var down = PumpAsync(backend.GetStream(), client.GetStream(), done.Token);
                await Task.WhenAny(up, down).ConfigureAwait(false);
                await done.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<TcpClient?> ConnectBackendAsync()
    {
        var backends = _backends();
        for (var attempt = 0; attempt < backends.Count; attempt++)
        {
            var port = backends[(int)((uint)Interlocked.Increment(ref _next) % (uint)backends.Count)];
            var backend = new TcpClient();
            try
            {
                await backend.ConnectAsync(IPAddress.Loopback, port, _stop.Token).ConfigureAwait(false);
                return backend;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                backend.Dispose();
            }
        }

        return null;
    }

    private static async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken cancellationToken)
    {
        try
        {
            await from.CopyToAsync(to, 16 * 1024, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Either side closed; the other pump ends with it.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}

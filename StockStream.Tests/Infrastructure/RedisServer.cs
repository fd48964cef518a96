using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace StockStream.Tests.Infrastructure;

/// <summary>A real redis-server on a free loopback port with its own data folder; can be killed and restarted.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stockstream-redis-").FullName;
    private Process? _process;

    public RedisServer()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer();
        await server.StartProcessAsync();
        return server;
    }

    public async Task StartProcessAsync()
    {
        var path = Command.FindOnPath("redis-server")
            ?? throw new InvalidOperationException("redis-server is not installed: `sudo apt-get install -y redis-server` (tests need a real Redis).");
        var info = new ProcessStartInfo(path)
        {
            WorkingDirectory = _directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--dir", _directory, "--appendonly", "yes", "--save", "", "--protected-mode", "no"])
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        await Eventually.TrueAsync(async () =>
        {
            using var redis = await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},connectTimeout=500");
            return (await redis.GetDatabase().PingAsync()) >= TimeSpan.Zero;
        }, TimeSpan.FromSeconds(15), "redis-server answers PING");
    }

    /// <summary>Kills the server as a crash would (data since the last fsync may be lost; AOF is on).</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}

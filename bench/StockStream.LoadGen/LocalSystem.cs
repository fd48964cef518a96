using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace StockStream.LoadGen;

/// <summary>
/// The system under test as plain child processes: redis-server, one ingestor and the server (G gateways, or the
/// SignalR baseline), each started from its build output with <c>dotnet &lt;dll&gt;</c> and stopped on dispose. No
/// orchestrator and no proxy between the clients and the server: each hop would cost CPU on the same two cores.
/// </summary>
public sealed class LocalSystem : IAsyncDisposable
{
    // Same issuer, audience and scope as the development tokens the gateway accepts (StockStream.ServiceDefaults).
    public const string Issuer = "stockstream-dev";
    public const string Audience = "stockstream";
    public const string ReadScope = "marketdata:read";

    private readonly List<(string Name, Process Process)> _processes = [];
    private readonly string _runDirectory;
    private readonly string _signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));

    private LocalSystem(string runDirectory) => _runDirectory = runDirectory;

    public Target? Target { get; private set; }

    public static async Task<LocalSystem> StartAsync(LoadOptions o, CancellationToken cancellationToken)
    {
        var repo = o.Repo ?? FindRepo();
        var configuration = o.Configuration ?? "Release";
        var run = Path.Combine(Path.GetTempPath(), $"stockstream-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(run);
        var system = new LocalSystem(run);
        try
        {
            await system.StartAllAsync(o, repo, configuration, cancellationToken).ConfigureAwait(false);
            return system;
        }
        catch
        {
            await system.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartAllAsync(LoadOptions o, string repo, string configuration, CancellationToken cancellationToken)
    {
        if (o.Instruments < 20)
        {
            throw new ArgumentException("The ingestor runs its 20 default tickers plus synthetic ones: --instruments must be at least 20.");
        }

        var redisPort = FreePort();
        var redisServer = FindExecutable("redis-server")
            ?? throw new InvalidOperationException("redis-server was not found: install it with `sudo apt-get install -y redis-server` (scripts/setup.sh does).");
        // No persistence: the benchmark measures fan-out, not the disk.
        Start("redis", redisServer, ["--port", Invariant(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", _runDirectory], [], _runDirectory);
        var redis = $"127.0.0.1:{redisPort}";
        await WaitForRedisAsync(redis, cancellationToken).ConfigureAwait(false);

        var ingestorPort = FreePort();
        var ingestor = ServiceEnvironment(redis, ingestorPort);
        foreach (var (key, value) in IngestorSettings(o))
        {
            ingestor[key] = value;
        }

        StartService("ingestor", repo, "StockStream.Ingestor", configuration, ingestor);

        var gateways = new List<GatewayTarget>();
        var servers = o.Server == ServerKind.SignalR ? 1 : o.Gateways;
        for (var i = 0; i < servers; i++)
        {
            var port = FreePort();
            var environment = ServiceEnvironment(redis, port);
            environment["Auth__SigningKey"] = _signingKey;
            var perServer = (o.Clients / servers) + 100;
            environment["Gateway__IdleTimeout"] = "00:30:00";
            environment["Gateway__MaxConnections"] = Invariant(Math.Max(60_000, perServer));
            foreach (var (key, value) in o.GatewayEnvironment)
            {
                environment[key] = value;
            }

            var name = o.Server == ServerKind.SignalR ? "signalr" : $"gateway-{i}";
            var process = o.Server == ServerKind.SignalR
                ? StartService(name, Path.Combine(repo, "bench"), "StockStream.Bench.SignalR", configuration, environment)
                : StartService(name, repo, "StockStream.Gateway", configuration, environment);
            var path = o.Server == ServerKind.SignalR ? "/hub" : "/ws";
            gateways.Add(new GatewayTarget(name, new Uri($"ws://127.0.0.1:{port}{path}"), new Uri($"http://127.0.0.1:{port}/metrics"), process.Id));
        }

        foreach (var gateway in gateways)
        {
            await WaitHealthyAsync(gateway.Name, new Uri(gateway.Metrics!, "/health"), cancellationToken).ConfigureAwait(false);
        }

        var others = _processes.Where(p => p.Name is "redis" or "ingestor").Select(p => (p.Name, p.Process.Id)).ToList();
        Target = new Target(o.Server, gateways, CreateToken(_signingKey, "loadgen", TimeSpan.FromHours(12)), others, configuration, redis);
    }

    /// <summary>An HS256 token as the development tokens are (sub, scope, iss, aud, exp).</summary>
    public static string CreateToken(string signingKey, string subject, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("scope", ReadScope)]),
            IssuedAt = now,
            NotBefore = now.AddSeconds(-5),
            Expires = now.Add(lifetime),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    private static Dictionary<string, string> IngestorSettings(LoadOptions o)
    {
        var interval = o.TickInterval;
        // Enough simulated market time per tick that the price moves by several ticks (σ√Δt ≈ 2 %·σ),
        // so (almost) every tick changes every price and is published.
        var speedUp = Math.Min(1_000_000, 2400 / interval.TotalSeconds);
        var ingestor = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Tickers__Interval"] = interval.ToString("c", CultureInfo.InvariantCulture),
            ["Tickers__SpeedUp"] = speedUp.ToString("F0", CultureInfo.InvariantCulture),
            ["Tickers__Seed"] = "42",
            ["Tickers__Arrivals"] = o.Arrivals switch { "poisson" => "Poisson", "lockstep" => "LockStep", _ => "Staggered" },
            ["CoinGecko__Enabled"] = "false",
        };
        for (var i = 20; i < o.Instruments; i++)
        {
            var prefix = $"Tickers__Instruments__{i}__";
            ingestor[prefix + "Symbol"] = $"SYN{i:D4}";
            ingestor[prefix + "Start"] = Invariant(50 + (i % 450));
            ingestor[prefix + "Drift"] = "0.05";
            ingestor[prefix + "Volatility"] = "0.3";
            ingestor[prefix + "TickSize"] = "0.01";
        }

        foreach (var (key, value) in o.IngestorEnvironment)
        {
            ingestor[key] = value;
        }

        return ingestor;
    }

    private static Dictionary<string, string> ServiceEnvironment(string redis, int port) => new(StringComparer.Ordinal)
    {
        ["ConnectionStrings__redis"] = redis,
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__Console__FormatterOptions__SingleLine"] = "true",
    };

    private Process StartService(string name, string root, string project, string configuration, Dictionary<string, string> environment)
    {
        var output = Path.Combine(root, project, "bin", configuration, "net10.0");
        var dll = Path.Combine(output, project + ".dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build it first (bench/run.sh does: dotnet build {project} -c {configuration}).");
        }

        return Start(name, "dotnet", [dll], environment, output);
    }

    private Process Start(string name, string fileName, IEnumerable<string> arguments, Dictionary<string, string> environment, string workingDirectory)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var log = new StreamWriter(Path.Combine(_runDirectory, name + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add((name, process));
        Bench.Log($"started {name} (pid {process.Id}); log {Path.Combine(_runDirectory, name + ".log")}");
        return process;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    private async Task WaitHealthyAsync(string name, Uri health, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_processes.FirstOrDefault(p => p.Name == name).Process is { HasExited: true } exited)
            {
                throw new InvalidOperationException($"{name} exited with {exited.ExitCode}; see {Path.Combine(_runDirectory, name + ".log")}");
            }

            try
            {
                using var response = await http.GetAsync(health, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"{name} did not answer {health} within 60 s; see {Path.Combine(_runDirectory, name + ".log")}");
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WaitForRedisAsync(string endpoint, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(endpoint + ",connectTimeout=1000").ConfigureAwait(false);
                await redis.GetDatabase().PingAsync().ConfigureAwait(false);
                return;
            }
            catch (StackExchange.Redis.RedisConnectionException) when (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Reverse order: the server first (its clients are gone already), Redis last.
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            var (name, process) = _processes[i];
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
                Bench.Log($"stopping {name}: {ex.Message}");
            }

            process.Dispose();
        }

        _processes.Clear();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepo()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StockStream.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("StockStream.sln not found above the load generator; pass --repo DIR.");
    }

    private static string? FindExecutable(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}

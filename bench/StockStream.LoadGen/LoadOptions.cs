using System.Globalization;

namespace StockStream.LoadGen;

/// <summary>Command-line switches of the load generator (<c>--help</c> lists them).</summary>
public sealed class LoadOptions
{
    public const string Usage = """
        StockStream load generator (issues 4 and 13). Starts redis-server, one ingestor and the server under test as
        plain child processes from their Release build output (or connects to a running server), opens N WebSocket
        clients and prints a Markdown table. bench/run.sh builds everything and runs both servers one after the other.

          --server S           stockstream (default) or signalr (the SignalR + Redis backplane baseline, bench/StockStream.Bench.SignalR)
          --clients N          WebSocket clients to open (default 1000)
          --subs K             instruments each client subscribes to (default 20)
          --instruments M      simulated instruments in the ingestor (default 20; >20 adds synthetic ones)
          --rate R             target ingest rate, updates/s over all instruments (default 2000; tick interval = M / R)
          --arrivals A         staggered (default), poisson or lockstep (every instrument at once: the burst worst case)
          --gateways G         gateway replicas to start (default 1); clients are spread over them directly
          --duration 30s       measurement window (default 30s; s/m/ms suffixes)
          --warmup 5s          after subscribing, before measuring (default 5s)
          --idle-settle 5s     with all N connected and subscribed to nothing, wait this long, then read RSS
          --idle-only          stop after the idle-memory phase (no subscriptions, no load phase)
          --ramp-batch 250     connections opened concurrently per batch (default 250)
          --source-addresses S spread client sockets over 127.0.0.1 … 127.0.0.S (default: one per 10,000 clients, at least 1)
          --perf 10s           count syscalls and context switches of the server and the load generator with `perf stat` for
                               this long inside the window (default off)
          --perf-record 5s     sample the server's stacks with `perf record` for this long in the window and print the
                               CPU share by binary and by symbol (sets DOTNET_PerfMapEnabled=1 and
                               DOTNET_EnableWriteXorExecute=0 on the server)
          --gcdump FILE        after the idle phase, write a dotnet-gcdump of the (first) server to FILE ({server} is replaced
                               by the server's name) and its type report to FILE.txt (dotnet tool install -g dotnet-gcdump)
          --label TEXT         first column of the result row (default: derived from the options)
          --results FILE       also append the result row (and the detail block) to FILE
          --configuration C    build configuration of the services to launch (default Release)
          --repo DIR           repository root (default: found above the load generator)
          --gateway-env K=V    extra server setting (repeatable), e.g. Gateway__QueueCapacity=1024
          --ingestor-env K=V   extra ingestor setting (repeatable)

        Against a running server (nothing started or stopped):
          --url ws://127.0.0.1:PORT/ws --token JWT       (for --server signalr: ws://HOST:PORT/hub)
          [--metrics-url http://127.0.0.1:PORT/metrics] [--server-pid PID] [--pid OTHER_PID ...]
          [--redis 127.0.0.1:6379]   (ingest rate from the stockstream:{md}:seq hash; the instrument list for signalr)
        """;

    public ServerKind Server { get; set; } = ServerKind.StockStream;
    public string Arrivals { get; set; } = "staggered";
    public int SourceAddresses { get; set; }
    public TimeSpan? Perf { get; set; }
    public TimeSpan? PerfRecord { get; set; }
    public string? GcDump { get; set; }
    public string? Repo { get; set; }
    public int? ServerPid { get; set; }
    public int Clients { get; set; } = 1000;
    public int Subscriptions { get; set; } = 20;
    public int Instruments { get; set; } = 20;
    public double Rate { get; set; } = 2000;
    public int Gateways { get; set; } = 1;
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan IdleSettle { get; set; } = TimeSpan.FromSeconds(5);
    public bool IdleOnly { get; set; }
    public int RampBatch { get; set; } = 250;
    public string? Label { get; set; }
    public string? ResultsFile { get; set; }
    public string? Configuration { get; set; }
    public List<KeyValuePair<string, string>> GatewayEnvironment { get; } = [];
    public List<KeyValuePair<string, string>> IngestorEnvironment { get; } = [];

    public Uri? Url { get; set; }
    public string? Token { get; set; }
    public Uri? MetricsUrl { get; set; }
    public string? Redis { get; set; }
    public List<int> Pids { get; } = [];

    public bool External => Url is not null;

    /// <summary>Tick interval that gives <see cref="Rate"/> updates/s over <see cref="Instruments"/> instruments.</summary>
    public TimeSpan TickInterval => TimeSpan.FromSeconds(Instruments / Rate);

    public string ServerName => Server == ServerKind.SignalR ? "SignalR + Redis" : "StockStream";

    public string DescribeShort() =>
        Label is { } label ? $"{ServerName}: {label}" : (IdleOnly
            ? $"{ServerName}: {Clients:N0} idle"
            : $"{ServerName}: {Clients:N0} × {Subscriptions} of {Instruments}, {Arrivals}");

    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--server": o.Server = Next() switch
                {
                    "stockstream" => ServerKind.StockStream,
                    "signalr" => ServerKind.SignalR,
                    var other => throw new ArgumentException($"--server must be stockstream or signalr, not '{other}'."),
                };
                    break;
                case "--arrivals":
                    o.Arrivals = Next();
                    if (o.Arrivals is not ("staggered" or "poisson" or "lockstep"))
                    {
                        throw new ArgumentException("--arrivals must be staggered, poisson or lockstep.");
                    }

                    break;
                case "--source-addresses": o.SourceAddresses = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--perf": o.Perf = ParseDuration(Next()); break;
                case "--perf-record":
                    o.PerfRecord = ParseDuration(Next());
                    o.GatewayEnvironment.Add(new("DOTNET_PerfMapEnabled", "1"));
                    // JIT code in plain anonymous memory, so perf finds it in the perf map (not a memfd double mapping).
                    o.GatewayEnvironment.Add(new("DOTNET_EnableWriteXorExecute", "0"));
                    break;
                case "--gcdump": o.GcDump = Next(); break;
                case "--repo": o.Repo = Next(); break;
                case "--server-pid": o.ServerPid = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--clients": o.Clients = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--subs": o.Subscriptions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--instruments": o.Instruments = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rate": o.Rate = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--gateways": o.Gateways = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--duration": o.Duration = ParseDuration(Next()); break;
                case "--warmup": o.Warmup = ParseDuration(Next()); break;
                case "--idle-settle": o.IdleSettle = ParseDuration(Next()); break;
                case "--idle-only": o.IdleOnly = true; break;
                case "--ramp-batch": o.RampBatch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--label": o.Label = Next(); break;
                case "--results": o.ResultsFile = Next(); break;
                case "--configuration": o.Configuration = Next(); break;
                case "--gateway-env": o.GatewayEnvironment.Add(ParsePair(Next())); break;
                case "--ingestor-env": o.IngestorEnvironment.Add(ParsePair(Next())); break;
                case "--url": o.Url = new Uri(Next()); break;
                case "--token": o.Token = Next(); break;
                case "--metrics" or "--metrics-url": o.MetricsUrl = new Uri(Next()); break;
                case "--redis": o.Redis = Next(); break;
                case "--pid": o.Pids.Add(int.Parse(Next(), CultureInfo.InvariantCulture)); break;
                default: throw new ArgumentException($"Unknown switch '{name}'.");
            }
        }

        if (o.Clients < 1 || o.Subscriptions < 0 || o.Instruments < 1 || o.Rate <= 0 || o.Gateways < 1 || o.RampBatch < 1)
        {
            throw new ArgumentException("--clients, --instruments, --rate, --gateways and --ramp-batch must be positive.");
        }

        if (o.SourceAddresses is < 0 or > 250)
        {
            throw new ArgumentException("--source-addresses must be between 1 and 250.");
        }

        if (o.SourceAddresses == 0)
        {
            o.SourceAddresses = Math.Max(1, (o.Clients + 9_999) / 10_000);
        }

        if (o.External && string.IsNullOrEmpty(o.Token))
        {
            throw new ArgumentException("--url needs --token.");
        }

        return o;
    }

    public static TimeSpan ParseDuration(string text)
    {
        static double Number(string s) => double.Parse(s, CultureInfo.InvariantCulture);
        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            return TimeSpan.FromMilliseconds(Number(text[..^2]));
        }

        if (text.EndsWith('s'))
        {
            return TimeSpan.FromSeconds(Number(text[..^1]));
        }

        if (text.EndsWith('m'))
        {
            return TimeSpan.FromMinutes(Number(text[..^1]));
        }

        return TimeSpan.FromSeconds(Number(text));
    }

    private static KeyValuePair<string, string> ParsePair(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        return eq <= 0 ? throw new ArgumentException($"Expected KEY=VALUE, got '{text}'.") : new(text[..eq], text[(eq + 1)..]);
    }
}

/// <summary>The server under test.</summary>
public enum ServerKind
{
    /// <summary>StockStream.Gateway, protocol v1 (docs/protocol.md).</summary>
    StockStream,

    /// <summary>The SignalR + Redis backplane baseline (bench/StockStream.Bench.SignalR), JSON hub protocol over WebSockets.</summary>
    SignalR,
}

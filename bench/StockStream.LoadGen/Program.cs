using System.Globalization;
using StockStream.AppHost;
using StockStream.AppHost.Hosting;
using StockStream.LoadGen;

// Issue 4's load generator: see docs/benchmarks.md. Everything it starts, it stops (system first started,
// last disposed; clients aborted before the system drains).
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(LoadOptions.Usage);
    return 0;
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

StockStreamSystem? system = null;
Bench? bench = null;
try
{
    Target target;
    if (options.External)
    {
        target = Target.External(options);
    }
    else
    {
        Bench.Log($"starting the system: {options.Gateways} gateway(s), {options.Instruments} instruments, tick {options.TickInterval.TotalMilliseconds:F1} ms");
        system = await StockStreamSystem.StartAsync(SystemOptions(options), SystemSettings(options), cancellationToken: cancel.Token);
        target = Target.InProcess(system, options);
        Bench.Log("system healthy");
    }

    bench = new Bench(options, target);
    var result = await bench.RunAsync(cancel.Token);
    var markdown = result.ToMarkdown(options);
    Console.WriteLine(markdown);
    if (options.ResultsFile is { } file)
    {
        await File.AppendAllTextAsync(file, result.ToRow(options) + Environment.NewLine);
        await File.AppendAllTextAsync(Path.ChangeExtension(file, ".details.md"), markdown + Environment.NewLine);
    }

    return 0;
}
catch (OperationCanceledException)
{
    Bench.Log("cancelled");
    return 130;
}
catch (Exception ex) when (ex is PrerequisiteMissingException or InvalidOperationException or HttpRequestException)
{
    Console.Error.WriteLine($"failed: {ex.Message}");
    return 1;
}
finally
{
    bench?.AbortAll();
    if (system is not null)
    {
        Bench.Log("stopping the system");
        await system.DisposeAsync();
        Bench.Log("stopped");
    }
}

static AppHostOptions SystemOptions(LoadOptions o)
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
        ["CoinGecko__Enabled"] = "false",
        ["Logging__LogLevel__Default"] = "Warning",
    };
    if (o.Instruments < 20)
    {
        throw new ArgumentException("In-process runs use the 20 default tickers plus synthetic ones: --instruments must be at least 20.");
    }

    for (var i = 20; i < o.Instruments; i++)
    {
        var prefix = $"Tickers__Instruments__{i}__";
        ingestor[prefix + "Symbol"] = $"SYN{i:D4}";
        ingestor[prefix + "Start"] = (50 + (i % 450)).ToString(CultureInfo.InvariantCulture);
        ingestor[prefix + "Drift"] = "0.05";
        ingestor[prefix + "Volatility"] = "0.3";
        ingestor[prefix + "TickSize"] = "0.01";
    }

    var perGateway = (o.Clients / o.Gateways) + 100;
    var gateway = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // The idle phase holds connections without subscriptions; don't let the idle timeout close them.
        ["Gateway__IdleTimeout"] = "00:30:00",
        ["Gateway__MaxConnections"] = Math.Max(20_000, perGateway).ToString(CultureInfo.InvariantCulture),
        ["Logging__LogLevel__Default"] = "Warning",
    };
    foreach (var (key, value) in o.GatewayEnvironment)
    {
        gateway[key] = value;
    }

    foreach (var (key, value) in o.IngestorEnvironment)
    {
        ingestor[key] = value;
    }

    return new AppHostOptions
    {
        GatewayReplicas = o.Gateways,
        IngestorReplicas = 1,
        Web = false,
        Quiet = true,
        Tickers = true,
        Environment =
        {
            ["ingestor"] = ingestor,
            ["gateway"] = gateway,
        },
    };
}

static AppHostSettings SystemSettings(LoadOptions o)
{
    var settings = new AppHostSettings();
    if (o.Configuration is { } configuration)
    {
        settings.Configuration = configuration;
    }

    return settings;
}

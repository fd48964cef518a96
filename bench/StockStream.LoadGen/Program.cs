using StockStream.LoadGen;

// The load generator of docs/benchmarks.md. Everything it starts, it stops (clients first, then the server,
// the ingestor and Redis).
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

if (OpenFileLimit() is { } limit && options.Clients + 200 > limit)
{
    // Past the limit the runtime aborts mid-ramp, and the processes started so far would be orphaned.
    Console.Error.WriteLine($"--clients {options.Clients} needs about {options.Clients + 200} open files here and in the server; the limit is {limit} (ulimit -n).");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

LocalSystem? system = null;
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
        Bench.Log($"starting {options.ServerName}: {options.Instruments} instruments, {options.Arrivals} arrivals, interval {options.TickInterval.TotalMilliseconds:F1} ms");
        system = await LocalSystem.StartAsync(options, cancel.Token);
        target = system.Target!;
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
catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or ArgumentException or TimeoutException)
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

static long? OpenFileLimit()
{
    try
    {
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return long.TryParse(soft, out var value) ? value : null;
    }
    catch (IOException)
    {
        return null;
    }
}

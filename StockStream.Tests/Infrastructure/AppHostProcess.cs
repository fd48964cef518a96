using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace StockStream.Tests.Infrastructure;

/// <summary>
/// The AppHost run as a user runs it (its own process group, the real dashboard, random ports so it never collides
/// with a developer's AppHost), for what only a whole process shows: signals, clean-up, the dashboard, publishing.
/// </summary>
public sealed partial class AppHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private AppHostProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The AppHost's pid; also its process group's id (it runs under <c>setsid</c>).</summary>
    public int Id => _process.Id;

    public string Output => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The built AppHost (beside the tests, as the project reference copies it).</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "StockStream.AppHost.dll");

    public static AppHostProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        // setsid: its own session and process group, as a terminal gives a foreground job (Ctrl+C signals the group).
        var info = new ProcessStartInfo(Command.FindOnPath("setsid") ?? throw new InvalidOperationException("setsid (util-linux) is missing."))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        info.ArgumentList.Add(Command.FindOnPath("dotnet") ?? throw new InvalidOperationException("dotnet is not on PATH."));
        info.ArgumentList.Add(Dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        info.Environment["DOTNET_ENVIRONMENT"] = "Development";
        info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        info.Environment["ASPNETCORE_URLS"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        info.Environment["DcpPublisher__RandomizePorts"] = "true";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return new AppHostProcess(Process.Start(info) ?? throw new InvalidOperationException("The AppHost did not start."));
    }

    /// <summary>Runs the AppHost to its end (a setup error, publishing) and returns what it said.</summary>
    public static async Task<(int ExitCode, string Output)> RunToEndAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var apphost = Start(arguments, environment);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await apphost._process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The AppHost did not exit within 60 s:\n{apphost.Output}");
        }

        apphost._process.WaitForExit(); // drains the redirected output
        return (apphost.ExitCode, apphost.Output);
    }

    public async Task WaitForOutputAsync(string fragment, TimeSpan timeout)
    {
        await Eventually.TrueAsync(() => Output.Contains(fragment, StringComparison.Ordinal) || HasExited, timeout,
            $"the AppHost printed \"{fragment}\"", () => Output);
        if (!Output.Contains(fragment, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The AppHost exited ({ExitCode}) before printing \"{fragment}\":\n{Output}");
        }
    }

    /// <summary>The dashboard's one-time login URL, as printed at start.</summary>
    public Uri DashboardLoginUrl => LoginUrl().Match(Output) is { Success: true } match
        ? new Uri(match.Value)
        : throw new InvalidOperationException("No dashboard login URL in the output:\n" + Output);

    /// <summary>
    /// Every process this AppHost started: its children, and DCP (which runs in a session of its own and watches the
    /// AppHost's pid) with everything under it.
    /// </summary>
    public List<int> Processes()
    {
        var dcp = ProcessTree.Matching($"--monitor {Id} ");
        return [.. ProcessTree.Descendants(Id).Concat(dcp).Concat(dcp.SelectMany(ProcessTree.Descendants)).Distinct()];
    }

    /// <summary>Sends a signal the way a shell would: <c>INT</c> to the process group is a terminal's Ctrl+C.</summary>
    public async Task SignalAsync(string signal, bool processGroup)
    {
        var result = await Command.RunAsync("/bin/kill", [$"-{signal}", "--", processGroup ? $"-{Id}" : $"{Id}"], RepoPaths.Root, TimeSpan.FromSeconds(10));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"http://[^\s]+/login\?t=[0-9a-f]+")]
    private static partial Regex LoginUrl();
}

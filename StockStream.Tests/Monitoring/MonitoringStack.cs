using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StockStream.AppHost.Monitoring;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Monitoring;

/// <summary>Prometheus, the blackbox exporter and Alertmanager started from the Debian binaries with a rendered plan; all killed on dispose.</summary>
public sealed class MonitoringStack : IAsyncDisposable
{
    private readonly List<(MonitoringCommand Command, Process Process, StringBuilder Output)> _processes = [];

    private MonitoringStack(MonitoringPlan plan) => Plan = plan;

    public MonitoringPlan Plan { get; }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<MonitoringStack> StartAsync(MonitoringPlan plan, TimeSpan readyTimeout)
    {
        var stack = new MonitoringStack(plan);
        try
        {
            foreach (var command in plan.Commands)
            {
                stack.Start(command);
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            foreach (var (name, url) in new[]
                     {
                         ("blackbox exporter", new Uri(plan.BlackboxUrl, "-/healthy")),
                         ("alertmanager", new Uri(plan.AlertmanagerUrl, "-/ready")),
                         ("prometheus", new Uri(plan.PrometheusUrl, "-/ready")),
                     })
            {
                await Eventually.TrueAsync(async () =>
                {
                    stack.ThrowIfExited();
                    using var response = await http.GetAsync(url);
                    return response.IsSuccessStatusCode;
                }, readyTimeout, $"{name} is ready at {url}", stack.Diagnostics);
            }

            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public string Diagnostics()
    {
        var text = new StringBuilder();
        foreach (var (command, process, output) in _processes)
        {
            lock (output)
            {
                var tail = output.Length > 4000 ? output.ToString(output.Length - 4000, 4000) : output.ToString();
                text.AppendLine($"--- {command.Name} ({(process.HasExited ? $"exited {process.ExitCode}" : "running")}) ---").AppendLine(tail);
            }
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, process, _) in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }
        }

        foreach (var (_, process, _) in _processes)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
            }

            process.Dispose();
        }
    }

    private void Start(MonitoringCommand command)
    {
        var file = MonitoringTools.Require(command.FileName, command.DebianPackage);
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = command.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var output = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {file}");
        }

        _processes.Add((command, process, output));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private void ThrowIfExited()
    {
        foreach (var (command, process, _) in _processes)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{command.Name} exited with {process.ExitCode}:\n{Diagnostics()}");
            }
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}

using System.Diagnostics;
using System.Text;

namespace StockStream.Tests.Monitoring;

/// <summary>What a finished command printed and returned.</summary>
public sealed record CommandResult(string Command, int ExitCode, string StdOut, string StdErr)
{
    public string Output => StdOut + StdErr;

    public override string ToString() => $"`{Command}` exited {ExitCode}\n{Output}";
}

/// <summary>The Debian monitoring binaries: found on PATH, or the test fails naming the package that brings them.</summary>
public static class MonitoringTools
{
    public static string Promtool => Require("promtool", "prometheus");

    public static string Prometheus => Require("prometheus", "prometheus");

    public static string BlackboxExporter => Require("prometheus-blackbox-exporter", "prometheus-blackbox-exporter");

    public static string Alertmanager => Require("prometheus-alertmanager", "prometheus-alertmanager");

    public static string Amtool => Require("amtool", "prometheus-alertmanager");

    public static string YamlLint => Require("yamllint", "yamllint");

    public static string Require(string name, string debianPackage) =>
        FindOnPath(name) ?? throw new InvalidOperationException(
            $"`{name}` is not on PATH: install the Debian package {debianPackage} (`sudo apt-get install -y {debianPackage}`).");

    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    public static async Task<CommandResult> RunAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? MonitoringRepo.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var command = $"{Path.GetFileName(fileName)} {string.Join(' ', info.ArgumentList)}";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {command}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        using var cancellation = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{command}` did not finish within {limit}.");
        }

        return new CommandResult(command, process.ExitCode, await stdout, await stderr);
    }
}

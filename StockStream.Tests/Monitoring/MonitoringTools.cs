using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Monitoring;

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

    public static string? FindOnPath(string name) => Command.FindOnPath(name);

    public static Task<CommandResult> RunAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null) =>
        Command.RunAsync(fileName, arguments, workingDirectory ?? MonitoringRepo.Root, timeout ?? TimeSpan.FromMinutes(2));
}

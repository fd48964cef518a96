using System.Reflection;

namespace StockStream.AppHost.Hosting;

/// <summary>Where things are and how the AppHost behaves; the switches of the command line end up here.</summary>
public sealed class AppHostSettings
{
    /// <summary>Repository root, holding the service projects.</summary>
    public string RepoRoot { get; set; } = Metadata("StockStream.RepoRoot") ?? Directory.GetCurrentDirectory();

    /// <summary>Build configuration whose output is launched (the AppHost's own).</summary>
    public string Configuration { get; set; } = Metadata("StockStream.Configuration") ?? "Debug";

    /// <summary>Per-run folder for Redis data, monitoring configs and logs; unique so two AppHosts never collide.</summary>
    public string RunDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "stockstream", $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");

    /// <summary>External Redis (<c>ConnectionStrings__redis</c>); when null the AppHost runs its own.</summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>Receives every child's output line, prefixed by the caller as it likes.</summary>
    public Action<string, string>? Output { get; set; }

    /// <summary>Called on every state change, from the first one on (the <c>Changed</c> event starts later).</summary>
    public Action<ResourceInstance>? StateChanged { get; set; }

    /// <summary>Finds a tool on the machine; replaceable so tests can simulate a missing prerequisite.</summary>
    public Func<string, string?> FindExecutable { get; set; } = ProcessLauncher.FindOnPath;

    /// <summary>How long a resource may take to become healthy before start-up fails.</summary>
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(90);

    public static string? Metadata(string key) =>
        typeof(AppHostSettings).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
}

namespace StockStream.AppHost;

/// <summary>This AppHost run's folder for Redis data and rendered monitoring configs; unique, so two AppHosts never collide.</summary>
internal static class RunFolder
{
    public static string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(
        System.IO.Path.GetTempPath(), "stockstream", $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}")).FullName;

    /// <summary>The repository this AppHost was built from (for <c>monitoring/</c>).</summary>
    public static string RepositoryRoot { get; } = typeof(RunFolder).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), inherit: false)
        .OfType<System.Reflection.AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "StockStream.RepoRoot")?.Value ?? Directory.GetCurrentDirectory();
}

/// <summary>Finds a tool on PATH.</summary>
internal static class Executables
{
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => System.IO.Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
    }
}

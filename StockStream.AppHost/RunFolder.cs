namespace StockStream.AppHost;

/// <summary>Folders for one AppHost's Redis data and rendered monitoring configs.</summary>
internal static class RunFolder
{
    /// <summary>
    /// A new folder for <paramref name="purpose"/>, unique per call: two AppHosts never share one, not even two in one
    /// process (Aspire.Hosting.Testing runs each AppHost in the test process).
    /// </summary>
    public static string Create(string purpose) => Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "stockstream",
        $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}", purpose)).FullName;

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

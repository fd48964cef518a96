namespace StockStream.Tests.Monitoring;

/// <summary>The repository's monitoring folder: the folder holding StockStream.sln above the test binaries, else STOCKSTREAM_REPO_ROOT.</summary>
public static class MonitoringRepo
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    public static string Monitoring => Path.Combine(Root, "monitoring");

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StockStream.sln")))
            {
                return directory.FullName;
            }
        }

        var configured = Environment.GetEnvironmentVariable("STOCKSTREAM_REPO_ROOT");
        if (!string.IsNullOrEmpty(configured) && File.Exists(Path.Combine(configured, "StockStream.sln")))
        {
            return Path.GetFullPath(configured);
        }

        throw new DirectoryNotFoundException(
            $"No StockStream.sln above {AppContext.BaseDirectory}, and STOCKSTREAM_REPO_ROOT ({configured ?? "unset"}) does not name the repository root.");
    }
}

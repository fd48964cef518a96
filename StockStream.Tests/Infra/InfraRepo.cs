namespace StockStream.Tests.Infra;

/// <summary>The repository the infrastructure checks look at: STOCKSTREAM_REPO_ROOT, else the folder holding StockStream.sln.</summary>
internal static class InfraRepo
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string Read(params string[] parts) => File.ReadAllText(PathOf(parts)).ReplaceLineEndings("\n");

    public static string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    /// <summary>Files under <paramref name="folder"/> matching <paramref name="pattern"/>, skipping build output and dependencies.</summary>
    public static IReadOnlyList<string> Files(string folder, string pattern) =>
        Directory.Exists(PathOf(folder))
            ? Directory.EnumerateFiles(PathOf(folder), pattern, SearchOption.AllDirectories)
                .Where(path => !IsIgnored(path))
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];

    private static bool IsIgnored(string path)
    {
        var segments = Relative(path).Split('/');
        return segments.Any(segment => segment is "bin" or "obj" or "node_modules" or ".git" or ".azure" or "TestResults" or "artifacts");
    }

    private static string FindRoot()
    {
        var configured = Environment.GetEnvironmentVariable("STOCKSTREAM_REPO_ROOT");
        if (!string.IsNullOrEmpty(configured))
        {
            return Directory.Exists(configured)
                ? Path.GetFullPath(configured)
                : throw new DirectoryNotFoundException($"STOCKSTREAM_REPO_ROOT={configured} does not exist.");
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StockStream.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException(
            $"No StockStream.sln above {AppContext.BaseDirectory}; set STOCKSTREAM_REPO_ROOT to the repository root.");
    }
}

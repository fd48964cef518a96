namespace StockStream.Tests.Infrastructure;

/// <summary>Finds the repository (the folder with StockStream.sln) and the shared fixtures beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary><c>../shared/fixtures</c> next to the repository, or <c>STOCKSTREAM_FIXTURES</c>.</summary>
    public static string Fixtures
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("STOCKSTREAM_FIXTURES");
            if (!string.IsNullOrEmpty(configured))
            {
                return configured;
            }

            var candidate = Path.GetFullPath(Path.Combine(Root, "..", "shared", "fixtures"));
            return Directory.Exists(candidate)
                ? candidate
                : throw new DirectoryNotFoundException($"Shared fixtures not found at {candidate}; set STOCKSTREAM_FIXTURES.");
        }
    }

    private static string FindRoot()
    {
        var configured = Environment.GetEnvironmentVariable("STOCKSTREAM_REPO_ROOT");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StockStream.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException("StockStream.sln not found above " + AppContext.BaseDirectory);
    }
}

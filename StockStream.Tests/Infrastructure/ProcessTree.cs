using System.Globalization;

namespace StockStream.Tests.Infrastructure;

/// <summary>Reads the process tree from /proc: Aspire starts each project through <c>dotnet run</c>, the service is its child.</summary>
public static class ProcessTree
{
    /// <summary>The <c>StockStream.*</c> process under a <c>dotnet run</c> wrapper, or the wrapper itself when it has none.</summary>
    public static int? ServiceProcess(int wrapperPid) =>
        Descendants(wrapperPid).FirstOrDefault(pid => CommandLine(pid).Contains("StockStream.", StringComparison.Ordinal)) is var child and > 0
            ? child
            : null;

    public static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && Parent(pid) is { } parent)
            {
                parents[pid] = parent;
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (pid, ppid) in parents)
            {
                if (ppid == parent)
                {
                    result.Add(pid);
                    frontier.Enqueue(pid);
                }
            }
        }

        return result;
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Every live process whose command line contains <paramref name="fragment"/>.</summary>
    public static List<int> Matching(string fragment) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && IsAlive(pid) && CommandLine(pid).Contains(fragment, StringComparison.Ordinal))
            .ToList();

    private static int? Parent(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }
}

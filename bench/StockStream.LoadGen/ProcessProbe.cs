using System.Globalization;

namespace StockStream.LoadGen;

/// <summary>CPU (utime + stime from <c>/proc/PID/stat</c>) and RSS (<c>VmRSS</c>) of one process; Linux only.</summary>
public sealed class ProcessProbe(string name, int pid)
{
    /// <summary>USER_HZ: 100 on every Linux that matters (sysconf(_SC_CLK_TCK)).</summary>
    private const double TicksPerSecond = 100;

    private long _lastTicks = -1;
    private long _lastAt;

    public string Name { get; } = name;

    public int Pid { get; } = pid;

    public List<double> CpuPercent { get; } = [];

    public List<long> RssBytes { get; } = [];

    /// <summary>Total CPU seconds consumed so far, or -1 when the process is gone.</summary>
    public double CpuSeconds()
    {
        var ticks = ReadTicks(Pid);
        return ticks < 0 ? -1 : ticks / TicksPerSecond;
    }

    /// <summary>Takes one sample: CPU % of one core since the previous sample, and RSS now.</summary>
    public void Sample(bool keep)
    {
        var ticks = ReadTicks(Pid);
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (ticks >= 0 && _lastTicks >= 0 && keep)
        {
            var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_lastAt, now).TotalSeconds;
            CpuPercent.Add((ticks - _lastTicks) / TicksPerSecond / seconds * 100);
            RssBytes.Add(Rss(Pid));
        }

        _lastTicks = ticks;
        _lastAt = now;
    }

    public static long ReadTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // comm (field 2) may contain spaces and parentheses: count fields after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): utime is field 14, stime field 15.
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return -1;
        }
    }

    /// <summary>utime and stime (USER_HZ ticks) apart: user code versus the kernel (syscalls, TCP on loopback).</summary>
    public static (long User, long System) ReadUserSystemTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture), long.Parse(fields[12], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return (0, 0);
        }
    }

    public static long Rss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        return -1;
    }

    /// <summary>RSS averaged over a few samples (RSS moves with every GC).</summary>
    public static async Task<long> SteadyRssAsync(int pid, int samples = 5, int intervalMs = 400)
    {
        long sum = 0;
        for (var i = 0; i < samples; i++)
        {
            sum += Rss(pid);
            await Task.Delay(intervalMs).ConfigureAwait(false);
        }

        return sum / samples;
    }

    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "?";
        }
    }
}

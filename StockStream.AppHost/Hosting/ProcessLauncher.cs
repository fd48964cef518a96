using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace StockStream.AppHost.Hosting;

/// <summary>
/// Starts child processes so that they cannot outlive the AppHost, even when it is killed with SIGKILL:
/// on Linux each child is started through <c>setpriv --pdeathsig KILL</c>. The kernel sends that signal
/// when the *thread* that forked the child exits, so every fork happens on one dedicated thread that
/// lives as long as the process (thread-pool threads come and go).
/// </summary>
public sealed partial class ProcessLauncher : IDisposable
{
    private static readonly Lazy<ProcessLauncher> s_shared = new(() => new ProcessLauncher());
    private readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Result)> _requests = [];
    private readonly string? _setpriv;

    private ProcessLauncher()
    {
        _setpriv = OperatingSystem.IsLinux() ? FindOnPath("setpriv") : null;
        var thread = new Thread(Run) { IsBackground = true, Name = "stockstream-spawner" };
        thread.Start();
    }

    public static ProcessLauncher Shared => s_shared.Value;

    /// <summary>True when children die with the AppHost (pdeathsig available).</summary>
    public bool TiesChildrenToParent => _setpriv is not null;

    public Task<Process> StartAsync(string fileName, IEnumerable<string> arguments, IDictionary<string, string> environment, string workingDirectory)
    {
        var info = new ProcessStartInfo
        {
            FileName = _setpriv ?? fileName,
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (_setpriv is not null)
        {
            info.ArgumentList.Add("--pdeathsig");
            info.ArgumentList.Add("KILL");
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(fileName);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var result = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Add((info, result));
        return result.Task;
    }

    private void Run()
    {
        foreach (var (info, result) in _requests.GetConsumingEnumerable())
        {
            try
            {
                result.SetResult(Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}."));
            }
            catch (Exception ex)
            {
                result.SetException(ex);
            }
        }
    }

    /// <summary>Asks a process to stop (SIGTERM), as Ctrl+C would.</summary>
    public static void Terminate(Process process)
    {
        if (OperatingSystem.IsWindows())
        {
            process.Kill(entireProcessTree: true);
            return;
        }

        _ = SendSignal(process.Id, 15);
    }

    public static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var directory in new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin" })
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public void Dispose() => _requests.CompleteAdding();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}

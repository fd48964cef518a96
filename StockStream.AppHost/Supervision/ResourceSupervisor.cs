using System.Collections.Concurrent;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StockStream.AppHost.Supervision;

/// <summary>
/// Watches Aspire's resource notifications and starts again every replica with a <see cref="RestartPolicyAnnotation"/>
/// that exited by itself. A replica that was stopping (dashboard, command, shutdown) when it exited was asked to.
/// </summary>
public sealed partial class ResourceSupervisor(
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    RestartLedger ledger,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<ResourceSupervisor> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, string?> _lastState = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _consecutiveCrashes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _pending = new(StringComparer.Ordinal);

    /// <summary>The latest state text of each replica (<c>Running</c>, <c>Exited</c>, …), for metrics.</summary>
    public IReadOnlyDictionary<string, string?> States => _lastState;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var update in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                Observe(update, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Observe(ResourceEvent update, CancellationToken stoppingToken)
    {
        var state = update.Snapshot.State?.Text;
        var previous = _lastState.TryGetValue(update.ResourceId, out var last) ? last : null;
        _lastState[update.ResourceId] = state;
        if (state == previous || !update.Resource.TryGetLastAnnotation<RestartPolicyAnnotation>(out var policy))
        {
            return;
        }

        if (state == KnownResourceStates.Running)
        {
            // Healthy again for a while resets the back-off; a crash right after start keeps doubling it.
            ResetBackoffWhenStable(update.ResourceId, policy, stoppingToken);
            return;
        }

        var exited = state is not null && KnownResourceStates.TerminalStates.Contains(state);
        var askedToStop = previous == KnownResourceStates.Stopping || lifetime.ApplicationStopping.IsCancellationRequested;
        if (!exited || askedToStop || update.Snapshot.ExitCode is 0 || previous is null || !_pending.TryAdd(update.ResourceId, 0))
        {
            return;
        }

        _ = RestartAsync(update.ResourceId, update.Snapshot.ExitCode, policy, stoppingToken);
    }

    private async Task RestartAsync(string resourceId, int? exitCode, RestartPolicyAnnotation policy, CancellationToken stoppingToken)
    {
        try
        {
            if (ledger.Since(resourceId, policy.Window) >= policy.MaxRestarts)
            {
                LogGivingUp(logger, resourceId, policy.MaxRestarts, policy.Window);
                return;
            }

            var crashes = _consecutiveCrashes.AddOrUpdate(resourceId, 1, (_, n) => n + 1);
            var delay = TimeSpan.FromTicks(Math.Min(policy.MaxDelay.Ticks, policy.InitialDelay.Ticks * (1L << Math.Min(crashes - 1, 16))));
            // Decide after the back-off: a replica that went down because the AppHost is stopping is not a crash, and
            // the stop may be noticed a moment after the replica's exit.
            await Task.Delay(delay, timeProvider, stoppingToken).ConfigureAwait(false);
            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                return;
            }

            LogCrashed(logger, resourceId, exitCode, delay);

            var result = await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, stoppingToken).ConfigureAwait(false);
            if (result.Success)
            {
                ledger.Record(resourceId);
                var restarts = ledger.Total(resourceId);
                LogRestarted(logger, resourceId, restarts);
            }
            else
            {
                LogRestartFailed(logger, resourceId, result.Message);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // The supervisor outlives any one failed restart.
            LogRestartError(logger, ex, resourceId);
        }
        finally
        {
            _pending.TryRemove(resourceId, out _);
        }
    }

    private void ResetBackoffWhenStable(string resourceId, RestartPolicyAnnotation policy, CancellationToken stoppingToken) =>
        _ = Task.Delay(policy.MaxDelay, timeProvider, stoppingToken).ContinueWith(
            completed =>
            {
                if (_lastState.TryGetValue(resourceId, out var now) && now == KnownResourceStates.Running)
                {
                    _consecutiveCrashes.TryRemove(resourceId, out _);
                }
            },
            CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Resource} exited by itself (exit code {ExitCode}); starting it again after {Delay}")]
    private static partial void LogCrashed(ILogger logger, string resource, int? exitCode, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Resource} started again ({Restarts} automatic restarts so far)")]
    private static partial void LogRestarted(ILogger logger, string resource, int restarts);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Resource} restarted {MaxRestarts} times within {Window}; leaving it stopped: it needs a person (see its console logs)")]
    private static partial void LogGivingUp(ILogger logger, string resource, int maxRestarts, TimeSpan window);

    [LoggerMessage(Level = LogLevel.Error, Message = "Starting {Resource} again failed: {Message}")]
    private static partial void LogRestartFailed(ILogger logger, string resource, string? message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Starting {Resource} again failed")]
    private static partial void LogRestartError(ILogger logger, Exception exception, string resource);
}

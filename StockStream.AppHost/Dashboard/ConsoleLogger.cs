namespace StockStream.AppHost.Dashboard;

/// <summary>Routes the orchestrator's own log lines to the console view.</summary>
public sealed class ConsoleLogger(ConsoleView view) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            view.Info(formatter(state, exception));
        }
    }
}

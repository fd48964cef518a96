namespace StockStream.AppHost.Dashboard;

/// <summary>Hands one category's log lines of a hosted web app to the AppHost's own logger.</summary>
public sealed class ForwardingLoggerProvider(ILogger target, string category) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) =>
        string.Equals(categoryName, category, StringComparison.Ordinal) ? target : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose()
    {
    }
}

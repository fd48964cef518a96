namespace StockStream.AppHost.Hosting;

/// <summary>A tool the AppHost needs is not installed; the message says in one sentence how to get it.</summary>
public sealed class PrerequisiteMissingException(string message) : Exception(message);

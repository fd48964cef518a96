namespace StockStream.Tests.Monitoring;

/// <summary>Waits on a condition with a deadline instead of sleeping.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string because, Func<string>? diagnostics = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                last = ex;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F0} s waiting until {because}."
            + (last is null ? string.Empty : $" Last error: {last.Message}")
            + (diagnostics is null ? string.Empty : "\n" + diagnostics()));
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string because, Func<string>? diagnostics = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, because, diagnostics);
}

namespace StockStream.Tests.Infrastructure;

/// <summary>Waits on a condition with a deadline instead of sleeping: the test proceeds as soon as it holds.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string because, Func<string>? diagnostics = null)
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

            await Task.Delay(50);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F0} s waiting until {because}."
            + (last is null ? "" : $" Last error: {last.Message}")
            + (diagnostics is null ? "" : "\n" + diagnostics()));
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string because, Func<string>? diagnostics = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, because, diagnostics);
}

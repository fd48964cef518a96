namespace StockStream.AppHost;

/// <summary>The resource names of the StockStream model, as the dashboard, tests and alerts name them.</summary>
public static class StockStreamResources
{
    public const string Redis = "redis";
    public const string SigningKey = "signing-key";
    public const string Ingestor = "ingestor";
    public const string Gateway = "gateway";
    public const string Web = "web";
}

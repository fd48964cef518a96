using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using StockStream.AppHost;
using StockStream.AppHost.Gateway;
using StockStream.AppHost.Monitoring;
using StockStream.AppHost.Redis;
using StockStream.AppHost.Supervision;

var builder = DistributedApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, AppHostOptions.SwitchMappings);

try
{
    var options = builder.Configuration.GetSection(AppHostOptions.Section).Get<AppHostOptions>() ?? new AppHostOptions();
    if (AppHostOptions.Validate(options) is { } invalid)
    {
        throw new AppHostSetupException(invalid);
    }

    var redis = builder.AddStockStreamRedis(StockStreamResources.Redis);

    // A fresh key per run unless one is configured: tokens from one run do not open another.
    var signingKeyValue = builder.Configuration[$"Parameters:{StockStreamResources.SigningKey}"] is { Length: > 0 } configured
        ? configured
        : DevelopmentTokens.NewSigningKey();
    var signingKey = builder.ExecutionContext.IsPublishMode
        ? builder.AddParameter(StockStreamResources.SigningKey, secret: true)
        : builder.AddParameter(StockStreamResources.SigningKey, signingKeyValue, secret: true);

    var ingestor = builder.AddProject<Projects.StockStream_Ingestor>(StockStreamResources.Ingestor)
        .WithReference(redis)
        .WaitForRedis(redis)
        .WithReplicas(options.IngestorReplicas)
        .WithEnvironment("Tickers__Enabled", options.Tickers ? "true" : "false")
        .WithHttpHealthCheck("/health")
        .WithRestartPolicy();
    if (options.CoinGeckoBaseUrl is { Length: > 0 } coinGecko)
    {
        ingestor.WithEnvironment("CoinGecko__BaseUrl", coinGecko);
    }

    var gateway = builder.AddProject<Projects.StockStream_Gateway>(StockStreamResources.Gateway)
        .WithReference(redis)
        .WaitFor(ingestor)
        .WithReplicas(options.GatewayReplicas)
        .WithEnvironment("Auth__SigningKey", signingKey)
        .WithExternalHttpEndpoints()
        .WithHttpHealthCheck("/health")
        .WithWebSocketUrl()
        .WithDevelopmentTokenCommand(signingKey)
        .WithRestartPolicy();
    if (builder.ExecutionContext.IsRunMode)
    {
        gateway.WithEnvironment("Faults__Enabled", "true").WithFaultCommands();
    }

    if (options.Web)
    {
        builder.AddProject<Projects.StockStream_Web>(StockStreamResources.Web)
            .WithReference(gateway)
            .WaitFor(gateway)
            .WithEnvironment("Auth__SigningKey", signingKey)
            .WithExternalHttpEndpoints()
            .WithHttpHealthCheck("/health")
            .WithUrlForEndpoint("http", url => url.DisplayText = "Team screen")
            .WithRestartPolicy();
    }

    if (options.Monitoring && builder.ExecutionContext.IsRunMode)
    {
        builder.AddMonitoring(signingKeyValue, options.Remediation);
    }

    builder.Build().Run();
    return 0;
}
catch (AppHostSetupException ex)
{
    // One sentence, no stack trace: a missing tool or a bad switch is the user's to fix.
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}

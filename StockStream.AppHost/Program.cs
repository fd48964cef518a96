using System.Runtime.InteropServices;
using StockStream.AppHost;
using StockStream.AppHost.Dashboard;
using StockStream.AppHost.Hosting;

// Our stand-in for an Aspire AppHost (its packages are not available here): same model, same variable names.
var configuration = new ConfigurationBuilder()
    .AddJsonFile("appsettings.json", optional: true)
    .AddEnvironmentVariables()
    .AddCommandLine(args, AppHostOptions.SwitchMappings)
    .Build();
var options = configuration.GetSection(AppHostOptions.Section).Get<AppHostOptions>() ?? new AppHostOptions();
var view = new ConsoleView(options.Quiet);
if (AppHostOptions.Validate(options) is { } invalid)
{
    view.Error(invalid);
    return 2;
}

using var shutdown = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; shutdown.Cancel(); });
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; shutdown.Cancel(); });

var settings = new AppHostSettings
{
    RedisConnectionString = configuration.GetConnectionString("redis"),
    Output = view.Line,
    StateChanged = view.Changed,
};

StockStreamSystem system;
try
{
    view.Info($"Starting StockStream from {settings.RepoRoot} ({settings.Configuration}); run folder {settings.RunDirectory}");
    system = await StockStreamSystem.StartAsync(options, settings, new ConsoleLogger(view), shutdown.Token);
}
catch (PrerequisiteMissingException ex)
{
    view.Error(ex.Message);
    return 2;
}
catch (OperationCanceledException)
{
    return 130;
}
catch (InvalidOperationException ex)
{
    view.Error(ex.Message);
    return 1;
}

await using (system)
{
    var token = system.CreateToken("developer");
    var gateway = system.GatewayWebSocket();
    view.Table(system.App.Snapshot(),
    [
        ("dashboard", system.ControlPlaneUrl.ToString()),
        ("gateway ws", gateway.ToString()),
        ("team screen", options.Web ? system.App.GetEndpoint(StockStreamModel.Web + "-0").ToString() : "(disabled)"),
        ("token", token),
        ("try it", $"websocat -H 'Authorization: Bearer <token>' {gateway}  then send {{\"type\":\"subscribe\",\"id\":1,\"symbols\":[\"AAPL\"]}}"),
    ]);
    view.Info("Ready. Ctrl+C stops everything.");

    try
    {
        await Task.Delay(Timeout.Infinite, shutdown.Token);
    }
    catch (OperationCanceledException)
    {
        view.Info(options.Monitoring ? "Stopping in reverse order: monitoring, web, gateways, ingestor, then Redis…" : "Stopping in reverse order: web, gateways, ingestor, then Redis…");
    }
}

view.Info("Stopped; no process left behind.");
return 0;

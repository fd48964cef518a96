using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using StockStream.AppHost;
using StockStream.AppHost.Dashboard;
using StockStream.AppHost.Hosting;

// Our stand-in for an Aspire AppHost (its packages are not available here): same model, same variable names.
var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, AppHostOptions.SwitchMappings);
var options = builder.Configuration.GetSection(AppHostOptions.Section).Get<AppHostOptions>() ?? new AppHostOptions();
var view = new ConsoleView(options.Quiet);

using var shutdown = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; shutdown.Cancel(); });
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; shutdown.Cancel(); });

var dashboardPort = ChoosePort(options.DashboardPort);
var settings = new AppHostSettings
{
    RedisConnectionString = builder.Configuration.GetConnectionString("redis"),
    Output = view.Line,
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
    system.App.Changed += view.Changed;
    builder.WebHost.UseUrls($"http://127.0.0.1:{dashboardPort}");
    builder.AddServiceDefaults();
    builder.Services.AddSingleton(system.App);
    builder.Services.AddSingleton<AppHostMetrics>();
    var dashboard = builder.Build();
    dashboard.MapDefaultEndpoints();
    var token = system.CreateToken("developer");
    dashboard.MapStatusPage(system.App, () => token);
    _ = dashboard.Services.GetRequiredService<AppHostMetrics>();
    await dashboard.StartAsync(shutdown.Token);

    var gateway = system.GatewayWebSocket();
    var extras = new List<(string, string)>
    {
        ("dashboard", $"http://127.0.0.1:{dashboardPort}/"),
        ("gateway ws", gateway.ToString()),
        ("team screen", options.Web ? system.App.GetEndpoint(StockStreamModel.Web + "-0").ToString() : "(disabled)"),
        ("token", token),
        ("try it", $"websocat -H 'Authorization: Bearer {token[..12]}…' {gateway}   then send {{\"type\":\"subscribe\",\"id\":1,\"symbols\":[\"AAPL\"]}}"),
    };
    view.Table(system.App.Snapshot(), extras);
    view.Info("Ready. Ctrl+C stops everything.");

    try
    {
        await Task.Delay(Timeout.Infinite, shutdown.Token);
    }
    catch (OperationCanceledException)
    {
        view.Info("Stopping: web, gateways, ingestor, then Redis…");
    }

    await dashboard.StopAsync(CancellationToken.None);
}

view.Info("Stopped; no process left behind.");
return 0;

static int ChoosePort(int preferred)
{
    try
    {
        using var listener = new TcpListener(IPAddress.Loopback, preferred);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
    catch (SocketException)
    {
        // Another AppHost has it: two on one machine must not collide.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

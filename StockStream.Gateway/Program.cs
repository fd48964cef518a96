using StockStream.Gateway;
using StockStream.Gateway.Auth;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddGatewayAuth();
builder.AddMarketDataFanOut();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapMarketData();
app.MapGet("/", () => Results.Text("StockStream gateway: connect a WebSocket to /ws (docs/protocol.md)."));

app.Run();

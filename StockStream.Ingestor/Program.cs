using StockStream.Ingestor;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPublishing();
builder.AddSimulatedTickers();
builder.AddCoinGecko();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGet("/", () => "StockStream.Ingestor");

app.Run();

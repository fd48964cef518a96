using StockStream.Web.Components;
using StockStream.Web.Feed;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddGatewayFeed();
builder.AddTeamScreen();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapTeamScreen();

app.Run();

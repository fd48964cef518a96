using StockStream.Remediation;
using StockStream.Remediator;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddRemediator();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapRemediationWebhook(RemediatorExtensions.AlertsPath);
app.MapGet("/", () => Results.Text("StockStream remediator: Alertmanager posts to /alerts; restarts Deployments (docs/kubernetes.md)."));

app.Run();

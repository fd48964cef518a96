using System.Net;
using System.Text;
using StockStream.AppHost.Hosting;

namespace StockStream.AppHost.Dashboard;

/// <summary>The same resource table as the console, as a small auto-refreshing page and as JSON.</summary>
public static class StatusPage
{
    public static void MapStatusPage(this IEndpointRouteBuilder endpoints, DistributedApplication app, Func<string> token)
    {
        endpoints.MapGet("/api/resources", () => Results.Json(app.Snapshot()));
        endpoints.MapGet("/", () => Results.Content(Render(app, token()), "text/html; charset=utf-8"));
    }

    private static string Render(DistributedApplication app, string token)
    {
        var rows = new StringBuilder();
        foreach (var r in app.Snapshot())
        {
            var url = r.Url is null ? "" : WebUtility.HtmlEncode(r.Url);
            rows.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"<tr><td>{r.Name}</td><td class=\"{r.State}\">{r.State}</td><td>{(r.Url?.StartsWith("http", StringComparison.Ordinal) == true ? $"<a href=\"{url}\">{url}</a>" : url)}</td><td>{r.Restarts}</td><td>{r.Pid}</td><td>{WebUtility.HtmlEncode(r.LastError ?? "")}</td></tr>");
        }

        return $$"""
            <!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>StockStream AppHost</title>
            <style>body{font-family:system-ui,sans-serif;background:#0f1419;color:#e6e6e6;margin:2rem}table{border-collapse:collapse}
            td,th{padding:.4rem 1rem;border-bottom:1px solid #333;text-align:left}.Running{color:#3fb950}.Unhealthy,.Failed{color:#f85149}
            .Restarting,.Starting,.Waiting{color:#d29922}code{word-break:break-all;font-size:.8rem}</style></head><body>
            <h1>StockStream resources</h1><table><tr><th>Resource</th><th>State</th><th>URL</th><th>Restarts</th><th>PID</th><th>Last error</th></tr>{{rows}}</table>
            <h2>Development token</h2><p><code>{{WebUtility.HtmlEncode(token)}}</code></p></body></html>
            """;
    }
}

using StockStream.Web.Screen;

namespace StockStream.Web.Components;

public static class ComponentsExtensions
{
    /// <summary>The team screen: Blazor with interactive server rendering and its settings.</summary>
    public static WebApplicationBuilder AddTeamScreen(this WebApplicationBuilder builder)
    {
        // Serve wwwroot and blazor.web.js from a build output in any environment (the AppHost runs bin/ builds);
        // a published app has no development manifest and this does nothing.
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddOptions<ScreenOptions>()
            .Configure<IConfiguration>((options, configuration) => ScreenOptions.Bind(options, configuration.GetSection(ScreenOptions.Section)))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ScreenClock>();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        return builder;
    }

    public static WebApplication MapTeamScreen(this WebApplication app)
    {
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}

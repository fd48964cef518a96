using System.Globalization;
using System.Text;
using StockStream.AppHost.Hosting;

namespace StockStream.AppHost.Dashboard;

/// <summary>What a person sees in the terminal: prefixed service logs, state changes, the resource table.</summary>
public sealed class ConsoleView(bool quiet)
{
    private static readonly ConsoleColor[] Palette = [ConsoleColor.Cyan, ConsoleColor.Magenta, ConsoleColor.Yellow, ConsoleColor.Green, ConsoleColor.Blue, ConsoleColor.DarkCyan, ConsoleColor.DarkYellow];
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ConsoleColor> _colors = new(StringComparer.Ordinal);

    public void Line(string resource, string text)
    {
        if (quiet)
        {
            return;
        }

        Write(resource, text);
    }

    public void Info(string text) => Write("apphost", text);

    public void Error(string text)
    {
        lock (_gate)
        {
            Console.ForegroundColor = ConsoleColor.Red;
            Console.Error.WriteLine(text);
            Console.ResetColor();
        }
    }

    public void Changed(ResourceInstance instance) =>
        Write("apphost", $"{instance.Name} is {instance.State}{(instance.Restarts > 0 ? $" (restarts: {instance.Restarts})" : "")}");

    public void Table(IReadOnlyList<ResourceSnapshot> resources, IEnumerable<(string Label, string Value)> extras)
    {
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"RESOURCE",-14}{"STATE",-12}{"RESTARTS",-10}URL");
        foreach (var r in resources)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {r.Name,-14}{r.State,-12}{r.Restarts,-10}{r.Url}");
        }

        text.AppendLine();
        foreach (var (label, value) in extras)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {label,-14}{value}");
        }

        lock (_gate)
        {
            Console.WriteLine(text.ToString());
        }
    }

    private void Write(string resource, string text)
    {
        lock (_gate)
        {
            if (!_colors.TryGetValue(resource, out var color))
            {
                color = resource == "apphost" ? ConsoleColor.White : Palette[_colors.Count % Palette.Length];
                _colors[resource] = color;
            }

            Console.ForegroundColor = color;
            Console.Write($"{resource,-12}| ");
            Console.ResetColor();
            Console.WriteLine(text);
        }
    }
}

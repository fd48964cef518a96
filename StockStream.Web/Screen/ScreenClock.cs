using System.Globalization;
using Microsoft.Extensions.Options;

namespace StockStream.Web.Screen;

/// <summary>Time as the room reads it: the configured zone (or the server's), 24-hour clock.</summary>
public sealed class ScreenClock(IOptions<ScreenOptions> options, TimeProvider time)
{
    private readonly TimeZoneInfo _zone = options.Value.TimeZone is { } id && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone)
        ? zone
        : time.LocalTimeZone;

    public string ZoneName => _zone.BaseUtcOffset == TimeSpan.Zero && !_zone.SupportsDaylightSavingTime ? "UTC" : _zone.Id;

    public DateTimeOffset Local(DateTimeOffset instant) => TimeZoneInfo.ConvertTime(instant, _zone);

    public string Time(DateTimeOffset instant) => Local(instant).ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    public string ShortTime(DateTimeOffset instant) => Local(instant).ToString("HH:mm", CultureInfo.InvariantCulture);

    public string Date(DateTimeOffset instant) => Local(instant).ToString("ddd d MMM yyyy", CultureInfo.InvariantCulture);
}

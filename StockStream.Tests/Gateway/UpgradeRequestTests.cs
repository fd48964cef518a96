using System.Text;
using StockStream.Gateway.Connections;
using Status = StockStream.Gateway.Connections.UpgradeRequest.Status;

namespace StockStream.Tests.Gateway;

/// <summary>What the fast path below HTTP reads as its own; everything else is Kestrel's (<see cref="UpgradeRequest"/>).</summary>
public sealed class UpgradeRequestTests
{
    private const string Head = "Host: gateway\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    [Fact]
    public void Upgrade_to_ws_is_ours_with_its_token_origin_and_length()
    {
        var text = "GET /ws?access_token=abc HTTP/1.1\r\n" + Head + "Authorization: Bearer xyz\r\nOrigin: https://a.test\r\n\r\n";
        Assert.Equal(Status.Ours, Parse(text + "\u0081\u0080", out var request));
        Assert.Equal("/ws?access_token=abc", request!.Target);
        Assert.Equal("Bearer xyz", request.Authorization);
        Assert.Equal("https://a.test", request.Origin);
        Assert.Equal(text.Length, request.Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("GE")]
    [InlineData("GET /ws")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: gate")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: gateway\r\n")]
    public void Prefix_of_an_upgrade_needs_more(string text) => Assert.Equal(Status.NeedMore, Parse(text, out _));

    [Theory]
    [InlineData("POST /ws HTTP/1.1\r\n")]
    [InlineData("GET /wsx HTTP/1.1\r\n")]
    [InlineData("GET /ws/ HTTP/1.1\r\n")]
    [InlineData("GET /WS HTTP/1.1\r\n")]
    [InlineData("GET /ws HTTP/1.0\r\n")]
    [InlineData("GET /ws#x HTTP/1.1\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n")]
    [InlineData("\u0016\u0003\u0001")]
    [InlineData("GET /ws HTTP/1.1\nHost: x")]
    [InlineData("GET /ws HTTP/1.1\r\nBad Header: x\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\n folded: x\r\n")]
    public void Anything_else_is_not_ours_as_soon_as_it_shows(string text) => Assert.Equal(Status.NotOurs, Parse(text, out _));

    [Theory]
    [InlineData("Content-Length: 0\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\n")]
    [InlineData("Host: twice\r\n")]
    [InlineData("Authorization: Bearer a\r\nAuthorization: Bearer b\r\n")]
    [InlineData("X-Latin1: caf\u00e9\r\n")]
    public void Doubtful_headers_leave_the_request_to_kestrel(string extra) =>
        Assert.Equal(Status.NotOurs, Parse("GET /ws HTTP/1.1\r\n" + Head + extra + "\r\n", out _));

    [Theory]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: h2c\r\n")]
    [InlineData("Connection: keep-alive, Upgrade\r\n", "Connection: keep-alive\r\n")]
    [InlineData("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 8\r\n")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Key: short\r\n")]
    [InlineData("Host: gateway\r\n", "")]
    public void Not_a_websocket_upgrade_is_not_ours(string header, string replacement) =>
        Assert.Equal(Status.NotOurs, Parse("GET /ws HTTP/1.1\r\n" + Head.Replace(header, replacement, StringComparison.Ordinal) + "\r\n", out _));

    [Fact]
    public void Head_larger_than_8_KiB_is_not_ours() =>
        Assert.Equal(Status.NotOurs, Parse("GET /ws HTTP/1.1\r\n" + Head + "X-Padding: " + new string('p', UpgradeRequest.MaxHeaderBytes), out _));

    [Fact]
    public void Accept_key_is_rfc_6455s_example() =>
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketFastPath.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="));

    private static Status Parse(string text, out UpgradeRequest? request) =>
        UpgradeRequest.TryParse(Encoding.Latin1.GetBytes(text), out request);
}

// `helm test` for StockStream: open a WebSocket to the gateway, subscribe to one symbol and wait for an update.
// Node.js 22+ (global WebSocket), no packages. Exit 0 on the first update, 1 on an error frame, a close or timeout.
// Environment: GATEWAY_URL (ws://host:port), SYMBOL, TIMEOUT_SECONDS, and either TOKEN or SIGNING_KEY
// (+ ISSUER, AUDIENCE) to mint a short-lived development token the way deploy/scripts/mint-token.sh does.
import { createHmac } from "node:crypto";

const env = process.env;
const symbol = env.SYMBOL || "AAPL";
const timeoutSeconds = Number(env.TIMEOUT_SECONDS || "60");

function mintToken() {
  const key = env.SIGNING_KEY || "";
  if (key.length < 32) {
    fail("no TOKEN and no SIGNING_KEY of at least 32 characters: cannot authenticate");
  }
  const now = Math.floor(Date.now() / 1000);
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = encode({ alg: "HS256", typ: "JWT" });
  const payload = encode({
    sub: "helm-test", iss: env.ISSUER || "stockstream-dev", aud: env.AUDIENCE || "stockstream",
    scope: "marketdata:read", iat: now, nbf: now - 5, exp: now + 300,
  });
  // The gateway uses the UTF-8 bytes of the key string as the HMAC key.
  const signature = createHmac("sha256", Buffer.from(key, "utf8")).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

const token = env.TOKEN || mintToken();
const url = `${(env.GATEWAY_URL || "").replace(/\/$/, "")}/ws?access_token=${encodeURIComponent(token)}`;
const timer = setTimeout(() => fail(`no update for ${symbol} within ${timeoutSeconds} s`), timeoutSeconds * 1000);

const socket = new WebSocket(url);
socket.addEventListener("open", () => {
  console.log(`connected to ${env.GATEWAY_URL}; subscribing to ${symbol}`);
  socket.send(JSON.stringify({ type: "subscribe", id: 1, symbols: [symbol] }));
});
socket.addEventListener("message", (event) => {
  const frame = JSON.parse(String(event.data));
  if (frame.type === "error") {
    fail(`error frame ${frame.code} ${frame.reason}: ${frame.message}`);
  }
  if (frame.type === "update" && frame.symbol === symbol) {
    console.log(`PASS: update ${frame.symbol} seq ${frame.seq} price ${frame.price}`);
    clearTimeout(timer);
    socket.close(1000, "helm test done");
    process.exit(0);
  }
});
socket.addEventListener("close", (event) => fail(`connection closed ${event.code} ${event.reason}`));
socket.addEventListener("error", () => fail(`cannot connect to ${env.GATEWAY_URL}`));

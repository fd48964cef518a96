#!/usr/bin/env bash
# Smoke-tests a deployed revision before it gets traffic: the gateway over a real WebSocket (subscribe, receive a
# live update: WebSocketSmoke.cs) and the web front end over HTTPS (/alive and the page).
#   .github/scripts/smoke-test.sh <gateway-host> <web-host>
# Needs STOCKSTREAM_JWT_SIGNING_KEY (the token is minted here with deploy/scripts/mint-token.sh) and the .NET 10 SDK.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 <gateway-host> <web-host>" >&2
  exit 2
fi
gateway_host="$1"
web_host="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
timeout_seconds="${SMOKE_TIMEOUT_SECONDS:-90}"

STOCKSTREAM_SMOKE_TOKEN="$("$root/deploy/scripts/mint-token.sh" cd-smoke-test 600)"
export STOCKSTREAM_SMOKE_TOKEN

echo "gateway: wss://$gateway_host/ws"
dotnet run "$root/.github/scripts/WebSocketSmoke.cs" -- "wss://$gateway_host/ws" "$timeout_seconds"

echo "web: https://$web_host/"
for path in /alive /; do
  status="$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 30 --retry 5 --retry-all-errors "https://$web_host$path")"
  if [ "$status" != "200" ]; then
    echo "FAIL: https://$web_host$path answered $status" >&2
    exit 1
  fi
done
echo "OK: web answers /alive and /"

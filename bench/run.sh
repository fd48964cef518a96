#!/usr/bin/env bash
# Builds and runs the load generator against StockStream and the SignalR + Redis baseline (docs/benchmarks.md).
#   bench/run.sh --clients 1000 --subs 20 --instruments 200 --rate 2000            # both servers, one after the other
#   bench/run.sh --servers stockstream --clients 20000 --idle-only                 # one server only
#   bench/run.sh --arrivals lockstep --clients 10000 --subs 20 --instruments 1000 --rate 2000
#   bench/run.sh --url ws://127.0.0.1:5000/ws --token "$TOKEN" --clients 500     # a running server; nothing started
# Environment: CONFIGURATION (default Release), NO_BUILD=1 to skip the build, BUILD_ARGS for dotnet build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
configuration="${CONFIGURATION:-Release}"

# --servers a,b is this script's: the load generator runs once per server. Default: both, unless --url/--server given.
servers="stockstream,signalr"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --servers) servers="$2"; shift 2 ;;
    --url|--server) servers=""; args+=("$1" "$2"); shift 2 ;;
    --help|-h) servers=""; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

# One file descriptor per client here and one per client in the server (a child: it inherits the limit). Root may
# raise the hard limit (20k idle connections need more than the usual 20,000).
ulimit -Hn 1048576 2>/dev/null || true
hard="$(ulimit -Hn)"
if [[ "$hard" == "unlimited" ]]; then hard=1048576; fi
ulimit -n "$hard"
echo "ulimit -n $(ulimit -n); nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

build() {
  # Retry: a concurrent build on this machine may hold a file for a moment.
  for attempt in 1 2 3; do
    if dotnet build "$1" -c "$configuration" -v q -nologo ${BUILD_ARGS:-}; then return 0; fi
    if [[ "$attempt" == 3 ]]; then return 1; fi
    echo "build of $1 failed (attempt $attempt); retrying in 10 s" >&2
    sleep 10
  done
}

if [[ "${NO_BUILD:-}" != "1" ]]; then
  build "$here/StockStream.LoadGen"
  if [[ -n "$servers" ]]; then
    build "$repo/StockStream.Ingestor"
    [[ "$servers" == *stockstream* ]] && build "$repo/StockStream.Gateway"
    [[ "$servers" == *signalr* ]] && build "$here/StockStream.Bench.SignalR"
  fi
fi

loadgen=("dotnet" "$here/StockStream.LoadGen/bin/$configuration/net10.0/StockStream.LoadGen.dll")
if [[ -z "$servers" ]]; then
  exec "${loadgen[@]}" --configuration "$configuration" "${args[@]}"
fi

# Each run in its own process group: if the load generator dies without cleaning up (killed, aborted), the Redis,
# ingestor and server it started are still in that group and are stopped here instead of running on as orphans.
run_one() {
  setsid "${loadgen[@]}" --configuration "$configuration" --server "$1" "${args[@]}" &
  local pid=$!
  trap 'kill -INT "$pid" 2>/dev/null' INT TERM
  local rc=0
  wait "$pid" || rc=$?
  # wait returns early when a trapped signal arrives; wait again for the load generator's own clean-up.
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || rc=$?; done
  trap - INT TERM
  kill -TERM -- "-$pid" 2>/dev/null || true
  return "$rc"
}

status=0
IFS=',' read -r -a list <<< "$servers"
for server in "${list[@]}"; do
  run_one "$server" || status=$?
done
exit "$status"

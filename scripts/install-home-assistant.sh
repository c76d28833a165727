#!/usr/bin/env bash
# A separate virtualenv (.venv-ha) with Home Assistant Core for tests/ha (make test-ha).
# 2024.3.3 is the newest release that installs on Python 3.11. Installed with Home Assistant's own
# package_constraints.txt (shipped inside the wheel), plus the requirements of the integrations the test
# loads, so that hass never has to pip-install at run time (it runs with --skip-pip).
set -euo pipefail
cd "$(dirname "$0")/.."
HA_VERSION="${HA_VERSION:-2024.3.3}"
PYTHON="${PYTHON:-python3}"
VENV="${HA_VENV:-.venv-ha}"
STAMP="$VENV/.installed-$HA_VERSION"
[[ -f "$STAMP" ]] && exit 0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" download --quiet --no-deps "homeassistant==$HA_VERSION" -d "$work"
"$VENV/bin/python" - "$work" <<'PY'
import pathlib, sys, zipfile
work = pathlib.Path(sys.argv[1])
wheel = next(work.glob("homeassistant-*.whl"))
(work / "constraints.txt").write_bytes(zipfile.ZipFile(wheel).read("homeassistant/package_constraints.txt"))
PY
# What the integrations the test loads need (their manifest.json "requirements"), so that no pip runs
# inside hass: mqtt (paho-mqtt), frontend (without it hass starts in recovery mode) and its dependencies
# file_upload (janus), onboarding -> analytics/hardware (psutil-home-assistant), person -> image_upload
# (Pillow), backup (securetar), analytics (SQLAlchemy, fnv-hash-fast), cloud (ha-ffmpeg; it imports
# acme, which breaks with josepy 2).
"$VENV/bin/pip" install --quiet -c "$work/constraints.txt" \
  "$work"/homeassistant-*.whl \
  paho-mqtt home-assistant-frontend Pillow janus psutil-home-assistant securetar 'josepy<2' \
  aiohttp-zlib-ng aiohttp_cors aiohttp-fast-url-dispatcher SQLAlchemy fnv-hash-fast ha-ffmpeg
touch "$STAMP"

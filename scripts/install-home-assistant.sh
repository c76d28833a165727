#!/usr/bin/env bash
# A virtualenv with one Home Assistant Core version for tests/ha (make test-ha installs each tested one).
#   HA_VERSION  the release (default 2025.4.4, the newest that installs on Python 3.13.0)
#   PYTHON      its interpreter: a command or a path; pythonX.Y is also looked up among pyenv's versions,
#               which keeps all but the global one off PATH (default python3.13; 2024.3.3 needs python3.11)
#   HA_VENV     where (default .venv-ha-<version>, one virtualenv per version)
# Installed with Home Assistant's own package_constraints.txt (shipped inside the wheel), plus the
# requirements of the integrations the test loads, so that hass never has to pip-install at run time (it
# runs with --skip-pip).
set -euo pipefail
cd "$(dirname "$0")/.."
HA_VERSION="${HA_VERSION:-2025.4.4}"
PYTHON="${PYTHON:-python3.13}"
VENV="${HA_VENV:-.venv-ha-$HA_VERSION}"
STAMP="$VENV/.installed-$HA_VERSION"
[[ -f "$STAMP" ]] && exit 0

interpreter() {
  if "$1" -c '' 2>/dev/null; then
    echo "$1"
    return
  fi
  local found=""
  if [[ "$1" =~ ^python(3\.[0-9]+)$ ]] && command -v pyenv >/dev/null; then
    found="$(ls -d "$(pyenv root)/versions/${BASH_REMATCH[1]}".*/bin/"$1" 2>/dev/null | sort -V | tail -n 1)"
  fi
  if [[ -z "$found" ]]; then
    echo "install-home-assistant: no working $1 for Home Assistant $HA_VERSION (set PYTHON to its path)" >&2
    exit 2
  fi
  echo "$found"
}

python="$(interpreter "$PYTHON")"
echo "Home Assistant $HA_VERSION into $VENV ($("$python" --version))"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m venv --clear "$VENV"  # --clear: a half-finished earlier install starts over
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
# acme, which breaks with josepy 2), and numpy: the stream component imports it, and without it
# GET /api/services answers 500.
"$VENV/bin/pip" install --quiet -c "$work/constraints.txt" \
  "$work"/homeassistant-*.whl \
  paho-mqtt home-assistant-frontend Pillow janus psutil-home-assistant securetar 'josepy<2' \
  aiohttp-zlib-ng aiohttp_cors aiohttp-fast-url-dispatcher SQLAlchemy fnv-hash-fast ha-ffmpeg numpy
touch "$STAMP"

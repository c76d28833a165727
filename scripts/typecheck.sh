#!/usr/bin/env bash
# mypy on the installed layout: hub/, device_agent/ and integrations/ import as replens.hub etc.,
# so type-check a tree of links that has that shape (works with any kind of install).
set -euo pipefail
cd "$(dirname "$0")/.."
tree=.typecheck
rm -rf "$tree" && mkdir -p "$tree/replens"
for f in replens/*; do ln -s "$PWD/$f" "$tree/replens/"; done
for d in hub device_agent integrations; do ln -s "$PWD/$d" "$tree/replens/$d"; done
exec "${MYPY:-.venv/bin/mypy}" --config-file pyproject.toml "$tree/replens" tests bench

#!/usr/bin/env bash
# Debian packages simtool's tests use. Idempotent; needs root. Extended as PC/SC and PostgreSQL land.
set -euo pipefail
PKGS=(python3-venv)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

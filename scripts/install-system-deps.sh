#!/usr/bin/env bash
# Debian packages simtool's tests use. Idempotent; needs root. Extended as PC/SC and PostgreSQL land.
set -euo pipefail
cd "$(dirname "$0")/.."
# PC/SC: pcscd and the vsmartcard vpcd driver (emulated cards as readers), pcsc-tools (scriptor,
# pcsc_scan) for the interop tests, and what pyscard needs to build from source (gcc, swig, libpcsclite-dev).
# PostgreSQL: the server binaries (/usr/lib/postgresql/<version>/bin) for the throw-away clusters of the
# ledger tests and bench (simtool/testing/postgres.py); Debian's own `main` cluster is not used.
# osmo-hlr (and libosmocore-utils): the real HLR the network-side tests start on loopback (osmo_hlr marker).
PKGS=(python3-venv pcscd libpcsclite-dev swig gcc python3-dev vsmartcard-vpcd pcsc-tools postgresql
  osmo-hlr libosmocore-utils)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# vpcd reader entries: 4 emulated readers (Debian's entry gives slots 0-1, ports 35963-35964; simtool adds
# slots 2-3 on 35965-35966, with their own copy of libifdvpcd.so). The same code as
# `simtool emulator vpcd-config --slots 4 --install`, run with the system Python (simtool is not installed yet).
VPCD_SLOTS="${SIMTOOL_VPCD_SLOTS:-4}"
changed="$(python3 simtool/transport/vpcdconf.py --slots "$VPCD_SLOTS" --install)"
if [ -n "$changed" ]; then
  echo "$changed"
  # pcscd reads reader.conf.d when it starts: restart a running one (the tests start it when none runs)
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pcscd 2>/dev/null; then
    systemctl restart pcscd || true
  elif [ -s /run/pcscd/pcscd.pid ] && kill -0 "$(cat /run/pcscd/pcscd.pid)" 2>/dev/null; then
    echo "note: pcscd is running with the old reader list; restart it to get $VPCD_SLOTS vpcd readers" >&2
  fi
fi

"""`hlr load` into a real osmo-hlr (issue 15): seconds and subscribers per second for N subscribers.

A batch of N identities is allocated (`batch create`, not flashed: `hlr load DIR` takes every allocated
identity), a fresh osmo-hlr is started on loopback (`simtool.testing.osmohlr`: its own 127.42.N.M, a fresh
SQLite database), and `simtool hlr load DIR` runs twice as a real process: the first creates every
subscriber (show, create, MSISDN, aud3g, read back), the second finds them all unchanged (show only). The
figures are the processes' wall times, start-up included. Skipped, with the reason, without osmo-hlr.

    python bench/bench_hlr_load.py [--subscribers N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simtool.batch.create import CreateRequest, create_batch  # noqa: E402
from simtool.batch.keys import create_key_file  # noqa: E402
from simtool.testing.osmohlr import OsmoHlrUnavailable, start_hlr  # noqa: E402

PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"


def _load(bdir: Path, vty: str) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "simtool", "hlr", "load", str(bdir), "--osmo-hlr-vty", vty, "--json"],
                       capture_output=True, text=True, env=env, timeout=3600)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"hlr load exited {r.returncode}: {r.stderr.strip()[-400:]}")
    return wall, json.loads(r.stdout)


def measure(subscribers: int = 10_000) -> dict:
    try:
        hlr = start_hlr()
    except OsmoHlrUnavailable as e:
        return {"skipped": f"osmo-hlr not available: {e}"}
    with hlr, tempfile.TemporaryDirectory(prefix="bench-hlr-") as tmp:
        tk, bdir = Path(tmp) / "tk", Path(tmp) / "b"
        create_key_file(tk)
        create_batch(CreateRequest(directory=str(bdir), profile=str(PROFILE), imsi_start="204080000000001",
                                   transport_key=str(tk), count=subscribers, iccid_start="8931080000000000019",
                                   msisdn_start="+31612000001", adm=bytes.fromhex("3131313131313131")))
        first_s, first = _load(bdir, hlr.vty_address)
        second_s, second = _load(bdir, hlr.vty_address)
        version = subprocess.run([str(hlr.binary), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"subscribers": subscribers, "osmo_hlr": version,
            "create": {"seconds": round(first_s, 2), "per_s": round(subscribers / first_s, 1),
                       "created": first["created"], "failed": first["failed"]},
            "rerun": {"seconds": round(second_s, 2), "per_s": round(subscribers / second_s, 1),
                      "unchanged": second["unchanged"], "failed": second["failed"]}}


def report(res: dict) -> None:
    if "skipped" in res:
        print(f"skipped: {res['skipped']}")
        return
    print(f"hlr load of {res['subscribers']} subscribers into {res['osmo_hlr']} on loopback (VTY, pipelined):")
    for k in ("create", "rerun"):
        r = res[k]
        print(f"  {k:7} {r['seconds']:8.2f} s  {r['per_s']:8.1f} subscribers/s  "
              f"({', '.join(f'{n} {v}' for n, v in r.items() if n not in ('seconds', 'per_s'))})")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--subscribers", type=int, default=10_000)
    report(measure(p.parse_args().subscribers))

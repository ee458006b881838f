"""eSIM packages: how many per second the per-identity pipeline makes (build from render, seal under the
transport key with the ICCID as associated data, write atomically 0600, read back, unseal, inspect and
compare with the image), and the size of one package of each shipped profile.

The ledger's part of `batch run --esim` (lease, claim, mark) is not in this figure: `bench_batch.py`
measures the ledger for cards. Run: python bench/bench_esim.py [--count N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simtool.crypto.secrets import write_secret_file  # noqa: E402
from simtool.esim import build, inspect, package_image  # noqa: E402
from simtool.esim.inspect import collect_files, model_paths  # noqa: E402
from simtool.esim.saip import split  # noqa: E402
from simtool.esim.sealed import seal_package, unseal_package  # noqa: E402
from simtool.profile.identity import Identity  # noqa: E402
from simtool.profile.load import load_profile  # noqa: E402
from simtool.profile.luhn import luhn_digit  # noqa: E402

KEY = bytes(range(32))


def _identity(n: int) -> Identity:
    body = f"89310800001{n:07d}"
    return Identity.create(iccid=body + luhn_digit(body), imsi=f"20408{n:010d}", ki=f"{n:032x}", opc=f"{n + 1:032x}",
                           pin1="0000", puk1="12345678", pin2="1234", puk2="87654321", adm1_hex="3838383838383838")


def measure(count: int = 10_000) -> dict[str, Any]:
    profiles = sorted((ROOT / "profiles").glob("*.yaml"))
    sizes = {p.stem: len(build(load_profile(p), _identity(0))) for p in profiles}
    profile = load_profile(profiles[0])
    paths = model_paths()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for n in range(1, count + 1):
            identity = _identity(n)
            der = build(profile, identity)
            out = Path(d) / f"{identity.iccid}.upp"
            write_secret_file(out, seal_package(KEY, identity.iccid, der))
            iccid, back = unseal_package(KEY, out.read_bytes())
            doc = inspect(back)
            files = {paths[k]: bytes(f.body) for k, f in collect_files(split(back)).items() if f.kind != "df"}
            if doc["problems"] or iccid != identity.iccid or files != package_image(profile, identity):
                raise AssertionError(f"package {n} did not check")
    dt = time.perf_counter() - t0
    return {"count": count, "seconds": round(dt, 2), "packages_per_second": round(count / dt, 1),
            "package_bytes": sizes}


def report(r: dict[str, Any]) -> None:
    print(f"  {r['count']} packages (build, seal, write, unseal, inspect, compare): {r['seconds']} s, "
          f"{r['packages_per_second']} packages/s")
    for name, size in r["package_bytes"].items():
        print(f"  one package of {name}: {size} bytes")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = measure(a.count)
    print(json.dumps(res, indent=2)) if a.json else report(res)

"""eSIM packages: how many per second the per-identity pipeline makes (build from render, seal under the
transport key with the ICCID as associated data, write atomically 0600, read back, unseal, inspect and
compare with the image), and the size of one package of each shipped profile.

`--batch` measures the whole `batch run --esim` path instead: an eSIM batch of N identities created, then
run into a package directory (lease, build, seal, atomic write inside `writing`, read back, unseal,
inspect, compare, `verified`: SQLite ledger, commits fsynced). Run:
python bench/bench_esim.py [--count N] [--batch] [--json]
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


def measure_batch(count: int = 10_000) -> dict[str, Any]:
    """`batch create --esim` then `batch run --esim OUTDIR`, in this process, timed; every package verified."""
    import contextlib
    import io

    from simtool.cli.main import main as simtool_main

    def sim(*args: Any) -> str:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = simtool_main([str(a) for a in args])
        if code != 0:
            raise AssertionError(f"simtool {args[:2]}: exit {code}")
        return buf.getvalue()

    with tempfile.TemporaryDirectory() as d:
        key, b, out = Path(d) / "tk", Path(d) / "b", Path(d) / "packages"
        sim("keys", "new", key)
        t0 = time.perf_counter()
        sim("batch", "create", b, "--esim", "--profile", ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml",
            "--count", count, "--iccid-start", "8931080000000100017", "--imsi-start", "204080000100001",
            "--transport-key", key)
        created = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = json.loads(sim("batch", "run", b, "--esim", out, "--json").splitlines()[-1])
        dt = time.perf_counter() - t0
        if summary["counts"]["verified"] != count or len(list(out.glob("*.upp"))) != count:
            raise AssertionError(f"batch run --esim: {summary['counts']}")
    return {"count": count, "create_seconds": round(created, 2), "run_seconds": round(dt, 2),
            "packages_per_second": round(count / dt, 1)}


def report(r: dict[str, Any]) -> None:
    if "run_seconds" in r:
        print(f"  batch run --esim, {r['count']} identities: {r['run_seconds']} s ({r['packages_per_second']} "
              f"packages/s; batch create --esim {r['create_seconds']} s)")
        return
    print(f"  {r['count']} packages (build, seal, write, unseal, inspect, compare): {r['seconds']} s, "
          f"{r['packages_per_second']} packages/s")
    for name, size in r["package_bytes"].items():
        print(f"  one package of {name}: {size} bytes")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--batch", action="store_true", help="through `batch run --esim` (ledger included)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = measure_batch(a.count) if a.batch else measure(a.count)
    print(json.dumps(res, indent=2)) if a.json else report(res)

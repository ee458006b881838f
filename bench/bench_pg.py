"""Several stations, one batch, a PostgreSQL ledger (issue 8): cards per minute with 1, 2 and 4 stations at 10 ms
injected latency per APDU.

Each point is a fresh batch (60 cards by default) in a fresh database of a throw-away cluster started from
Debian's package (`simtool.testing.postgres`, durable: fsync and synchronous_commit on, as a factory's server
runs). Each station is a real `python -m simtool batch run` process with 4 emulated readers whose cards live in
memory (`emu-feed:?latency_ms=10`): the figure is the stations' work (leases, journal, flash with read-back and
AKA, at 10 ms per APDU) and the ledger's, not the emulator's card-file fsyncs. Cards per minute are taken over
the ledger's own span, from the first lease to the last verified card (so the processes' start-up is not
counted); the wall time of the whole point is printed beside it. Skipped, with the reason, when PostgreSQL or
psycopg is not there.

    python bench/bench_pg.py [--cards N] [--stations 1,2,4] [--readers-per-station 4] [--latency-ms 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from simtool.batch.ledger import open_ledger, redact_url  # noqa: E402
from simtool.testing.postgres import PostgresUnavailable, start_cluster  # noqa: E402

PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
ADM = bytes.fromhex("3131313131313131")


def _t(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def stations_rate(cluster, n: int, cards: int, readers: int, latency_ms: float, work: Path) -> dict:
    """Cards per minute with `n` station processes of `readers` readers each on one batch of `cards` cards."""
    d = work / f"s{n}"
    d.mkdir(parents=True)
    key_file = d / "tk"
    create_key_file(key_file)
    url = cluster.create_database(f"bench_{n}")
    res = create_batch(CreateRequest(directory=str(d / "b"), profile=str(PROFILE), imsi_start="204080000000001",
                                     transport_key=str(key_file), count=cards, iccid_start="8931080000000000019",
                                     adm=ADM, ledger=url))
    args = [sys.executable, "-m", "simtool", "batch", "run", str(d / "b"), "--ledger", redact_url(url), "--json"]
    for _ in range(readers):
        args += ["--reader", f"emu-feed:?latency_ms={latency_ms:g}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PGPASSWORD": cluster.password}
    t0 = time.perf_counter()
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(n)]
    per_station = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"{n} stations: batch run exited {p.returncode}: {err[-500:]}")
        per_station.append(json.loads(out.splitlines()[-1])["verified_this_run"])
    wall = time.perf_counter() - t0
    with open_ledger(url) as ledger:
        counts = ledger.counts(res.batch.id)
        evs = [e for e in ledger.events(res.batch.id) if e.state in ("leased", "verified")]
    if counts["verified"] != cards:
        raise RuntimeError(f"{n} stations: {counts}")
    span = _t(max(e.time for e in evs if e.state == "verified")) - _t(min(e.time for e in evs if e.state == "leased"))
    return {"stations": n, "readers": n * readers, "cards": cards, "span_s": round(span, 3),
            "cards_per_min": round(60.0 * cards / span, 1), "wall_s": round(wall, 2),
            "wall_cards_per_min": round(60.0 * cards / wall, 1), "per_station": per_station}


def measure(cards: int = 60, stations: tuple[int, ...] = (1, 2, 4), readers_per_station: int = 4,
            latency_ms: float = 10.0) -> dict:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return {"skipped": "psycopg 3 is not installed (pip install 'simtool[postgres]')"}
    try:
        cluster = start_cluster(durable=True)
    except PostgresUnavailable as e:
        return {"skipped": f"PostgreSQL not available: {e}"}
    with cluster, tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        rates = [stations_rate(cluster, n, cards, readers_per_station, latency_ms, Path(tmp)) for n in stations]
        version = cluster.version
    base = rates[0]["cards_per_min"]
    for r in rates:
        r["speedup"] = round(r["cards_per_min"] / base, 2)
    return {"latency_ms": latency_ms, "readers_per_station": readers_per_station, "server": version,
            "cpus": os.cpu_count(), "stations": rates}


def report(res: dict) -> None:
    if "skipped" in res:
        print(f"skipped: {res['skipped']}")
        return
    print(f"cards/min with N stations x {res['readers_per_station']} emulated readers at {res['latency_ms']:g} ms per "
          f"APDU, one batch in PostgreSQL ({res['server']}, {res['cpus']} CPUs):")
    print(f"  {'stations':>8} {'readers':>7} {'cards':>5} {'span s':>7} {'cards/min':>9} {'speedup':>7} {'wall s':>7}")
    for r in res["stations"]:
        print(f"  {r['stations']:8} {r['readers']:7} {r['cards']:5} {r['span_s']:7.2f} {r['cards_per_min']:9.1f} "
              f"{r['speedup']:6.2f}x {r['wall_s']:7.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", type=int, default=60)
    ap.add_argument("--stations", default="1,2,4")
    ap.add_argument("--readers-per-station", type=int, default=4)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    a = ap.parse_args()
    result = measure(a.cards, tuple(int(x) for x in a.stations.split(",")), a.readers_per_station, a.latency_ms)
    report(result)
    print(json.dumps(result, indent=2))

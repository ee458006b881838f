"""Factory figures (issue 6, DESIGN.md §6): cards per minute with 1, 2, 4 and 8 emulated readers at 10 ms per
APDU, and `batch create` of 1,000,000 cards (time and peak memory).

The reader figure runs the real `batch run` machinery (ledger in SQLite with synchronous=FULL, leases,
journal, flash with read-back and AKA) on emulated feeds; cards live in memory (`emu-feed:`), since card
files only add the emulator's fsyncs, not the station's work. 8 readers must give >= 7x the rate of 1.

The create figure runs `python -m simtool batch create` as a subprocess and samples the RSS of its whole
process tree (the main process and its pool workers) every 20 ms. Targets: <= 60 s and <= 300 MB.

    python bench/bench_batch.py [--cards-per-reader N] [--create-count N] [--readers 1,2,4,8]
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
from simtool.batch.feed import open_source  # noqa: E402
from simtool.batch.keys import create_key_file, load_transport_key  # noqa: E402
from simtool.batch.ledger import open_ledger  # noqa: E402
from simtool.batch.runner import Runner, RunOptions  # noqa: E402

PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
ADM = bytes.fromhex("3131313131313131")


def readers_rate(n: int, cards_per_reader: int, latency_ms: float, work: Path) -> dict:
    """Cards per minute with `n` readers on a fresh batch of n * cards_per_reader cards."""
    d = work / f"r{n}"
    key_file = d / "tk"
    d.mkdir(parents=True)
    create_key_file(key_file)
    res = create_batch(CreateRequest(directory=str(d / "b"), profile=str(PROFILE), imsi_start="204080000000001",
                                     transport_key=str(key_file), count=n * cards_per_reader,
                                     iccid_start="8931080000000000019", adm=ADM))
    with open_ledger(res.ledger) as ledger:
        sources = [open_source(f"emu-feed:?latency_ms={latency_ms:g}") for _ in range(n)]
        runner = Runner(ledger, res.batch, load_transport_key(key_file), sources, RunOptions())
        t0 = time.perf_counter()
        summary = runner.run()
        seconds = time.perf_counter() - t0
    if summary.counts["verified"] != n * cards_per_reader:
        raise RuntimeError(f"{n} readers: {summary.counts}")
    return {"readers": n, "cards": n * cards_per_reader, "seconds": round(seconds, 3),
            "cards_per_min": round(60.0 * n * cards_per_reader / seconds, 1)}


def _tree_rss(pid: int) -> int:
    """RSS in bytes of `pid` and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p = int(entry)
        children.setdefault(int(parts[1]), []).append(p)
        rss[p] = int(parts[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def create_million(count: int, work: Path) -> dict:
    key_file = work / "create.tk"
    create_key_file(key_file)
    cmd = [sys.executable, "-m", "simtool", "batch", "create", str(work / "big"), "--profile", str(PROFILE),
           "--count", str(count), "--iccid-start", "8931080000000000019", "--imsi-start", "204080000000001",
           "--msisdn-start", "+31600000001", "--transport-key", str(key_file), "--adm-hex-file", str(work / "adm"),
           "--json"]
    (work / "adm").write_text(ADM.hex() + "\n")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - t0
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"batch create failed ({proc.returncode}): {err.decode()[-500:]}")
    doc = json.loads(out)
    db = work / "big" / "ledger.db"
    return {"count": count, "seconds": round(seconds, 2), "cards_per_s": round(count / seconds),
            "peak_rss_tree_mb": round(peak / 1e6, 1), "ledger_mb": round(db.stat().st_size / 1e6, 1),
            "workers": min(2, os.cpu_count() or 1), "batch": doc["batch"],
            "targets": {"seconds": 60, "peak_rss_mb": 300}}


def measure(cards_per_reader: int = 6, create_count: int = 1_000_000, readers: tuple[int, ...] = (1, 2, 4, 8),
            latency_ms: float = 10.0) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        rates = [readers_rate(n, cards_per_reader, latency_ms, work) for n in readers]
        base = rates[0]["cards_per_min"]
        for r in rates:
            r["speedup"] = round(r["cards_per_min"] / base, 2)
        out: dict = {"latency_ms": latency_ms, "readers": rates}
        if create_count:
            out["create"] = create_million(create_count, work)
    return out


def report(res: dict) -> None:
    print(f"cards/min at {res['latency_ms']:g} ms per APDU (emulated feeds, real ledger):")
    print(f"  {'readers':>7} {'cards':>5} {'seconds':>8} {'cards/min':>9} {'speedup':>7}")
    for r in res["readers"]:
        print(f"  {r['readers']:7} {r['cards']:5} {r['seconds']:8.2f} {r['cards_per_min']:9.1f} {r['speedup']:6.2f}x")
    eight = next((r for r in res["readers"] if r["readers"] == 8), None)
    if eight:
        print(f"  8 readers: {eight['speedup']}x of 1 (target >= 7x): {'ok' if eight['speedup'] >= 7 else 'MISSED'}")
    c = res.get("create")
    if c:
        ok = c["seconds"] <= 60 and c["peak_rss_tree_mb"] <= 300
        print(f"batch create of {c['count']:,} cards: {c['seconds']} s ({c['cards_per_s']:,} cards/s), peak RSS "
              f"{c['peak_rss_tree_mb']} MB (process tree, {c['workers']} workers), ledger {c['ledger_mb']} MB "
              f"(targets <= 60 s, <= 300 MB): {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards-per-reader", type=int, default=6)
    ap.add_argument("--create-count", type=int, default=1_000_000, help="0 skips the create figure")
    ap.add_argument("--readers", default="1,2,4,8")
    ap.add_argument("--latency-ms", type=float, default=10.0)
    a = ap.parse_args()
    result = measure(a.cards_per_reader, a.create_count, tuple(int(x) for x in a.readers.split(",")), a.latency_ms)
    report(result)
    print(json.dumps(result, indent=2))

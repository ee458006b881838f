"""In-process emulator throughput for a read workload: SELECT (P2=0C) + READ BINARY on an in-memory card.

Prints APDU/s (DESIGN.md §6; target >= 20,000/s). Run: python bench/bench_emulator.py [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from simtool.emulator import Card
from simtool.fs import DEFAULT_MODEL


def workload(card: Card) -> list[bytes]:
    """SELECT + READ BINARY (exact Le) of every transparent EF readable without a PIN, from the MF and
    from ADF.USIM, as a reader would do it."""
    apdus: list[bytes] = []
    fs = DEFAULT_MODEL.fs
    for entry in fs.efs():
        ef = entry.ef
        if ef.is_record or "always" not in [c.value for c in ef.read] or len(entry.parents) != 1:
            continue
        apdus.append(bytes([0x00, 0xA4, 0x00, 0x0C, 0x02]) + ef.fid.to_bytes(2, "big"))
        apdus.append(bytes([0x00, 0xB0, 0x00, 0x00, min(ef.size, 255)]))
    return apdus


def measure(seconds: float = 2.0) -> dict[str, float]:
    card = Card.blank(adm=b"12345678")
    apdus = workload(card)
    process = card.process
    for apdu in apdus:  # warm-up and a sanity check of the workload
        sw = process(apdu)[-2:]
        if sw != b"\x90\x00":
            raise SystemExit(f"workload APDU {apdu.hex()} answered {sw.hex()}")
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for apdu in apdus:
            process(apdu)
        n += len(apdus)
    elapsed = time.perf_counter() - start
    return {"apdus": n, "seconds": round(elapsed, 3), "apdu_per_s": round(n / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.seconds)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"in-process emulator, SELECT + READ BINARY: {result['apdu_per_s']:,} APDU/s "
              f"({result['apdus']:,} APDUs in {result['seconds']} s)")


if __name__ == "__main__":
    main()

"""`make soak`: the full power-cut sweep (issue 9), real fsyncs included.

Card level (done): every cut point of a personalization (after each APDU; inside each durable write,
before and after its rename) for both profiles, on every card model in every protocol it speaks
(simtool-emu T=0 and T=1, sysmoISIM-SJA2 T=0). Prints one line per case and a total (`--out FILE`
also writes it as JSON), exits 1 if any point failed.

Batch level: TODO(issue 9, batch part) — see `batch_sweep` below; it runs once `simtool batch run` has the
hooks it needs.

    python -m tests.hardening.soak [--case simtool-emu/T=0/1gb ...] [--variants apdu,written,renamed]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from tests.hardening.powercut import VARIANTS, Report, all_cases, sweep


def batch_sweep(workdir: Path) -> list[Report] | None:
    """TODO(issue 9, batch part): the batch-level power-cut points, to run once `simtool batch` has landed
    (simtool/batch/runner.py, tests/batch, owned by the factory-batch work):

    * for a batch of N emulated cards (`emu-feed:DIR`) and for every cut point of the run: between cards,
      before and after each ledger commit (`writing`, `written`, `verified`), and inside each card's
      flash (the card-level points above, with the card's ledger state at that moment);
    * cut = the card's `FaultPlan` fires (simtool.emulator.faults) and/or the runner process is stopped
      at the ledger hook; restart = reload the card from its state file and run `batch run` again;
    * check: every card ends verified, or is recognised (same ICCID/IMSI in the ledger) and re-flashed
      with the same identity; no identity issued twice; no key lost (the export decrypts and matches every
      card); the ledger's events are consistent (each card's last state is `verified` or `failed`).

    The runner needs two hooks for this: a way to hand it armed emulated cards (a feed that yields
    `Card` objects, or a factory callback) and a callback around each ledger commit. Until they exist
    this returns None and the soak says the batch points were not run.
    """
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help="MODEL/PROTOCOL/PROFILE (default: all)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS))
    ap.add_argument("--out", help="also write the report as JSON to this file")
    args = ap.parse_args(argv)
    variants = tuple(v for v in args.variants.split(",") if v)
    bad = set(variants) - set(VARIANTS)
    if bad:
        ap.error(f"unknown variants {', '.join(sorted(bad))}")
    cases = all_cases()
    if args.case:
        names = {c.name: c for c in cases}
        unknown = [c for c in args.case if c not in names]
        if unknown:
            ap.error(f"unknown cases {unknown}; known: {', '.join(names)}")
        cases = [names[c] for c in args.case]

    reports: list[Report] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="simtool-soak-") as d:
        for i, case in enumerate(cases):
            t = time.perf_counter()
            r = sweep(case, Path(d) / f"case{i}", variants)
            reports.append(r)
            print(f"{case.name:28} {r.apdus:4} APDUs {r.saves:3} writes | cut points "
                  + " ".join(f"{v} {n}" for v, n in r.points.items())
                  + f" | survived {r.survived}/{r.total}, guard refusals {r.guard_refusals}, "
                  f"failures {len(r.failures)} | {time.perf_counter() - t:.1f} s", flush=True)
            for f in r.failures[:20]:
                print(f"  FAIL {f}", flush=True)
        batch = batch_sweep(Path(d) / "batch")
    total = sum(r.total for r in reports)
    survived = sum(r.survived for r in reports)
    failures = sum(len(r.failures) for r in reports)
    elapsed = time.perf_counter() - t0
    print(f"total: {total} cut points over {len(reports)} cases, {survived} survived, {failures} failed, "
          f"{elapsed:.0f} s")
    if batch is None:
        print("batch-level cut points: NOT RUN (TODO issue 9: needs hooks in `simtool batch run`, "
              "see tests/hardening/soak.py batch_sweep)")
    doc = {"cases": [r.as_dict() for r in reports], "total": total, "survived": survived, "failed": failures,
           "seconds": round(elapsed, 1), "batch": None if batch is None else [r.as_dict() for r in batch]}
    if args.out:
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{survived} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

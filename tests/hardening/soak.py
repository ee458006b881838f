"""`make soak`: the full power-cut sweep (issue 9), real fsyncs included.

Card level (done): every cut point of a personalization (after each APDU; inside each durable write,
before and after its rename) for both profiles, on every card model in every protocol it speaks
(simtool-emu T=0 and T=1, sysmoISIM-SJA2 T=0). Prints one line per case and a total (`--out FILE`
also writes it as JSON), exits 1 if any point failed.

Batch level: `simtool batch run` on two emu-feed readers killed (SIGKILL) at every batch-level point of
tests/hardening/batchcut.py for every card of a small batch (after each lease, before and after each `writing`
and `verified` commit, between cards), and before every `--batch-apdu-step`-th APDU of the run; each cut is
followed by a second one inside the recovery run, then a clean run and `check_batch` (`--batch-cards 0`
skips it).

eSIM batches: `batch run --esim` killed at every eSIM cut point for every package of a small batch, then cut
again in the recovery run, a clean run and `check_esim_batch` (`--esim-packages 0` skips it).

Reader faults (tests/hardening/readerfaults.py): a card pulled, a vpcd slot closed and pcscd restarted at each
phase boundary of one card (after the guard, after VERIFY ADM, right after `writing`, mid-write, mid-verify,
right after `verified`), on a batch over two `pcsc:` readers behind the real pcscd; each point checked by
`check_batch` and its outcome compared with docs/batch.md (`--reader-faults none` skips them; without
pcscd/vpcd they are reported as not run, and fail the soak when CI=true).

    python -m tests.hardening.soak [--case simtool-emu/T=0/1gb ...] [--variants apdu,written,renamed]
        [--batch-cards 4] [--batch-apdu-step 5] [--reader-faults pull,close,restart]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from simtool.testing.pcscd import in_ci
from tests.hardening.powercut import VARIANTS, Report, all_cases, sweep


def batch_sweep(workdir: Path, cards: int = 4, apdu_step: int = 5) -> list[Report] | None:
    """The batch-level cut points (tests/hardening/batchcut.py): every point for each of the `cards` cards of a
    batch on two emu-feed readers, and before every `apdu_step`-th APDU of the run. Each scenario is a new
    batch: the run cut at the point, the run after it cut again at a point of the recovery (a card that came
    back claimed, or an APDU of its re-flash), a clean run, then `check_batch`: every identity verified exactly
    once, distinct identities on the cards, each where the ledger says, events consistent, the export complete
    and decrypting to keys the cards authenticate with."""
    from tests.hardening import batchcut

    if cards <= 0:
        return None
    report = Report(f"batch/{cards} cards/emu-feed x2", apdus=134)
    plans: list[tuple[str, list[str]]] = []
    for point in batchcut.POINTS:
        if point in ("apdu", "claim:after"):  # claim: only in a recovery run, the second cut of each plan
            continue
        for nth in range(1, cards + 1):
            for second in ("claim:after:1", "apdu:45"):
                plans.append((point, [f"{point}:{nth}", second]))
    for k in range(1, 134 * cards + 1, apdu_step):
        plans.append(("apdu", [f"apdu:{k}", f"apdu:{(k * 7) % 150 + 1}"]))
    for i, (point, cuts) in enumerate(plans):
        try:
            fired, problems = batchcut.scenario(workdir / f"s{i}", cuts, n=cards)
        except Exception as e:  # a scenario that breaks is a failure, not the end of the soak
            fired, problems = 0, [f"{type(e).__name__}: {e}"]
        report.points[point] = report.points.get(point, 0) + fired
        if problems:
            report.failures.append(f"{cuts}: {'; '.join(problems)[:500]}")
        else:
            report.survived += fired
        shutil.rmtree(workdir / f"s{i}", ignore_errors=True)
    return [report]


def esim_sweep(workdir: Path, packages: int = 4) -> Report | None:
    """`batch run --esim`: every eSIM cut point (tests/hardening/batchcut.py ESIM_POINTS) at each of the
    `packages` packages of a batch, each followed by a cut inside the recovery run (the package that came back
    claimed, or the next package written), then a clean run and `check_esim_batch`: every identity verified
    once, one package each and nothing else in OUTDIR, each the ledger identity's build, activation codes
    consistent, the export complete."""
    from tests.hardening import batchcut

    if packages <= 0:
        return None
    report = Report(f"esim/{packages} packages", apdus=0)
    plans = [(point, [f"{point}:{nth}", second]) for point in batchcut.ESIM_POINTS if point != "claim:after"
             for nth in range(1, packages + 1) for second in ("claim:after:1", "upp:after:1")]
    for i, (point, cuts) in enumerate(plans):
        try:
            fired, problems = batchcut.esim_scenario(workdir / f"s{i}", cuts, n=packages, smdp="smdp.example.com")
        except Exception as e:
            fired, problems = 0, [f"{type(e).__name__}: {e}"]
        report.points[point] = report.points.get(point, 0) + fired
        if problems:
            report.failures.append(f"{cuts}: {'; '.join(problems)[:500]}")
        else:
            report.survived += fired
        shutil.rmtree(workdir / f"s{i}", ignore_errors=True)
    return report


def reader_fault_sweep(workdir: Path, faults: tuple[str, ...]) -> tuple[Report | None, str]:
    """Every fault of `faults` at every phase (readerfaults.sweep); (report, "") or (None, why not run)."""
    from simtool.testing.pcscd import PcscUnavailable, ensure_pcscd
    from tests.hardening import readerfaults

    if not faults:
        return None, "--reader-faults none"
    try:
        pcscd = ensure_pcscd()
    except PcscUnavailable as e:
        return None, str(e)
    report = Report("pcsc x2/reader faults", apdus=0)

    def line(r: readerfaults.PointResult) -> None:
        report.points[r.fault] = report.points.get(r.fault, 0) + 1
        if r.ok:
            report.survived += 1
        else:
            report.failures.append(r.line())
        print(f"  {r.line()}", flush=True)

    try:
        readerfaults.sweep(workdir, pcscd, faults, report=line)
    except readerfaults.Unavailable as e:
        return (report if report.total else None), str(e)
    return report, ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help="MODEL/PROTOCOL/PROFILE (default: all)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS))
    ap.add_argument("--batch-cards", type=int, default=4, help="cards per batch-level scenario (0: skip them)")
    ap.add_argument("--batch-apdu-step", type=int, default=5, help="batch level: cut before every Nth APDU")
    ap.add_argument("--esim-packages", type=int, default=4, help="packages per eSIM scenario (0: skip them)")
    ap.add_argument("--reader-faults", default="pull,close,restart",
                    help="reader faults through pcscd to sweep at every phase (comma-separated; 'none' skips them)")
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
        t = time.perf_counter()
        batch = batch_sweep(Path(d) / "batch", args.batch_cards, args.batch_apdu_step)
        for r in batch or []:
            print(f"{r.case:28} | cut points " + " ".join(f"{p} {n}" for p, n in r.points.items())
                  + f" | survived {r.survived}/{r.total}, failures {len(r.failures)} | "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            for f in r.failures[:20]:
                print(f"  FAIL {f}", flush=True)
            reports.append(r)
        t = time.perf_counter()
        esim = esim_sweep(Path(d) / "esim", args.esim_packages)
        if esim is not None:
            print(f"{esim.case:28} | cut points " + " ".join(f"{p} {n}" for p, n in esim.points.items())
                  + f" | survived {esim.survived}/{esim.total}, failures {len(esim.failures)} | "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            for f in esim.failures[:20]:
                print(f"  FAIL {f}", flush=True)
            reports.append(esim)
        faults = tuple(f for f in args.reader_faults.split(",") if f and f != "none")
        t = time.perf_counter()
        print("reader faults through pcscd (fault@phase outcome):", flush=True)
        pcsc, why_not = reader_fault_sweep(Path(d) / "pcsc", faults)
        if pcsc is not None:
            print(f"{pcsc.case:28} | points " + " ".join(f"{p} {n}" for p, n in pcsc.points.items())
                  + f" | survived {pcsc.survived}/{pcsc.total}, failures {len(pcsc.failures)} | "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            reports.append(pcsc)
    total = sum(r.total for r in reports)
    survived = sum(r.survived for r in reports)
    failures = sum(len(r.failures) for r in reports)
    elapsed = time.perf_counter() - t0
    print(f"total: {total} cut points over {len(reports)} cases, {survived} survived, {failures} failed, "
          f"{elapsed:.0f} s")
    if batch is None:
        print("batch-level cut points: not run (--batch-cards 0)")
    if why_not:
        print(f"reader faults through pcscd: not run ({why_not})")
    unrun = bool(why_not) and bool(faults) and in_ci()  # CI must run every point
    doc = {"cases": [r.as_dict() for r in reports], "total": total, "survived": survived, "failed": failures,
           "seconds": round(elapsed, 1), "batch": None if batch is None else [r.as_dict() for r in batch],
           "reader_faults": None if pcsc is None else pcsc.as_dict(), "reader_faults_not_run": why_not or None}
    if args.out:
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{survived} passed, {failures} failed")
    return 1 if failures or unrun else 0


if __name__ == "__main__":
    sys.exit(main())

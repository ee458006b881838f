#!/usr/bin/env python3
"""`make fuzz`: a bounded fuzzing run (issue 9) that ends on its own.

1. The atheris harnesses, each for --seconds (default $SIMTOOL_FUZZ_SECONDS or 60), from their seed inputs:
   fuzz_emulator.py (APDU sequences against every card model and protocol) and fuzz_codecs.py (every
   codec's decode in simtool.encoding.efs).
2. The hypothesis state machine of tests/hardening (fuzz_machine.py) with many more examples than
   `make test` gives it.

Without atheris (it did not install), step 1 is skipped, said so, and step 2 runs for the whole budget.
A crash input is kept under fuzz/crashes/ and the run exits 1. Prints runs and seconds per part.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HARNESSES = ("fuzz_emulator.py", "fuzz_codecs.py")
EXAMPLES_PER_SECOND = 15  # the state machine runs ~15-25 examples of 50 steps a second here


def have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    return out


def run_harness(name: str, seconds: int, work: Path) -> tuple[bool, int, float]:
    """(ok, runs, seconds) of one atheris harness."""
    corpus = work / name.removesuffix(".py")
    artifacts = work / "artifacts" / name.removesuffix(".py")
    artifacts.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(HERE / name), "--write-seeds", str(corpus)], check=True, env=env(),
                   cwd=ROOT, capture_output=True)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE / name), f"-max_total_time={seconds}", "-print_final_stats=1",
                           f"-artifact_prefix={artifacts}/", "-timeout=20", "-rss_limit_mb=4096", str(corpus)],
                          env=env(), cwd=ROOT, capture_output=True, text=True, errors="replace")
    elapsed = time.perf_counter() - t
    out = proc.stdout + proc.stderr
    m = re.search(r"Done (\d+) runs in", out) or re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    runs = int(m.group(1)) if m else 0
    crashes = list(artifacts.iterdir())
    if proc.returncode != 0 or crashes:
        keep = HERE / "crashes"
        keep.mkdir(exist_ok=True)
        for c in crashes:
            shutil.copy(c, keep / f"{name.removesuffix('.py')}-{c.name}")
        tail = "\n".join(line for line in out.splitlines() if not line.startswith(("INFO:", "#", '"')))[-3000:]
        print(f"{name}: CRASH (exit {proc.returncode}); inputs kept in {keep}\n{tail}", flush=True)
        return False, runs, elapsed
    return True, runs, elapsed


def run_machine(seconds: int) -> tuple[bool, int, float]:
    examples = max(50, seconds * EXAMPLES_PER_SECOND)
    t = time.perf_counter()
    e = env()
    e.update(SIMTOOL_FUZZ_EXAMPLES=str(examples), SIMTOOL_FUZZ_STEPS="50", SIMTOOL_FUZZ_RANDOM="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/hardening/test_hardening_fuzz_apdu.py"], cwd=ROOT, env=e,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        print((proc.stdout + proc.stderr)[-5000:], flush=True)
    return proc.returncode == 0, examples, elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SIMTOOL_FUZZ_SECONDS", "60")),
                    help="time per part (default $SIMTOOL_FUZZ_SECONDS or 60)")
    args = ap.parse_args(argv)
    ok = True
    lines = []
    with tempfile.TemporaryDirectory(prefix="simtool-fuzz-") as d:
        if have_atheris():
            for name in HARNESSES:
                print(f"atheris {name}: {args.seconds} s ...", flush=True)
                good, runs, secs = run_harness(name, args.seconds, Path(d))
                ok &= good
                lines.append(f"atheris {name:18} {runs:9} inputs in {secs:5.0f} s  {'ok' if good else 'CRASH'}")
            machine_seconds = args.seconds
        else:
            print("atheris is not installed (pip could not install it here): the atheris harnesses are SKIPPED;\n"
                  "running the hypothesis state machine for the whole budget instead.", flush=True)
            lines.append("atheris            SKIPPED (not installed)")
            machine_seconds = args.seconds * (len(HARNESSES) + 1)
        print(f"hypothesis state machine: ~{machine_seconds} s ...", flush=True)
        good, examples, secs = run_machine(machine_seconds)
        ok &= good
        verdict = "ok" if good else "FAILED"
        lines.append(f"hypothesis machine {examples:9} runs of <=50 APDUs in {secs:5.0f} s  {verdict}")
    print("\n".join(lines))
    passed = sum(1 for ln in lines if ln.endswith(" ok"))
    failed = sum(1 for ln in lines if ln.endswith(("CRASH", "FAILED")))
    print(f"{passed} passed, {failed} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: the figures of DESIGN.md §6, measured on this machine in one run.

Prints a table and writes bench/results.json. Each part is a module beside this one with a
`measure()` function; parts whose components are missing (pcscd, pyscard) report why and go on.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

PARTS = [
    ("apdus_per_card", "bench_apdus"),
    ("emulator_in_process", "bench_emulator"),
    ("pcsc", "bench_pcsc"),
    ("batch", "bench_batch"),
    ("postgres", "bench_pg"),
    ("auth", "bench_auth"),
    ("esim", "bench_esim"),
    ("hlr_load", "bench_hlr_load"),
    ("auth_gsup", "bench_auth_gsup"),
]


def main() -> int:
    results: dict[str, object] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
    }
    for key, module in PARTS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            results[key] = {"skipped": f"module {module}: {e}"}
            continue
        print(f"== {key} ({module}.py)")
        try:
            results[key] = mod.measure()
        except Exception as e:  # a bench part that cannot run says why; the others still run
            results[key] = {"error": f"{type(e).__name__}: {e}"}
        report = getattr(mod, "report", None)
        if report and "error" not in results[key]:
            report(results[key])
        else:
            print(json.dumps(results[key], indent=2))
    summary(results)
    out = HERE / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def _verdict(value: float, target: float) -> str:
    return "ok" if value >= target else "short"


def summary(results: dict[str, object]) -> None:
    """The targets of issue 14 side by side (a report, not a gate: the machine is noisy)."""
    print("== targets")
    emu = results.get("emulator_in_process")
    if isinstance(emu, dict) and "apdu_per_s" in emu:
        rate, target = emu["apdu_per_s"], emu["target"]
        print(f"  {'Card.process, in process':30s} {rate:>9,} APDU/s (target >= {target:,}: {_verdict(rate, target)})")
        print(f"  {'Reader over emu:':30s} {emu['reader_emu_apdu_per_s']:>9,} APDU/s")
    else:
        print(f"  {'Card.process, in process':30s} not measured: {emu}")
    pcsc = results.get("pcsc")
    if isinstance(pcsc, dict) and "reader_vs_raw" in pcsc:
        ratio, target = pcsc["reader_vs_raw"], pcsc["reader_target"]
        verdict = _verdict(ratio, target)
        print(f"  {'Reader / raw pyscard, pcscd':30s} {ratio:>9.2f}x      (target >= {target}x: {verdict})")
    else:
        why = pcsc.get("skipped") or pcsc.get("error") if isinstance(pcsc, dict) else pcsc
        print(f"  {'Reader / raw pyscard, pcscd':30s} not measured: {why}")


if __name__ == "__main__":
    sys.exit(main())

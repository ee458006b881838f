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
    out = HERE / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

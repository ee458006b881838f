"""The README's library snippet runs as written, and `simtool demo` (what `make demo` runs) works."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.personalize.personalize_helpers import ROOT, run_sub


def test_readme_library_snippet_prints_the_imsi() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) == 1, "the README has one library snippet"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "204080000000001\n"


def test_demo() -> None:
    proc = run_sub(["demo"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "IMSI 204080000000001" in out
    assert "1 GB for 15 days, EUR 12.00" in out
    assert "authenticated: True" in out
    assert "000102030405060708090a0b0c0d0e0f" not in out + proc.stderr


def test_demo_json() -> None:
    import json

    proc = run_sub(["demo", "--json"])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["read_back"]["imsi"] == "204080000000001"
    assert doc["read_back"]["plan"]["data"] == "1 GB"
    assert doc["read_back"]["plan"]["validity_days"] == 15
    assert doc["read_back"]["plan"]["price"] == "EUR 12.00"
    assert doc["flash"]["apdus"]["per_phase"]["write"]["apdus"] == doc["flash"]["apdus"]["write_lower_bound"]

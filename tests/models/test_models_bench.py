"""`bench/bench_auth.py` runs (briefly) and reports every figure `make bench` prints."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_auth.py"


def test_bench_auth_measures_vectors_and_round_trips(capsys) -> None:
    spec = importlib.util.spec_from_file_location("bench_auth", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = mod.measure(0.02)
    assert set(result["vectors_per_s"]) == {"milenage", "tuak", "xor"}
    assert {"milenage", "milenage_t1", "milenage_sja2", "tuak", "xor", "milenage_on_disk"} <= set(
        result["round_trips_per_s"])
    assert all(v > 0 for v in (*result["vectors_per_s"].values(), *result["round_trips_per_s"].values()))
    assert result["round_trips"]["milenage"]["apdus_per_trip"] == 2.0  # T=0: AUTHENTICATE + GET RESPONSE
    assert result["round_trips"]["milenage_t1"]["apdus_per_trip"] == 1.0
    mod.report(result)
    assert "round trips" in capsys.readouterr().out

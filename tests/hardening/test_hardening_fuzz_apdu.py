"""APDU fuzzing of the emulated card (issue 9), bounded for `make test`: a hypothesis state machine on both
card models and both protocols (tests/hardening/fuzz_machine.py says what it sends and checks).

`make fuzz` runs the same machine much longer (fuzz/run.py) beside the atheris harnesses.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.hardening.fuzz_machine import ApduMachine

EXAMPLES = int(os.environ.get("SIMTOOL_FUZZ_EXAMPLES", "200"))
STEPS = int(os.environ.get("SIMTOOL_FUZZ_STEPS", "50"))

# `make test` explores the same examples every run (a fixed seed: no run fails by chance); `make fuzz` sets
# SIMTOOL_FUZZ_RANDOM=1 and many more examples, to find new ones.
RANDOM = os.environ.get("SIMTOOL_FUZZ_RANDOM") == "1"

TestApduFuzz = ApduMachine.TestCase
TestApduFuzz.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=not RANDOM,
    database=None if not RANDOM else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

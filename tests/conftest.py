"""Hypothesis settings for the whole suite (below), and simtool's pytest plugin hooks (markers by fixture, pcscd
restarts last) for a checkout where simtool is not pip-installed: without the `pytest11` entry point nothing
else would load them."""

from __future__ import annotations

from importlib.metadata import entry_points

if not any(ep.name == "simtool" for ep in entry_points(group="pytest11")):
    from simtool.testing.plugin import (  # noqa: F401
        pytest_addoption,
        pytest_collection_modifyitems,
        pytest_configure,
    )

# Hypothesis: no per-example deadline and no "too slow" health check. Both measure wall time, which another
# job on the machine can triple: a 200 ms deadline failed here under load (test_luhn_appended_digit_checks,
# 317 ms). A test's own @settings still sets its example count. No example database in the checkout either:
# every run (and every fresh clone) draws the same way.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - the hypothesis tests then fail to import on their own
    pass
else:
    settings.register_profile("simtool", deadline=None, database=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("simtool")

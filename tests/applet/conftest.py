"""The plan applet's tests fail on any 6F00 (an exception inside the emulated card)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_internal_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    errors = [r for r in caplog.records if r.name == "simtool.emulator" and r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]

# simtool's pytest plugin (PC/SC fixtures), for running from a checkout where it is not pip-installed
from simtool.testing.plugin import pcsc_card, simtool_pcscd  # noqa: E402, F401

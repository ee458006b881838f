"""Fixtures for the card-model tests: the no-6F00 guard of the emulator tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_internal_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Any 6F00 (an exception inside an emulated card) fails the test that caused it."""
    yield
    errors = [r for r in caplog.records if r.name == "simtool.emulator" and r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]

"""Fixtures for the emulator tests: blank cards (T=0, T=1, on disk) and the no-6F00 guard."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from simtool.emulator import Card, create_card_file, load_card
from tests.emulator.emucard_helpers import ADM


@pytest.fixture(autouse=True)
def _no_internal_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Any 6F00 (an exception inside the card) fails the test that caused it."""
    yield
    errors = [r for r in caplog.records if r.name == "simtool.emulator" and r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture
def card() -> Card:
    """A blank T=0 card in memory."""
    return Card.blank(adm=ADM)


@pytest.fixture
def card1() -> Card:
    """A blank T=1 card in memory."""
    return Card.blank(adm=ADM, protocol="T=1")


@pytest.fixture
def card_path(tmp_path: Path) -> Path:
    path = tmp_path / "card.json"
    create_card_file(path, ADM)
    return path


@pytest.fixture
def disk_card(card_path: Path) -> Card:
    return load_card(card_path)

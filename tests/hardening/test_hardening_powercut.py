"""Power loss (issue 9): the fault hook itself, and the sweep over every cut point of one personalization
(simtool-emu, T=0, the 1 GB profile; `make soak` sweeps every model, protocol and profile)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simtool.commands import uicc
from simtool.emulator import Card, CardPowerLoss, create_card_file, load_card
from simtool.emulator.faults import FaultPlan, arm, restart
from simtool.errors import EXIT_NO_CARD, NoCardError
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport
from tests.hardening.powercut import VARIANTS, Case, sweep

ADM = bytes.fromhex("3131313131313131")
VERIFY_ADM = b"\x00\x20\x00\x0a\x08" + ADM
SELECT_ICCID = bytes.fromhex("00A4000C022FE2")
UPDATE_ICCID = bytes.fromhex("00D600000A") + bytes.fromhex("98130800000000000091")


@pytest.fixture
def card(tmp_path: Path) -> Card:
    create_card_file(tmp_path / "c.json", ADM)
    return load_card(tmp_path / "c.json")


def test_cut_after_k_apdus_the_card_answers_nothing_until_restarted(card: Card) -> None:
    plan = arm(card, FaultPlan(after_apdus=2))
    assert card.process(SELECT_ICCID) == b"\x90\x00"
    assert card.process(VERIFY_ADM) == b"\x90\x00"
    for _ in range(2):
        with pytest.raises(CardPowerLoss) as e:
            card.process(SELECT_ICCID)
        assert isinstance(e.value, NoCardError) and e.value.exit_code == EXIT_NO_CARD
    assert plan.dead and plan.log == ["power cut after APDU 2"]
    again = restart(card)
    assert again.process(SELECT_ICCID) == b"\x90\x00"
    assert again.state.counters["adm1"] == 3


def test_the_transport_raises_card_went_away(card: Card) -> None:
    arm(card, FaultPlan(after_apdus=0))
    reader = Reader(EmulatedTransport(card, "emu:test"))
    with pytest.raises(CardPowerLoss):
        reader.send(uicc.select_mf())


def test_cut_before_the_rename_keeps_the_old_state_and_leaves_the_temp_file(card: Card, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    assert card.process(VERIFY_ADM) == b"\x90\x00"
    before = path.read_bytes()
    arm(card, FaultPlan(in_save=1, stage="written"))
    assert card.process(SELECT_ICCID) == b"\x90\x00"  # reads and selects write nothing
    with pytest.raises(CardPowerLoss):
        card.process(UPDATE_ICCID)
    assert path.read_bytes() == before
    temps = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(temps) == 1  # a power cut runs no clean-up
    again = restart(card)
    assert again.file_bytes("MF/EF.ICCID") == b"\xff" * 10
    # the stale temp file does not disturb the next writes
    assert again.process(VERIFY_ADM) == b"\x90\x00"
    assert again.process(SELECT_ICCID) == b"\x90\x00"
    assert again.process(UPDATE_ICCID) == b"\x90\x00"
    assert load_card(path).file_bytes("MF/EF.ICCID") == UPDATE_ICCID[5:]


def test_cut_after_the_rename_keeps_the_write_but_sends_no_answer(card: Card, tmp_path: Path) -> None:
    assert card.process(VERIFY_ADM) == b"\x90\x00"
    assert card.process(SELECT_ICCID) == b"\x90\x00"
    arm(card, FaultPlan(in_save=1, stage="renamed"))
    with pytest.raises(CardPowerLoss):
        card.process(UPDATE_ICCID)
    assert restart(card).file_bytes("MF/EF.ICCID") == UPDATE_ICCID[5:]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


@pytest.mark.parametrize(("save", "stage", "left"), [(1, "written", 3), (1, "renamed", 2), (2, "written", 2),
                                                     (2, "renamed", 3)])
def test_a_verify_cut_in_either_write_gives_no_free_try(card: Card, save: int, stage: str, left: int) -> None:
    """The decrement is durable before the comparison; only the durable restore gives the try back."""
    arm(card, FaultPlan(in_save=save, stage=stage))
    with pytest.raises(CardPowerLoss):
        card.process(VERIFY_ADM)
    assert restart(card).state.counters["adm1"] == left


def test_a_wrong_verify_cut_after_its_decrement_keeps_it(card: Card) -> None:
    arm(card, FaultPlan(in_save=1, stage="renamed"))
    with pytest.raises(CardPowerLoss):
        card.process(b"\x00\x20\x00\x0a\x08" + b"99999999")
    again = restart(card)
    assert again.state.counters["adm1"] == 2
    assert again.process(b"\x00\x20\x00\x0a") == b"\x63\xc2"


def test_an_in_memory_card_has_nothing_to_come_back_from() -> None:
    card = Card.blank(adm=ADM)
    arm(card, FaultPlan(after_apdus=0))
    with pytest.raises(CardPowerLoss):
        card.process(SELECT_ICCID)
    with pytest.raises(CardPowerLoss):
        restart(card)


def test_bad_stage_is_refused() -> None:
    with pytest.raises(ValueError):
        FaultPlan(in_save=1, stage="halfway")


def test_every_cut_point_of_one_personalization(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """k over every APDU of flashing the 1 GB profile, and every durable write cut before and after its
    rename: each time the card restarts from its state file, is flashed again with the same identity and
    ends verified (see tests/hardening/powercut.py for every check)."""
    # In-process cuts never lose the page cache, so fsync adds time and no realism here (`make soak` keeps it).
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    report = sweep(Case("simtool-emu", "T=0", "1gb"), tmp_path / "sweep")
    assert report.failures == []
    assert set(report.points) == set(VARIANTS)
    assert report.points["apdu"] == report.apdus and report.apdus > 100
    assert report.points["written"] == report.points["renamed"] == report.saves > 30
    assert report.survived == report.total
    # The ADM VERIFY cut after its decrement and before its restore (2 points): the guard refuses the card
    # with 2 tries left, until a person lowers the bar.
    assert report.guard_refusals == 2
    print(f"\npower cuts: {report.as_dict()}")

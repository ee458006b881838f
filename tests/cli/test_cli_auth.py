"""`simtool auth`: a good card, a card whose K differs (9862), the AUTS resync path, raw mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import simtool
from simtool.commands import uicc
from simtool.emulator import Card
from simtool.personalize.flash import flash
from simtool.profile import load_profile
from tests.personalize.personalize_helpers import (
    ADM,
    KEY_PATH,
    KI,
    OPC,
    PROFILE_1G,
    identity,
    key_file_bytes,
    new_card,
    run_cli,
)

AUTH = ["--ki", KI, "--opc", OPC]


@pytest.fixture
def card(tmp_path: Path) -> Path:
    """A card flashed without the AKA check, so its SQN memory is still fresh."""
    path = new_card(tmp_path / "c.json")
    with simtool.open_reader(f"emu:{path}") as reader:
        flash(reader, load_profile(PROFILE_1G), identity(), verify_auth=False)
    return path


def test_auth_ok(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", *AUTH, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and doc["sqn"] == 32 and doc["resynchronised"] is False and doc["sw"] == "9000"
    for s in (KI, OPC, KI.upper(), OPC.upper()):
        assert s not in out + err


def test_auth_resync_with_the_same_sqn_twice(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["auth", "--reader", f"emu:{card}", *AUTH, "--sqn", "32"]
    code, out, _ = run_cli(argv, capsys)
    assert code == 0 and "resynchronised" not in out
    code, out, err = run_cli(argv + ["--trace"], capsys)
    assert code == 0
    assert "sequence failure: card's SQNms is 32; resynchronised" in out
    assert "authenticated" in out.splitlines()[-1] and "SQN 64" in out
    # the first AUTHENTICATE got AUTS (tag DC), the second one succeeded (DB)
    answers = [line for line in err.splitlines() if line.startswith("<< DC") or line.startswith("<< DB")]
    assert [a[:5] for a in answers] == ["<< DC", "<< DB"]
    code, out, _ = run_cli(argv + ["--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["resynchronised"] is True and doc["sqn_ms"] == 64 and doc["sqn"] == 96


def _write_key_file_under_adm(path: Path, k: str, opc: str) -> None:
    """Replace the card's K through raw APDUs under ADM1, as a second tool would."""
    with simtool.open_reader(f"emu:{path}") as reader:
        reader.send(uicc.verify_pin(uicc.ADM1, ADM)).check("VERIFY ADM1")
        reader.send(uicc.select_mf(fcp=False)).check("SELECT MF")
        reader.send(uicc.select_fid(0x2F1A, fcp=False)).check("SELECT key file")
        reader.send(uicc.update_binary(0, key_file_bytes(k, opc, 80))).check("UPDATE key file")


def test_auth_with_a_card_whose_k_differs(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other_k = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
    _write_key_file_under_adm(card, other_k, OPC)
    assert Card.load(card).file_bytes(KEY_PATH) == key_file_bytes(other_k, OPC, 80)
    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", *AUTH, "--json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["sw"] == "9862"
    for s in (KI, OPC, other_k):
        assert s not in out + err
    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", "--ki", other_k, "--opc", OPC], capsys)
    assert code == 0, err


def test_auth_raw_mode(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["auth", "--reader", f"emu:{card}", "--rand", "00" * 16, "--autn", "00" * 16, "--json"],
                           capsys)
    assert code == 0 and json.loads(out)["sw"] == "9862"  # a made-up AUTN: MAC failure, reported as is


@pytest.mark.parametrize("argv", [["--ki", KI], ["--ki", "00", "--opc", OPC], ["--rand", "00" * 16]])
def test_auth_bad_input(card: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run_cli(["auth", "--reader", f"emu:{card}", *argv], capsys)
    assert code == 2 and err.startswith("error:")

"""Through the CLI, for both card models: `simtool emulator new --model`, `simtool flash --json` (model from
the ATR), `simtool read`, `simtool auth --json` (wrong Ki: exit 1 with 9862), and `simtool auth
--algorithm tuak|xor` against cards whose key file names TUAK (with TOPc) or the XOR test algorithm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simtool.crypto import tuak
from simtool.emulator import load_card
from simtool.fs import MODELS
from simtool.personalize.flash import flash
from simtool.profile import load_profile
from simtool.transport import open_reader
from tests.models.models_helpers import (
    ADM_HEX,
    EMU_KEY,
    ICCID,
    IMSI,
    KI,
    OPC,
    SJA2,
    USIM_KEY,
    emu_key,
    identity,
    profile_for,
    run_cli,
    write_files_under_adm,
)

WRONG_KI = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
TOP = bytes.fromhex("5555555555555555555555555555555555555555555555555555555555555555")


def _new(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str) -> Path:
    card = tmp_path / f"{model}.json"
    code, out, err = run_cli(["emulator", "new", card, "--adm-hex", ADM_HEX, "--model", model, "--json"], capsys)
    assert code == 0, err
    assert load_card(card).model is MODELS[model]
    return card


@pytest.mark.parametrize("model", list(MODELS))
def test_new_flash_read_auth_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str) -> None:
    card = _new(tmp_path, capsys, model)
    profile = profile_for(MODELS[model], tmp_path)
    code, out, err = run_cli(["flash", "--profile", profile, "--reader", f"emu:{card}", "--iccid", ICCID,
                              "--imsi", IMSI, "--ki", KI, "--opc", OPC, "--adm-hex", ADM_HEX, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and doc["model"] == model and doc["auth"]["ok"] is True
    assert KI not in out + err and OPC not in out + err

    code, out, err = run_cli(["read", "--reader", f"emu:{card}", "--adm-hex", ADM_HEX, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"] == model and doc["summary"]["imsi"] == IMSI

    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", "--ki", KI, "--opc", OPC, "--sqn", "64", "--json"],
                             capsys)
    assert code == 0, err
    assert json.loads(out)["ok"] is True

    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", "--ki", WRONG_KI, "--opc", OPC, "--json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["sw"] == "9862"


def test_emulator_new_refuses_unknown_models_and_t1_on_the_sja2(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["emulator", "new", tmp_path / "a.json", "--adm-hex", ADM_HEX, "--model", "nope"], capsys)
    assert code == 2 and "unknown card model 'nope'" in err
    code, _, err = run_cli(["emulator", "new", tmp_path / "b.json", "--adm-hex", ADM_HEX, "--model",
                            "sysmoISIM-SJA2", "--protocol", "T=1"], capsys)
    assert code == 2 and "T=0 only" in err
    assert not (tmp_path / "a.json").exists() and not (tmp_path / "b.json").exists()


def test_a_profile_too_big_for_the_sja2_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without `fit: {oplmn_wact: truncate}` the 14 partners do not go on a card that holds 12."""
    card = _new(tmp_path, capsys, "sysmoISIM-SJA2")
    from tests.models.models_helpers import PROFILE_1G

    unfitted = tmp_path / PROFILE_1G.name
    unfitted.write_text(PROFILE_1G.read_text(encoding="utf-8").replace("fit: {oplmn_wact: truncate}\n", ""),
                        encoding="utf-8")
    before = card.read_bytes()
    code, out, err = run_cli(["flash", "--profile", unfitted, "--reader", f"emu:{card}", "--iccid", ICCID,
                              "--imsi", IMSI, "--ki", KI, "--opc", OPC, "--adm-hex", ADM_HEX], capsys)
    assert code == 2 and "EF.OPLMNwACT" in err and "sysmoISIM-SJA2" in err
    assert card.read_bytes() == before


def test_the_shipped_profile_flashes_on_the_sja2_and_reports_the_fitted_list(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = _new(tmp_path, capsys, "sysmoISIM-SJA2")
    from tests.models.models_helpers import PROFILE_1G

    code, out, err = run_cli(["flash", "--profile", PROFILE_1G, "--reader", f"emu:{card}", "--iccid", ICCID,
                              "--imsi", IMSI, "--ki", KI, "--opc", OPC, "--adm-hex", ADM_HEX, "--json"], capsys)
    assert code == 0, err
    (fitted,) = json.loads(out)["fitted"]
    assert (fitted["list"], fitted["holds"], fitted["given"]) == ("oplmn_wact", 12, 14)
    assert len(fitted["left_out"]) == 2


# --- --algorithm tuak | xor ---------------------------------------------------------------------------


def _flashed(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str) -> Path:
    """A flashed card (PIN1 off, as the travel plans want) whose SQN memory is still fresh."""
    card = _new(tmp_path, capsys, model)
    with open_reader(f"emu:{card}") as reader:
        flash(reader, load_profile(profile_for(MODELS[model], tmp_path)), identity(), verify_auth=False)
    return card


def _auth(capsys: pytest.CaptureFixture[str], card: Path, *args: str) -> tuple[int, dict]:
    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", *args, "--json"], capsys)
    assert code in (0, 1), err
    return code, json.loads(out)


def test_tuak_card_of_our_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = _flashed(tmp_path, capsys, "simtool-emu")
    topc = tuak.topc(bytes.fromhex(KI), TOP)
    write_files_under_adm(f"emu:{card}", {EMU_KEY: emu_key(KI, topc.hex(), alg=0x02)})
    code, doc = _auth(capsys, card, "--algorithm", "tuak", "--ki", KI, "--opc", topc.hex())
    assert code == 0 and doc["ok"] is True and doc["kc_present"] is True
    code, doc = _auth(capsys, card, "--algorithm", "tuak", "--ki", KI, "--opc", bytes(32).hex())
    assert code == 1 and doc["sw"] == "9862"
    code, doc = _auth(capsys, card, "--ki", KI, "--opc", OPC)  # Milenage against a TUAK card
    assert code == 1 and doc["sw"] == "9862"


def test_xor_card_of_our_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = _flashed(tmp_path, capsys, "simtool-emu")
    write_files_under_adm(f"emu:{card}", {EMU_KEY: emu_key(KI, "", alg=0x03)})
    code, doc = _auth(capsys, card, "--algorithm", "xor", "--ki", KI)  # no OPc for XOR
    assert code == 0 and doc["ok"] is True
    code, doc = _auth(capsys, card, "--algorithm", "xor", "--ki", WRONG_KI)
    assert code == 1 and doc["sw"] == "9862"


def test_tuak_and_xor_on_the_sja2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = _flashed(tmp_path, capsys, "sysmoISIM-SJA2")
    topc = tuak.topc(bytes.fromhex(KI), TOP, 3)
    # cfg 16 (TUAK, OPc, 128-bit K), tuak cfg 02 (CK/IK 128, MAC 64, RES 128), 3 iterations, TOPc, K
    raw = bytes([0x16, 0x02, 0x03]) + topc + bytes.fromhex(KI)
    write_files_under_adm(f"emu:{card}", {USIM_KEY: raw + b"\xff" * (67 - len(raw))})
    args = ["--algorithm", "tuak", "--ki", KI, "--opc", topc.hex(), "--tuak-res-bits", "128"]
    code, doc = _auth(capsys, card, *args, "--tuak-iterations", "3")
    assert code == 0 and doc["ok"] is True
    code, doc = _auth(capsys, card, *args, "--tuak-iterations", "1", "--sqn", "96")
    assert code == 1 and doc["sw"] == "9862"
    raw = bytes([0x0F]) + bytes.fromhex(KI)  # algorithm 15: XOR
    write_files_under_adm(f"emu:{card}", {USIM_KEY: raw + b"\xff" * (67 - len(raw))})
    code, doc = _auth(capsys, card, "--algorithm", "xor", "--ki", KI, "--sqn", "128")
    assert code == 0 and doc["ok"] is True
    assert load_card(card).model is SJA2


def test_auth_refuses_bad_algorithm_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = _flashed(tmp_path, capsys, "simtool-emu")
    code, _, err = run_cli(["auth", "--reader", f"emu:{card}", "--algorithm", "tuak", "--ki", KI, "--opc", OPC],
                           capsys)
    assert code == 2 and "topc" in err.lower()  # TOPc is 32 bytes
    code, _, err = run_cli(["auth", "--reader", f"emu:{card}", "--ki", KI], capsys)
    assert code == 2 and "--opc" in err

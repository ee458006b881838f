"""DESIGN.md §4 through the CLI: no Ki, OPc, ADM, PIN or PUK in any output, traces masked, secrets from files
and the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simtool.emulator import Card
from tests.personalize.personalize_helpers import (
    KEY_PATH,
    KI,
    OPC,
    PIN1,
    PIN2,
    PINS_PATH,
    PROFILE_1G,
    PUK1,
    PUK2,
    flash_args,
    key_file_bytes,
    new_card,
    pin_file_bytes,
    profile_copy,
    run_cli,
    run_sub,
)

ADM_ASCII = "80526413"
ADM_HEX2 = ADM_ASCII.encode().hex()  # 3830353236343133
PINS = ["--pin1", PIN1, "--puk1", PUK1, "--pin2", PIN2, "--puk2", PUK2]


def secret_forms() -> list[str]:
    forms = [KI, KI.upper(), OPC, OPC.upper(), ADM_HEX2, ADM_HEX2.upper(), ADM_ASCII]
    for p in (PIN1, PUK1, PIN2, PUK2):
        forms += [p, p.encode().hex(), p.encode().hex().upper()]
    return forms


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for form in secret_forms():
            assert form not in text, f"secret form {form!r} leaked"


@pytest.fixture
def card(tmp_path: Path) -> Path:
    return new_card(tmp_path / "c.json", adm=bytes.fromhex(ADM_HEX2))


def trace_commands(err: str) -> list[str]:
    return [line[3:] for line in err.splitlines() if line.startswith(">> ")]


def test_flash_trace_json_verbose_shows_no_secret(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(flash_args(card, adm_hex=ADM_HEX2) + PINS + ["--trace", "--json", "-v", "-v"], capsys)
    assert code == 0, err
    assert json.loads(out)["ok"] is True
    assert_no_secret(out, err)
    cmds = trace_commands(err)
    assert len(cmds) == json.loads(out)["apdus"]["total"]
    assert "0020000A" in cmds  # the retry query shows in full: it carries nothing
    assert "0020000A08" + "**" * 8 in cmds
    assert "0020008108" + "**" * 8 in cmds  # the PIN2 check
    assert "00D6000050" + "**" * 80 in cmds  # the key file write
    assert "00D6000021" + "**" * 33 in cmds  # the PIN file write
    assert "00D6870009082940800000000010" in cmds  # not secret: shown as it is
    # and the card got them all
    c = Card.load(card)
    assert c.file_bytes(KEY_PATH) == key_file_bytes(KI, OPC, 80)
    assert c.file_bytes(PINS_PATH) == pin_file_bytes(PIN1, PUK1, PIN2, PUK2, pin1_enabled=False)


def test_failures_show_no_secret(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(flash_args(card, adm_hex="3131313131313131") + PINS + ["--trace", "--json", "-v"],
                             capsys)
    assert code == 1
    assert_no_secret(out, err)
    assert json.loads(out)["adm_tries_left"] == 2
    code, out, err = run_cli(flash_args(card, adm_hex=ADM_HEX2, ki=KI[:-2]) + PINS + ["--json", "-v"], capsys)
    assert code == 2 and "ki: must be 32 hex digits" in err
    assert_no_secret(out, err)


def test_read_with_adm_and_pin1_shows_no_secret(tmp_path: Path, card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = profile_copy(tmp_path, edit={"pin1_enabled: false": "pin1_enabled: true"})
    code, _, err = run_cli(flash_args(card, profile=prof, adm_hex=ADM_HEX2) + PINS, capsys)
    assert code == 0, err
    for rights in (["--adm-hex", ADM_HEX2], ["--pin1", PIN1], ["--adm", ADM_ASCII, "--pin1", PIN1]):
        code, out, err = run_cli(["read", "--reader", f"emu:{card}", *rights, "--trace", "--json", "-v"], capsys)
        assert code == 0, err
        assert json.loads(out)["files"]["MF/ADF.USIM/EF.IMSI"]["value"] == "204080000000001"
        assert_no_secret(out, err)
        assert any(c.startswith("0020000108**") or c.startswith("0020000A08**") for c in trace_commands(err))
    code, out, err = run_cli(["read", "--reader", f"emu:{card}", "--trace", "--json"], capsys)
    assert code == 0 and json.loads(out)["files"]["MF/ADF.USIM/EF.IMSI"]["readable"] is False


def test_auth_trace_shows_no_secret(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(flash_args(card, adm_hex=ADM_HEX2) + PINS, capsys)[0] == 0
    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", "--ki", KI, "--opc", OPC, "--trace", "--json", "-v"],
                             capsys)
    assert code == 0
    assert_no_secret(out, err)


def test_secrets_from_files_and_environment(tmp_path: Path, card: Path) -> None:
    opc_file = tmp_path / "opc.txt"
    opc_file.write_text(OPC + "\n")
    pin_file = tmp_path / "pin1.txt"
    pin_file.write_text(PIN1)
    argv = ["flash", "--profile", PROFILE_1G, "--reader", f"emu:{card}", "--iccid", "8931080000000000019",
            "--imsi", "204080000000001", "--opc-file", opc_file, "--pin1-file", pin_file, "--trace", "--json"]
    proc = run_sub(argv, env={"SIMTOOL_KI": KI, "SIMTOOL_ADM_HEX": ADM_HEX2, "SIMTOOL_PUK1": PUK1,
                              "SIMTOOL_PIN2": PIN2, "SIMTOOL_PUK2": PUK2})
    assert proc.returncode == 0, proc.stderr
    assert_no_secret(proc.stdout, proc.stderr)
    c = Card.load(card)
    assert c.file_bytes(KEY_PATH) == key_file_bytes(KI, OPC, 80)
    assert c.file_bytes(PINS_PATH) == pin_file_bytes(PIN1, PUK1, PIN2, PUK2, pin1_enabled=False)


def test_ki_file_and_env_in_process(tmp_path: Path, card: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ki_file = tmp_path / "ki"
    ki_file.write_text(KI)
    monkeypatch.setenv("SIMTOOL_OPC", OPC)
    monkeypatch.setenv("SIMTOOL_KI", "ff" * 16)  # the file wins over the environment
    argv = flash_args(card, adm_hex=ADM_HEX2, ki=None, opc=None) + ["--ki-file", str(ki_file)]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert Card.load(card).file_bytes(KEY_PATH) == key_file_bytes(KI, OPC, 80)
    code, _, err = run_cli(argv[:-1] + [str(tmp_path / "missing")], capsys)
    assert code == 2 and "cannot read" in err

"""Issue 3 acceptance through the CLI: `emulator new`, `flash`, `read`, the ADM guard sequence, exit codes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from simtool.emulator import Card
from tests.personalize.personalize_helpers import (
    ADM_HEX,
    FS,
    ICCID,
    IMSI,
    KEY_PATH,
    KI,
    OPC,
    PROFILE_1G,
    flash_args,
    key_file_bytes,
    profile_yaml,
    run_cli,
    run_sub,
    state,
)

WRONG_ADM = "3232323232323232"


def test_issue3_acceptance(tmp_path: Path) -> None:
    card = tmp_path / "c.json"
    proc = run_sub(["emulator", "new", card, "--adm-hex", ADM_HEX])
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(card.stat().st_mode) == 0o600

    proc = run_sub(flash_args(card) + ["--json"])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["iccid"] == ICCID and doc["imsi"] == IMSI
    assert doc["auth"]["ok"] is True
    ap = doc["apdus"]
    assert set(ap["per_phase"]) >= {"guard", "adm", "write", "verify", "auth"}
    assert ap["per_phase"]["adm"]["apdus"] == 2
    assert ap["total"] == sum(p["apdus"] for p in ap["per_phase"].values())
    assert ap["per_phase"]["write"]["apdus"] == ap["write_lower_bound"] > 0

    proc = run_sub(["read", "--reader", f"emu:{card}", "--json"])
    assert proc.returncode == 0, proc.stderr
    read = json.loads(proc.stdout)
    s = read["summary"]
    y = profile_yaml()
    assert s["imsi"] == IMSI and s["spn"] == "KPN WeChat" and s["apns"] == ["internet"]
    assert s["oplmn"] == [f"{p['mcc']}/{p['mnc']}" for p in y["oplmn_wact"]]
    assert s["plan"]["data"] == "1 GB" and s["plan"]["validity_days"] == 15 and s["plan"]["price"] == "EUR 12.00"
    assert read["files"]["MF/ADF.USIM/EF.IMSI"]["value"] == IMSI
    assert read["files"]["MF/DF.PLAN/EF.PLAN_DEF"]["value"]["data_limit_bytes"] == 10**9
    assert stat.S_IMODE(card.stat().st_mode) == 0o600  # still, after every durable write


def test_wrong_adm_then_guard_then_min_adm_tries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "c.json"
    assert run_cli(["emulator", "new", card, "--adm-hex", ADM_HEX], capsys)[0] == 0
    blank = state(card)["files"]

    code, out, err = run_cli(flash_args(card, adm_hex=WRONG_ADM) + ["--trace", "--json"], capsys)
    assert code == 1
    assert "2 tries left" in err
    assert json.loads(out) == {"ok": False, "exit_code": 1, "error": "CardError", "errors": [err.splitlines()[-1][7:]],
                               "adm_tries_left": 2, "sw": "63C2"}
    assert [line for line in err.splitlines() if line.startswith(">> 0020000A")] == [
        ">> 0020000A", ">> 0020000A08****************"]  # the query, then one VERIFY: never retried
    assert state(card)["counters"]["adm1"] == 2
    assert state(card)["files"] == blank

    code, out, err = run_cli(flash_args(card) + ["--trace"], capsys)
    assert code == 4
    assert "2 tries left" in err and "--min-adm-tries" in err
    assert ">> 0020000A" in err.splitlines()  # asked for the tries left ...
    assert not any(line.startswith(">> 0020000A08") for line in err.splitlines())  # ... and sent no VERIFY
    assert state(card)["counters"]["adm1"] == 2
    assert state(card)["files"] == blank

    code, out, err = run_cli(flash_args(card, min_adm_tries="2"), capsys)
    assert code == 0, err
    assert out.startswith(f"flashed {ICCID} (IMSI {IMSI})")
    assert state(card)["counters"]["adm1"] == 3  # a good VERIFY restores the counter
    assert Card.load(card).file_bytes(KEY_PATH) == key_file_bytes(KI, OPC, 80)


def test_guard_json_reports_the_tries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "c.json"
    run_cli(["emulator", "new", card, "--adm-hex", ADM_HEX], capsys)
    run_cli(flash_args(card, adm_hex=WRONG_ADM), capsys)
    code, out, _ = run_cli(flash_args(card) + ["--json"], capsys)
    doc = json.loads(out)
    assert code == 4 and doc["exit_code"] == 4 and doc["error"] == "GuardError"
    assert doc["adm_tries_left"] == 2 and doc["min_adm_tries"] == 3


def test_emulator_new_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "c.json"
    old_umask = os.umask(0)
    try:
        code, out, _ = run_cli(["emulator", "new", card, "--adm-hex", ADM_HEX, "--iccid", ICCID, "--protocol", "T=1",
                                "--json"], capsys)
    finally:
        os.umask(old_umask)
    assert code == 0 and json.loads(out) == {"card": str(card), "protocol": "T=1", "iccid": ICCID}
    assert stat.S_IMODE(card.stat().st_mode) == 0o600
    assert ADM_HEX not in out
    c = Card.load(card)
    assert c.protocol == "T=1" and c.state.adm1.hex() == ADM_HEX
    before = card.read_bytes()
    code, _, err = run_cli(["emulator", "new", card, "--adm-hex", WRONG_ADM], capsys)
    assert code == 2 and "exists" in err
    assert card.read_bytes() == before


@pytest.mark.parametrize("argv, msg", [
    (["--adm-hex", "3131"], "16 hex digits"),
    (["--adm-hex", ADM_HEX, "--iccid", "8931080000000000018"], "Luhn"),
])
def test_emulator_new_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                msg: str) -> None:
    card = tmp_path / "c.json"
    code, _, err = run_cli(["emulator", "new", card, *argv], capsys)
    assert code == 2 and msg in err
    assert not card.exists()


def test_no_card_file_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(flash_args(tmp_path / "missing.json"), capsys)
    assert code == 3 and "no such card file" in err
    code, _, _ = run_cli(["read", "--reader", f"emu:{tmp_path / 'missing.json'}"], capsys)
    assert code == 3


@pytest.mark.parametrize("uri", ["emu:?adm_hex=zz", "emu:?latency_ms=-1", "emu:?latencyms=3", "usb:1",
                                 "emu:?protocol=T=2"])
def test_bad_reader_uri_is_exit_2(capsys: pytest.CaptureFixture[str], uri: str) -> None:
    code, _, err = run_cli(["read", "--reader", uri], capsys)
    assert code == 2 and (err.startswith("error: ") or "error: argument --reader: " in err)  # latency: at parse
    assert "Traceback" not in err


def test_flash_in_memory_with_t1_and_latency(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(flash_args("emu:?protocol=T=1&latency_ms=0.01") + ["--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["protocol"] == "T=1"


def test_flash_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(flash_args("emu:"), capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"flashed {ICCID} (IMSI {IMSI}) on emu:") and lines[0].endswith("authenticated")
    # guard: SELECT MF, READ ICCID, SELECT ADF.USIM, READ IMSI, and one SELECT for each file the profile
    # needs but does not write (EF.ARR, EF.SMS, EF.SMSS, EF.NETPAR), so that a card lacking one is refused
    assert lines[1].startswith("APDUs: guard 8, adm 2, write ")


def test_profile_not_found_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(flash_args("emu:", profile=tmp_path / "nope.yaml"), capsys)
    assert code == 2 and "nope.yaml" in err
    assert PROFILE_1G.exists()


@pytest.mark.parametrize("bad, field", [
    ({"imsi": "262010000000001"}, "imsi"),  # not in the profile's PLMN 204/08
    ({"iccid": "8931080000000000018"}, "iccid"),  # Luhn digit wrong
    ({"ki": KI[:-2]}, "ki"),  # 15 bytes
    ({"opc": OPC + "00"}, "opc"),
    ({"adm_hex": "31313131313131"}, "adm"),  # 7 bytes
    ({"adm_hex": "313131313131313g"}, "adm"),
    ({"pin1": "12"}, "pin1"),
    ({"msisdn": "0612345678"}, "msisdn"),
])
def test_invalid_input_leaves_the_card_as_it_was(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: dict,
                                                 field: str) -> None:
    card = tmp_path / "c.json"
    assert run_cli(["emulator", "new", card, "--adm-hex", ADM_HEX], capsys)[0] == 0
    before = card.read_bytes()
    code, out, err = run_cli(flash_args(card, **bad) + ["--trace"], capsys)
    assert code == 2
    assert f" {field}" in err or f"--{field}" in err
    assert ">>" not in err  # not one APDU
    assert card.read_bytes() == before
    for s in (KI, OPC, KI[:-2], "31313131313131"):
        assert s not in err


def test_cli_guards_reprogram_and_skip_equal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vendor = tmp_path / "v.json"
    run_cli(["emulator", "new", vendor, "--adm-hex", ADM_HEX, "--iccid", "8931080000000000027"], capsys)
    before = vendor.read_bytes()
    code, out, err = run_cli(flash_args(vendor) + ["--json"], capsys)
    assert code == 4 and "8931080000000000027" in err and json.loads(out)["error"] == "GuardError"
    assert vendor.read_bytes() == before

    card = tmp_path / "c.json"
    run_cli(["emulator", "new", card, "--adm-hex", ADM_HEX], capsys)
    assert run_cli(flash_args(card), capsys)[0] == 0
    other = flash_args(card, imsi="204080000000002")
    code, _, err = run_cli(other, capsys)
    assert code == 4 and "--reprogram" in err
    code, out, err = run_cli(other + ["--reprogram", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["imsi"] == "204080000000002"
    code, out, err = run_cli(flash_args(card, imsi="204080000000002") + ["--skip-equal", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    n_secret = sum(1 for e in FS.efs() if e.ef.secret)
    assert doc["files_written"] == n_secret and doc["files_skipped_equal"] == doc["files_verified"] - 1
    assert doc["files_preset"] == ["MF/EF.ICCID"] and doc["auth"]["ok"] is True


def test_read_touches_no_disk_and_wrong_pin1_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "c.json"
    run_cli(["emulator", "new", card, "--adm-hex", ADM_HEX], capsys)
    assert run_cli(flash_args(card), capsys)[0] == 0
    before, mtime = card.read_bytes(), card.stat().st_mtime_ns
    code, out, _ = run_cli(["read", "--reader", f"emu:{card}"], capsys)
    assert code == 0 and f"imsi: {IMSI}" in out
    assert card.read_bytes() == before and card.stat().st_mtime_ns == mtime
    code, out, err = run_cli(["read", "--reader", f"emu:{card}", "--pin1", "9999", "--json"], capsys)
    assert code == 1 and "2 tries left" in err and json.loads(out)["exit_code"] == 1
    assert state(card)["counters"]["pin1"] == 2


def test_min_adm_tries_below_1_is_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(flash_args("emu:", min_adm_tries="0"), capsys)
    assert code == 2 and "argument --min-adm-tries: must be an integer from 1 to 10, got '0'" in err

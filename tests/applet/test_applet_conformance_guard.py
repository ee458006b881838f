"""`conformance` goes through the ADM guard like every other path (issue 12 item 4): a script's VERIFY ADM is
held to the tries check and sent at most once per key reference; the guard's refusal stops the run with exit
4; no log, trace or JSON shows the key. The real CLI in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simtool.commands import uicc
from simtool.emulator import create_card_file
from simtool.transport import open_reader

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "data" / "verify-adm-wrong.apdu"
ADM = bytes.fromhex("3131313131313131")
WRONG = "3938373635343332"  # "98765432", the key in the script
SECRETS = (WRONG, "98765432", ADM.hex(), ADM.hex().upper(), "11111111")


def simtool(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "simtool", *argv], capture_output=True, text=True, env=env,
                          timeout=60, cwd=ROOT)


def tries_left(card: Path) -> int:
    """ADM1 tries as the card tells them (VERIFY with no data), and as its state file holds them."""
    stored = json.loads(card.read_text())["counters"]["adm1"]
    with open_reader(f"emu:{card}") as r:
        asked = uicc.parse_retry_counter(r.send(uicc.verify_pin(uicc.ADM1, None)).sw)
    assert asked == stored
    return stored


@pytest.fixture
def card(tmp_path: Path) -> Path:
    path = tmp_path / "c.json"
    create_card_file(path, ADM)
    return path


def test_a_wrong_adm_in_a_script_is_sent_once_then_held_back(card: Path) -> None:
    proc = simtool("conformance", "--reader", f"emu:{card}", str(SCRIPT), "--verbose-log", "--trace")
    assert proc.returncode == 4, proc.stderr
    assert tries_left(card) == 2  # one wrong key cost one try; the other two were never sent
    assert f"HELD {SCRIPT} " in proc.stdout and "line 7: held back" in proc.stdout
    assert "refused an ADM1 key earlier in this session (SW 63C2); a failed ADM verify is never retried" in proc.stdout
    assert f"error: {SCRIPT}:7: held back" in proc.stderr
    assert "     > 0020000A08" + "**" * 8 in proc.stdout  # the verbose log: masked
    trace = [ln for ln in proc.stderr.splitlines() if ln.startswith(">> 0020000A")]
    assert trace == [">> 0020000A", ">> 0020000A08" + "**" * 8, ">> 0020000A"]  # query, VERIFY, query: held
    assert "Traceback" not in proc.stderr
    for text in SECRETS:
        assert text.lower() not in (proc.stdout + proc.stderr).lower(), text


def test_the_threshold_holds_back_the_first_verify_too(card: Path) -> None:
    proc = simtool("conformance", "--reader", f"emu:{card}", str(SCRIPT), "--min-adm-tries", "4", "--json")
    assert proc.returncode == 4
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["held"] == 1
    assert doc["scripts"][0]["status"] == "held" and doc["scripts"][0]["line"] == 5
    assert "ADM1 has 3 tries left, fewer than the guard's minimum of 4" in doc["scripts"][0]["reason"]
    assert tries_left(card) == 3
    for text in SECRETS:
        assert text.lower() not in (proc.stdout + proc.stderr).lower(), text


def test_a_second_run_meets_the_tries_check(card: Path) -> None:
    assert simtool("conformance", "--reader", f"emu:{card}", str(SCRIPT)).returncode == 4
    proc = simtool("conformance", "--reader", f"emu:{card}", str(SCRIPT))  # a new session: 2 < 3 tries
    assert proc.returncode == 4 and "ADM1 has 2 tries left" in proc.stdout
    assert tries_left(card) == 2


def test_the_right_key_may_be_presented_again_another_key_not(card: Path, tmp_path: Path) -> None:
    script = tmp_path / "adm.apdu"
    script.write_text(f"reset\n> 0020000A 08 {ADM.hex()}\n< 9000\nreset\n> 0020000A 08 {ADM.hex()}\n< 9000\n"
                      f"> 0020000A 08 {WRONG}\n< 63C2\n")
    proc = simtool("conformance", "--reader", f"emu:{card}", str(script), "--verbose-log")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "line 7: held back" in proc.stdout and "accepted another ADM1 key" in proc.stdout
    assert tries_left(card) == 3
    for text in SECRETS:
        assert text.lower() not in (proc.stdout + proc.stderr).lower(), text


def test_a_failed_script_log_masks_pin_data(card: Path, tmp_path: Path) -> None:
    script = tmp_path / "pin.apdu"
    script.write_text("> 00200001 08 31323334FFFFFFFF\n< 6F00\n")  # PIN1 "1234": the card answers 63C2
    proc = simtool("conformance", "--reader", f"emu:{card}", str(script), "--verbose-log")
    assert proc.returncode == 1
    assert "> 0020000108" + "**" * 8 in proc.stdout
    assert "31323334" not in proc.stdout + proc.stderr

"""The conformance scripts of applet_spec/conformance pass against the emulated card in process, T=0 and
T=1, whatever the plan's state; the script language itself (patterns, substitutions) is checked too."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.commands import plan
from simtool.commands.script import matches, parse_script, run_script, substitute
from simtool.emulator import Card
from simtool.errors import InputError
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport
from tests.applet.applet_helpers import KEYS, ROOT, Phone, decoded, new_card, send_ota, sms

SCRIPTS = sorted((ROOT / "applet_spec" / "conformance").glob("*.apdu"))


def _run(card: Card, path: Path, with_keys: bool = True):
    from simtool.cli.cmd_applet import _ota_step
    from simtool.commands.apdu import Apdu

    reader = Reader(EmulatedTransport(card, "emu:test"))
    script = parse_script(path.read_text(encoding="utf-8"), path.name)
    return run_script(script, lambda raw: reader.send(Apdu.from_bytes(raw)).to_bytes(), reader.reset,
                      _ota_step(reader, KEYS) if with_keys else None)


def test_there_are_scripts() -> None:
    assert [p.name for p in SCRIPTS] == ["01-start-up.apdu", "02-menu.apdu", "03-ota-security.apdu",
                                         "04-ota-applied.apdu"]


@pytest.mark.parametrize("protocol", ["T=0", "T=1"])
@pytest.mark.parametrize("state", ["inactive", "active", "expired"])
@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_passes(path: Path, protocol: str, state: str) -> None:
    card = new_card(protocol=protocol)
    if state != "inactive":
        phone = Phone(card, date="2026-11-26T10:00+01:00")
        phone.register("262-01")
        if state == "expired":
            phone.at("2027-03-01T10:00+01:00").my_plan()
            assert decoded(card, "VALIDITY")["state"] == "expired"
    outcome = _run(card, path)
    assert outcome.status == "passed", (outcome.line, outcome.reason, outcome.expected, outcome.got)


def test_ota_script_is_skipped_without_keys_and_changes_only_the_counter() -> None:
    card = new_card()
    assert send_ota(card, sms(plan.set_balance(5), 41))[1].status == 0
    before = {p: bytes(b) for p, b in card.state.files.items()}
    assert _run(card, SCRIPTS[3], with_keys=False).status == "skipped"
    assert _run(card, SCRIPTS[3]).status == "passed"
    after = {p: bytes(b) for p, b in card.state.files.items()}
    changed = sorted(p for p in before if before[p] != after[p])
    assert changed == ["MF/DF.PLAN/EF.OTA_CNTR"] and decoded(card, "OTA_CNTR") == 42


def test_security_script_changes_nothing() -> None:
    card = new_card()
    before = {p: bytes(b) for p, b in card.state.files.items()}
    assert _run(card, SCRIPTS[2]).status == "passed"
    assert {p: bytes(b) for p, b in card.state.files.items()} == before


def test_a_failing_script_says_where() -> None:
    card = new_card()
    reader = Reader(EmulatedTransport(card, "emu:test"))
    script = parse_script("reset\n> 80100000 09 0B4101211101000449\n< 9000\n", "x.apdu")
    from simtool.commands.apdu import Apdu

    outcome = run_script(script, lambda raw: reader.send(Apdu.from_bytes(raw)).to_bytes(), reader.reset, None)
    assert outcome.status == "failed" and outcome.line == 3 and outcome.got == "910F"


def test_patterns() -> None:
    assert matches("9000", bytes.fromhex("9000"))
    assert matches("91..", bytes.fromhex("910F"))
    assert matches("9.0.", bytes.fromhex("9A0B"))
    assert not matches("9000", bytes.fromhex("910F"))
    assert matches("D0 * 9000", bytes.fromhex("D00D8103010500829000"))
    assert matches("D0*9000", bytes.fromhex("D09000"))
    assert matches("9000|91..", bytes.fromhex("9105"))
    assert not matches("D0 * 9000", bytes.fromhex("D0 0D 90 00 01")[:-1] + b"\x00")


def test_substitutions() -> None:
    assert substitute("80120000{sw2}", bytes.fromhex("910F"), None) == bytes.fromhex("801200000F")
    assert substitute("801400000C{cmd}", b"\x90\x00", bytes.fromhex("8103012500")) == bytes.fromhex(
        "801400000C8103012500")
    with pytest.raises(ValueError):
        substitute("{cmd}", None, None)


@pytest.mark.parametrize("text", ["> 80 1G", "< 9X00", "bogus", "", "< 90 00 | "])
def test_bad_scripts_are_refused_with_their_line(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_script("# header\n" + text + "\n", "bad.apdu")
    assert "bad.apdu" in str(e.value)

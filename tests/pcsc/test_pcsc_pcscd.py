"""End to end through a real pcscd and the vsmartcard vpcd driver: emulated cards as PC/SC readers.

Skipped, with the reason, when pcscd/vpcd/pyscard are not installed; with CI=true they fail instead
(the `pcsc_card` / `simtool_pcscd` fixtures of simtool's pytest plugin decide).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simtool.commands import uicc
from simtool.emulator.card import Card
from simtool.errors import EXIT_NO_CARD, NoCardError
from simtool.fs import Cond

ROOT = Path(__file__).resolve().parents[2]
ADM = bytes.fromhex("3131313131313131")
pytestmark = pytest.mark.timeout(60)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def simtool(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simtool", *args], capture_output=True, text=True, env=_env(),
                          timeout=timeout)


# --- readers ------------------------------------------------------------------------------------------------


def test_readers_json_shows_the_emulated_card(simtool_pcscd) -> None:
    from simtool.testing.pcscd import emulated_reader
    from simtool.transport.vpcd import PortLock

    free0 = PortLock(35963)
    slot = None
    if free0.acquire():  # slot 0 ("Virtual PCD 00 00") unless another session holds it
        free0.release()
        slot = 0
    with emulated_reader(slot=slot) as name:
        r = simtool("readers", "--json")
        assert r.returncode == 0, r.stderr
        readers = {x["name"]: x for x in json.loads(r.stdout)["readers"]}
        if slot == 0:
            assert name == "Virtual PCD 00 00"
        me = readers[name]
        assert me["card_present"] is True
        assert me["atr"] == name.card.atr.hex().upper()
        assert me["model"] == "simtool-emu" and me["protocols"] == ["T=0"]
        text = simtool("readers")
        assert f"{name}: card {me['atr']} (simtool-emu, T=0)" in text.stdout
    r = simtool("readers", "--json")
    assert json.loads(r.stdout)["readers"] and not {x["name"]: x for x in json.loads(r.stdout)["readers"]}[name][
        "card_present"]


# --- APDUs through pyscard ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pcsc_card", ["T=0", "T=1"], indirect=True)
def test_select_and_read_through_pcscd(pcsc_card) -> None:
    protocol = pcsc_card.card.protocol
    with pcsc_card.open() as reader:
        assert reader.protocol == protocol and reader.atr == pcsc_card.card.atr
        assert reader.name == str(pcsc_card)
        # raw: T=0 gives 61xx for a case-4 SELECT, T=1 the FCP at once
        raw = reader.transport.transmit(bytes.fromhex("00A40004023F00" + ("" if protocol == "T=0" else "00")))
        if protocol == "T=0":
            assert raw[0] == 0x61
            fcp = reader.transport.transmit(bytes([0x00, 0xC0, 0x00, 0x00, raw[1]]))
            assert fcp[0] == 0x62 and fcp[-2:] == b"\x90\x00"
        else:
            assert raw[0] == 0x62 and raw[-2:] == b"\x90\x00"
        # through the one T=0/T=1 handling in simtool.commands
        resp = reader.send(uicc.select_fid(0x3F00, fcp=True))
        assert resp.ok and resp.data[0] == 0x62
        assert resp.exchanges == (2 if protocol == "T=0" else 1)
        assert reader.send(uicc.select_fid(0x2F00)).ok
        rec = reader.send(uicc.read_record(1, 0x100))  # wrong Le: 6Cxx, then again with the right one
        assert rec.ok and rec.data[0] == 0x61  # an EF.DIR application template
        iccid = reader.send(uicc.read_binary(0, 10, sfi=0x02))
        assert iccid.ok and iccid.data == b"\xff" * 10  # blank card
        reader.send(uicc.select_fid(0x2FE2)).check("SELECT")
        assert reader.send(uicc.read_binary(0, 10)).data == b"\xff" * 10
    assert pcsc_card.server.slots[pcsc_card.slot].apdus >= 7


def test_reset_clears_verified_pins(pcsc_card) -> None:
    card = pcsc_card.card
    with pcsc_card.open() as reader:
        assert reader.send(uicc.verify_pin(uicc.PIN1, uicc.pin_bytes("0000"))).ok
        assert Cond.PIN1 in card.verified
        reader.send(uicc.select_fid(0x2FE2)).check("SELECT")
        atr = reader.reset()
        assert atr == card.atr
        assert Cond.PIN1 not in card.verified and card.selection()["ef"] is None
        assert reader.send(uicc.verify_pin(uicc.PIN1, None)).sw == 0x63C3


def test_exclusive_by_default_shared_on_request(pcsc_card) -> None:
    with pcsc_card.open() as first:
        with pytest.raises(NoCardError, match="in use by another program"):
            pcsc_card.open(timeout=5)
        assert first.send(uicc.select_fid(0x3F00)).ok
    with pcsc_card.open(shared=True) as a, pcsc_card.open(shared=True) as b:
        assert a.send(uicc.select_fid(0x3F00)).ok and b.send(uicc.select_fid(0x3F00)).ok


# --- removal ----------------------------------------------------------------------------------------------------


def test_card_removed_between_apdus(pcsc_card) -> None:
    from simtool.transport.pcsc import CardRemoved

    reader = pcsc_card.open()
    try:
        assert reader.send(uicc.select_fid(0x3F00)).ok
        assert pcsc_card.eject()
        with pytest.raises(CardRemoved, match=f"{pcsc_card}: the card was removed") as e:
            reader.send(uicc.select_fid(0x3F00))
        assert e.value.exit_code == EXIT_NO_CARD
    finally:
        reader.close()
    with pytest.raises(NoCardError, match="no card in the reader"):
        pcsc_card.open()
    r = simtool("read", "--reader", pcsc_card.uri)
    assert r.returncode == EXIT_NO_CARD and "no card in the reader" in r.stderr
    assert pcsc_card.insert()
    with pcsc_card.open() as again:  # same card back in: works
        assert again.send(uicc.select_fid(0x3F00)).ok


def test_card_pulled_mid_session_without_pcscd_noticing_yet(pcsc_card) -> None:
    from simtool.transport.pcsc import CardRemoved

    reader = pcsc_card.open()
    try:
        assert reader.send(uicc.select_fid(0x3F00)).ok
        pcsc_card.server.slots[pcsc_card.slot].swap(None)  # pulled: the very next APDU finds it gone
        with pytest.raises(CardRemoved):
            reader.send(uicc.select_fid(0x3F00))
    finally:
        reader.close()


def test_a_card_that_stops_answering_mid_apdu_gives_up_at_the_deadline(simtool_pcscd) -> None:
    """Transmit runs on the caller's thread (no worker handoff) and still never hangs: when pcscd does not
    answer within the timeout, the watchdog cuts the call off; the session is dead from then on."""
    import threading

    from simtool.testing.pcscd import emulated_reader

    card = Card.blank(adm=ADM)
    armed, release = threading.Event(), threading.Event()
    inner = card.process

    def process(apdu: bytes) -> bytes:
        if armed.is_set():
            release.wait(30)  # a stuck card: pcscd waits for it, the client waits for pcscd
        return inner(apdu)

    card.process = process  # type: ignore[method-assign]
    with emulated_reader(card) as name:
        reader = name.open(timeout=1.0)
        try:
            assert reader.transport._c.watchdog is not None  # the fast path is the one under test
            assert reader.send(uicc.select_fid(0x3F00)).ok
            armed.set()
            with pytest.raises(NoCardError, match=f"{name}: transmit: no answer from pcscd within 1 s"):
                reader.send(uicc.select_fid(0x3F00))
            with pytest.raises(NoCardError, match="an earlier PC/SC call never returned"):
                reader.send(uicc.select_fid(0x3F00))
        finally:
            release.set()
            armed.clear()
            reader.close()


# --- other software: scriptor (pcsc-tools) -------------------------------------------------------------------------


SCRIPT = """\
# simtool: scriptor against an emulated UICC
00 A4 00 04 02 3F 00
00 C0 00 00 {fcp_len:02X}
00A4000C022FE2
00 B0 00 00 0A
00 20 00 01 08 30 30 30 30 FF FF FF FF
00 B2 01 04 {dir_len:02X}
reset
00 20 00 01 00
00 A4 00 0C 02 7F 20
00 A4 00 0C 02 6F 99
"""


def _scriptor_answers(out: str) -> list[bytes | str]:
    """scriptor prints `< 90 00 : Normal processing.` (16 bytes a line for long answers) and `< OK: <ATR>`
    after a reset."""
    answers: list[bytes | str] = []
    current: list[str] | None = None
    for line in out.splitlines():
        if current is None and line.startswith("< OK"):
            answers.append("OK")
            continue
        if line.startswith("< ") or current is not None:
            text = line[2:] if current is None else line
            current = (current or []) + [text.split(" : ")[0]]
            if " : " in text:
                answers.append(bytes.fromhex(" ".join(current)))
                current = None
    return answers


@pytest.mark.skipif(shutil.which("scriptor") is None and os.environ.get("CI", "").lower() != "true",
                    reason="scriptor (pcsc-tools) is not installed")
def test_scriptor_runs_an_apdu_script(pcsc_card, tmp_path: Path) -> None:
    twin = Card.blank(adm=ADM)  # the same card in process: what every answer must be
    fcp_len = twin.process(bytes.fromhex("00A40004023F00"))[1]
    twin.process(bytes.fromhex("00A4000C022F00"))
    dir_len = twin.process(bytes.fromhex("00B2010400"))[1]
    twin.reset()
    script = SCRIPT.format(fcp_len=fcp_len, dir_len=dir_len)
    expected: list[bytes | str] = []
    for line in script.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line == "reset":
            twin.reset()
            expected.append("OK")
        else:
            expected.append(twin.process(bytes.fromhex(line.replace(" ", ""))))
    path = tmp_path / "uicc.script"
    path.write_text(script)
    r = subprocess.run(["scriptor", "-r", str(pcsc_card), str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Using T=0 protocol" in r.stdout
    got = _scriptor_answers(r.stdout)
    assert got == expected
    assert expected[0][0] == 0x61 and expected[7] == b"\x63\xc3"  # the reset forgot PIN1


# --- personalization over PC/SC -------------------------------------------------------------------------------------


@pytest.mark.parametrize("pcsc_card", [{"file": True}], indirect=True)
def test_flash_read_and_auth_over_pcsc(pcsc_card) -> None:
    from simtool.personalize.auth import authenticate
    from simtool.personalize.flash import flash
    from simtool.personalize.read import read_card
    from simtool.profile import Identity, load_profile

    profile = load_profile(ROOT / "profiles" / "kpn-wechat-4gb-28d.yaml")
    identity = Identity.sample()
    with pcsc_card.open() as reader:
        result = flash(reader, profile, identity)
        assert result.auth is not None
    with pcsc_card.open() as reader:
        doc = read_card(reader, adm=identity.adm1)
        assert doc["files"]["MF/ADF.USIM/EF.IMSI"]["value"] == identity.imsi
        reader.send(uicc.select_aid(bytes.fromhex("A0000000871002"))).check("SELECT ADF.USIM")
        from simtool.crypto import aka

        assert authenticate(reader, aka.Milenage(identity.ki, identity.opc))
    # what went over the wire is on the card's state file, as with emu:PATH
    assert json.loads(pcsc_card.path.read_text())["counters"]["adm1"] == 3
    r = simtool("read", "--reader", pcsc_card.uri, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["summary"]["imsi"] == identity.imsi


# --- the serve command, eject with a feed, and a pcscd restart ------------------------------------------------------


def _free_pair(readers: dict[int, str]) -> int | None:
    from simtool.transport.vpcd import PortLock

    for s in sorted(readers):
        if s % 2 == 0 and s + 1 in readers:
            locks = [PortLock(35963 + s), PortLock(35963 + s + 1)]
            ok = [lk.acquire() for lk in locks]
            for lk, got in zip(locks, ok, strict=True):
                if got:
                    lk.release()
            if all(ok):
                return s
    return None


def test_cli_serve_two_slots_with_a_feed_and_eject(simtool_pcscd, tmp_path: Path) -> None:
    from simtool.testing.pcscd import pcscd_shared

    with pcscd_shared():  # no other session restarts pcscd meanwhile
        _serve_two_slots_with_a_feed_and_eject(tmp_path)


def _serve_two_slots_with_a_feed_and_eject(tmp_path: Path) -> None:
    from simtool.testing.pcscd import vpcd_readers
    from simtool.transport import open_reader
    from simtool.transport.pcsc import CardRemoved, wait_for_card

    readers = vpcd_readers()
    first = _free_pair(readers)
    if first is None:
        pytest.skip("no two free vpcd slots in one entry")
    names = [readers[first], readers[first + 1]]
    feed = tmp_path / "feed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simtool", "emulator", "serve", "--feed", str(feed), "--adm-hex", ADM.hex(),
         "--slots", "2", "--port", str(35963 + first)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    try:
        for n in names:
            assert wait_for_card(n, True, 10), f"{n}: no card"
        with open_reader(f"pcsc:{names[1]}") as reader:
            assert reader.send(uicc.select_fid(0x3F00)).ok
            r = simtool("emulator", "eject", "--slot", "1", "--feed", str(feed), "--json")
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["inserted"].endswith("card-000003.json")
            with pytest.raises(CardRemoved):
                reader.send(uicc.select_fid(0x3F00))
        assert wait_for_card(names[1], True, 10)
        with open_reader(f"pcsc:{names[1]}") as reader:  # the fresh card
            assert reader.send(uicc.select_fid(0x3F00)).ok
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        for n in names:
            assert wait_for_card(n, False, 5), f"{n}: card still there after SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.pcscd_restart  # restarts pcscd: run after every other test (simtool plugin)
def test_pcscd_restart_the_server_reconnects(simtool_pcscd) -> None:
    from simtool.testing.pcscd import PcscUnavailable, emulated_reader, in_ci, pcscd_exclusive
    from simtool.transport.pcsc import wait_for_card

    try:
        with pcscd_exclusive(timeout=30), emulated_reader() as name:  # waits for other sessions' cards
            slot = name.server.slots[name.slot]
            sessions = slot.sessions
            with name.open(shared=True) as reader:  # shared: the card is left as it is, PIN1 verified
                assert reader.send(uicc.verify_pin(uicc.PIN1, uicc.pin_bytes("0000"))).ok
            assert Cond.PIN1 in name.card.verified
            simtool_pcscd.restart()
            t = time.monotonic()
            assert wait_for_card(str(name), True, 15), "no card after the pcscd restart"
            assert slot.sessions > sessions  # the server reconnected by itself
            with name.open() as reader:
                assert reader.send(uicc.select_fid(0x3F00)).ok
                # a new pcscd powered the card up afresh: nothing verified
                assert reader.send(uicc.verify_pin(uicc.PIN1, None)).sw == 0x63C3
            assert time.monotonic() - t < 15
    except PcscUnavailable as e:
        if in_ci():
            raise
        pytest.skip(str(e))

"""The card side of the vpcd protocol against a fake vpcd on loopback (no pcscd needed): framing, the
ATR at any time, power on/off/reset, APDUs, reconnecting, eject with a feed, the control socket, and
`simtool emulator serve` stopping cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from simtool.emulator.card import Card
from simtool.emulator.tray import next_iccid
from simtool.errors import InputError, NoCardError
from simtool.fs import Cond
from simtool.transport import vpcd
from simtool.transport.vpcd import (
    CTRL_ATR,
    CTRL_OFF,
    CTRL_ON,
    CTRL_RESET,
    MAX_PAYLOAD,
    Feed,
    FrameReader,
    PortLock,
    SlotBusyError,
    VpcdCardServer,
    frame,
    send_control,
)
from simtool.transport.vpcd_protocol import (
    Apdu,
    Deframer,
    GetAtr,
    PowerOff,
    PowerOn,
    Reset,
    UnknownControl,
    VpcdProtocol,
    decode,
)

ADM = bytes.fromhex("3131313131313131")
ROOT = Path(__file__).resolve().parents[2]
VERIFY_PIN1 = bytes.fromhex("002000010830303030FFFFFFFF")
PIN1_STATUS = bytes.fromhex("0020000100")


class FakeVpcd:
    """The vpcd end: listens, accepts the card's connection, sends framed messages."""

    def __init__(self, port: int = 0) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.conn: socket.socket | None = None
        self.reader: FrameReader | None = None
        self.card_reads: Counted | None = None

    def accept(self, timeout: float = 5.0) -> FakeVpcd:
        self.listener.settimeout(timeout)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(timeout)
        self.reader = FrameReader(self.conn)
        return self

    def send(self, payload: bytes, split: bool = False) -> None:
        assert self.conn is not None
        data = frame(payload)
        if split:  # vpcd's two writes: the length, then the payload once the card has read the length alone
            assert self.card_reads is not None, "a split send needs the peer fixture's CardReads"
            seen = self.card_reads.total
            self.conn.sendall(data[:2])
            self.card_reads.wait_for(seen + 2)
            self.conn.sendall(data[2:])
        else:
            self.conn.sendall(data)

    def recv(self) -> bytes | None:
        assert self.reader is not None
        return self.reader.read()

    def ask(self, payload: bytes, split: bool = False) -> bytes:
        self.send(payload, split)
        out = self.recv()
        assert out is not None, "the card closed the connection"
        return out

    def atr(self) -> bytes:
        return self.ask(bytes([CTRL_ATR]))

    def ctrl(self, code: int) -> None:
        self.send(bytes([code]))

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def close(self) -> None:
        self.drop()
        self.listener.close()


class Counted:
    """A count the card's threads raise (bytes its slots took off their sockets, refused connects) and the
    test waits on: the card has done it, whatever the timing."""

    def __init__(self) -> None:
        self.total = 0
        self._cond = threading.Condition()

    def add(self, n: int) -> None:
        with self._cond:
            self.total += n
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.total >= n, timeout), f"count {self.total}, waited for {n}"


def _count_calls(monkeypatch, cls: type, name: str, amount: Callable) -> Counted:
    """Wrap `cls.name`; after each call, add `amount(self, before, result)` to the returned count."""
    counted, real = Counted(), getattr(cls, name)

    def wrapper(self, *args):
        before = len(getattr(self, "buf", b""))
        result = real(self, *args)
        counted.add(amount(self, before, result))
        return result

    monkeypatch.setattr(cls, name, wrapper)
    return counted


@pytest.fixture
def peer(monkeypatch):
    p = FakeVpcd()
    p.card_reads = _count_calls(monkeypatch, vpcd.Slot, "_recv", lambda _s, _b, data: len(data))
    yield p
    p.close()


def serve_one(card: Card, port: int, **kw) -> VpcdCardServer:
    return VpcdCardServer([card], port=port, control=kw.pop("control", False), **kw).start()


# --- framing ------------------------------------------------------------------------------------------------


def test_frame_is_big_endian_length_then_payload() -> None:
    assert frame(b"\x04") == b"\x00\x01\x04"
    assert frame(b"\x00" * 300)[:2] == b"\x01\x2c"
    assert frame(b"") == b"\x00\x00"
    with pytest.raises(ValueError):
        frame(b"\x00" * 0x10000)


def test_frame_reader_reassembles_split_and_coalesced_messages() -> None:
    a, b = socket.socketpair()
    try:
        r = FrameReader(b)
        data = frame(b"\x01") + frame(bytes(range(7))) + frame(b"\xaa" * 600)
        for i in range(20):  # one byte at a time (a unix socket holds only so many tiny packets)
            a.sendall(data[i : i + 1])
        a.sendall(data[20:400])
        a.sendall(data[400:])
        assert r.read() == b"\x01"
        assert r.read() == bytes(range(7))
        assert r.read() == b"\xaa" * 600
        a.sendall(frame(b"\x02") + frame(b"\x03"))  # two messages in one segment
        assert r.read() == b"\x02" and r.read() == b"\x03"
        a.sendall(b"\x00\x05ab")
        a.close()
        assert r.read() is None  # closed mid-message: the card was removed
    finally:
        b.close()


# --- the protocol core, sans I/O: byte streams in, events out ---------------------------------------------------

STREAM_MESSAGES = [b"\x01", b"\x04", bytes.fromhex("00A4000C023F00"), b"", b"\x02", b"\xaa" * 600, b"\x07", b"\x00",
                   bytes.fromhex("0120"), b"\x55" * MAX_PAYLOAD]
STREAM_EVENTS = [PowerOn(), GetAtr(), Apdu(bytes.fromhex("00A4000C023F00")), Apdu(b""), Reset(), Apdu(b"\xaa" * 600),
                 UnknownControl(7), PowerOff(), Apdu(bytes.fromhex("0120")), Apdu(b"\x55" * MAX_PAYLOAD)]


def _events(chunks) -> tuple[list, VpcdProtocol]:
    proto = VpcdProtocol()
    out = []
    for chunk in chunks:
        out += proto.receive(chunk)
    return out, proto


def test_protocol_decodes_each_message_kind() -> None:
    assert [decode(bytes([c])) for c in (CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR)] == [PowerOff(), PowerOn(), Reset(),
                                                                                       GetAtr()]
    assert decode(b"\x03") == UnknownControl(3) and decode(b"\xff") == UnknownControl(0xFF)
    assert decode(b"\x01\x00") == Apdu(b"\x01\x00")  # only a 1-byte message is a control message
    assert decode(b"") == Apdu(b"")


def test_protocol_events_do_not_depend_on_how_tcp_cuts_the_stream() -> None:
    data = b"".join(frame(m) for m in STREAM_MESSAGES)
    whole, proto = _events([data])
    assert whole == STREAM_EVENTS and proto.pending == 0
    small = b"".join(frame(m) for m in STREAM_MESSAGES[:-1])  # every two-piece cut of the small frames
    for cut in range(len(small) + 1):
        assert _events([small[:cut], small[cut:]])[0] == STREAM_EVENTS[:-1], cut
    byte_by_byte, proto = _events([small[i : i + 1] for i in range(len(small))])
    assert byte_by_byte == STREAM_EVENTS[:-1] and proto.pending == 0
    vpcd_style = [piece for m in STREAM_MESSAGES for piece in (frame(m)[:2], frame(m)[2:])]  # length, then payload
    assert _events(vpcd_style)[0] == STREAM_EVENTS


def test_protocol_keeps_an_incomplete_tail_for_the_next_receive() -> None:
    proto = VpcdProtocol()
    assert proto.receive(frame(b"\x04") + b"\x00") == [GetAtr()] and proto.pending == 1
    assert proto.receive(b"\x05\x00\xa4") == [] and proto.pending == 4
    assert proto.receive(b"\x00\x0c\x02" + frame(b"\x00")) == [Apdu(bytes.fromhex("00A4000C02")), PowerOff()]
    assert proto.pending == 0
    assert VpcdProtocol().pending == 0  # a new connection starts clean: nothing of a half message carries over


def test_protocol_replies_are_framed_and_bounded() -> None:
    assert VpcdProtocol.reply(b"\x90\x00") == b"\x00\x02\x90\x00"
    atr = bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")
    assert VpcdProtocol.reply(atr) == bytes([0, len(atr)]) + atr
    with pytest.raises(ValueError, match="too long"):
        VpcdProtocol.reply(b"\x00" * (MAX_PAYLOAD + 1))


class ByteStreamSocket:
    """Stands in for the slot's socket: `recv` hands out the given chunks, `sendall` collects what the card
    wrote. No network: the pump is run over plain bytes."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.sent = bytearray()

    def recv(self, _n: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def sendall(self, data: bytes) -> None:
        self.sent += data


def _pump(chunks: list[bytes]) -> tuple[vpcd.Slot, Card, list[bytes]]:
    card = Card.blank(adm=ADM)
    slot = vpcd.Slot(0, 1, "127.0.0.1", card)
    sock = ByteStreamSocket(chunks)
    slot._session(sock, card)  # type: ignore[arg-type]
    reader = Deframer()
    replies = reader.feed(bytes(sock.sent))
    assert reader.pending == 0
    return slot, card, replies


def test_pump_answers_a_byte_stream_the_same_however_it_is_cut() -> None:
    script = [b"\x01", b"\x04", VERIFY_PIN1, b"\x09", PIN1_STATUS, b"\x04"]
    data = b"".join(frame(m) for m in script)
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))], [data[:3], data[3:17], data[17:]]):
        slot, card, replies = _pump(chunks)
        assert replies == [card.atr, b"\x90\x00", b"\x63\xc3", card.atr]  # the ATR at any time; no reply to 09
        assert Cond.PIN1 in card.verified and slot.powered and slot.apdus == 2  # control bytes are no APDUs
    for ctrl in (CTRL_RESET, CTRL_ON):  # a reset (or a power-on) after the verify: the card forgets it
        slot, card, replies = _pump([data + frame(bytes([ctrl]))])
        assert Cond.PIN1 not in card.verified and slot.powered
    slot, card, _ = _pump([data + frame(b"\x00")])
    assert not slot.powered


# --- the protocol -----------------------------------------------------------------------------------------------


def test_atr_at_any_time_and_apdus(peer: FakeVpcd) -> None:
    card = Card.blank(adm=ADM)
    with serve_one(card, peer.port):
        peer.accept()
        assert peer.atr() == card.atr  # before any power on: presence polling
        peer.ctrl(CTRL_ON)
        assert peer.atr() == card.atr
        out = peer.ask(bytes.fromhex("00A40004023F00"), split=True)  # T=0: 61xx, then GET RESPONSE
        assert out[0] == 0x61
        fcp = peer.ask(bytes([0x00, 0xC0, 0x00, 0x00, out[1]]))
        assert fcp[-2:] == b"\x90\x00" and fcp[0] == 0x62 and len(fcp) == out[1] + 2
        assert peer.atr() == card.atr  # between APDUs
        assert peer.ask(bytes.fromhex("00B0000002"))[-2:] == b"\x69\x86"  # no EF selected: SW, no crash
        assert peer.ask(b"\x00\xa4\x00") == b"\x67\x00"  # too short for an APDU
        peer.ctrl(CTRL_OFF)
        assert peer.atr() == card.atr  # powered off: still answers presence polling
        peer.send(b"\x09")  # an unknown control byte: ignored, no answer
        assert peer.atr() == card.atr


def test_t1_card_answers_case4_at_once(peer: FakeVpcd) -> None:
    card = Card.blank(adm=ADM, protocol="T=1")
    with serve_one(card, peer.port):
        peer.accept()
        assert peer.atr() == card.atr
        peer.ctrl(CTRL_ON)
        out = peer.ask(bytes.fromhex("00A40004023F0000"))
        assert out[0] == 0x62 and out[-2:] == b"\x90\x00"


def test_reset_and_power_on_forget_pins_and_selection(peer: FakeVpcd) -> None:
    card = Card.blank(adm=ADM)
    with serve_one(card, peer.port) as server:
        peer.accept()
        peer.ctrl(CTRL_ON)
        assert peer.ask(VERIFY_PIN1) == b"\x90\x00"
        assert Cond.PIN1 in card.verified
        assert peer.ask(bytes.fromhex("00A4000C022FE2")) == b"\x90\x00"
        assert card.selection()["ef"] is not None
        peer.ctrl(CTRL_RESET)
        assert peer.ask(PIN1_STATUS) == b"\x63\xc3"  # forgotten, full tries (the reset came first)
        assert Cond.PIN1 not in card.verified
        assert card.selection()["ef"] is None
        assert peer.ask(VERIFY_PIN1) == b"\x90\x00"
        peer.ctrl(CTRL_OFF)
        peer.ctrl(CTRL_ON)
        assert peer.ask(PIN1_STATUS) == b"\x63\xc3"
        assert Cond.PIN1 not in card.verified
        assert server.slots[0].powered
        assert server.slots[0].apdus >= 5


def test_socket_options_and_quickack_before_every_receive(peer: FakeVpcd, monkeypatch) -> None:
    calls = []
    real = vpcd._quickack
    monkeypatch.setattr(vpcd, "_quickack", lambda s: (calls.append(1), real(s)))
    card = Card.blank(adm=ADM)
    with serve_one(card, peer.port) as server:
        peer.accept()
        assert server.wait_connected(5.0)
        sock = server.slots[0]._sock
        assert sock is not None and sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        before = len(calls)
        for _ in range(5):
            peer.ask(bytes.fromhex("00A4000C023F00"), split=True)
        assert len(calls) - before >= 10  # the length and the payload, each in its own receive


def test_reconnects_when_vpcd_closes_and_when_it_comes_back(peer: FakeVpcd, monkeypatch) -> None:
    refused = _count_calls(monkeypatch, vpcd.Slot, "_connect", lambda _s, _b, sock: sock is None)
    card = Card.blank(adm=ADM)
    port = peer.port
    with serve_one(card, port) as server:
        peer.accept()
        peer.ctrl(CTRL_ON)
        assert peer.ask(VERIFY_PIN1) == b"\x90\x00"
        peer.drop()  # vpcd closed the connection (pcscd stopping, or vpcd's eject)
        peer.accept()  # the card knocks again
        assert peer.atr() == card.atr
        seen = refused.total
        peer.close()  # vpcd gone entirely: nobody listens on the port
        refused.wait_for(seen + 3)  # a few refused connects, with backoff
        again = FakeVpcd(port)  # pcscd restarted
        try:
            again.accept(timeout=5.0)
            assert again.atr() == card.atr
            assert server.slots[0].sessions >= 3
        finally:
            again.close()


def test_stop_closes_the_connection(peer: FakeVpcd) -> None:
    server = serve_one(Card.blank(adm=ADM), peer.port)
    peer.accept()
    assert peer.atr()
    server.stop()
    assert not any(slot.thread.is_alive() for slot in server.slots.values())  # stopped, not left to a join timeout
    assert peer.recv() is None  # vpcd sees the card go
    server.stop()  # idempotent


def test_slot_lock_keeps_a_second_server_off_the_same_port(peer: FakeVpcd) -> None:
    with serve_one(Card.blank(adm=ADM), peer.port):
        with pytest.raises(SlotBusyError):
            serve_one(Card.blank(adm=ADM), peer.port)
        lock = PortLock(peer.port)
        assert not lock.acquire()
    lock = PortLock(peer.port)
    assert lock.acquire()
    lock.release()


def test_several_slots_on_consecutive_ports() -> None:
    # find two consecutive free ports
    for _ in range(20):
        a = FakeVpcd()
        try:
            b = FakeVpcd(a.port + 1)
        except OSError:
            a.close()
            continue
        break
    else:
        pytest.skip("no two consecutive free ports")
    cards = [Card.blank(adm=ADM), Card.blank(adm=ADM, protocol="T=1")]
    try:
        with VpcdCardServer(cards, port=a.port, control=False):
            a.accept()
            b.accept()
            assert a.atr() == cards[0].atr and b.atr() == cards[1].atr
    finally:
        a.close()
        b.close()


# --- feed, eject and the control socket ------------------------------------------------------------------------


def test_feed_eject_puts_a_fresh_blank_card_in(peer: FakeVpcd, tmp_path: Path) -> None:
    Feed.write_template(tmp_path, ADM, "T=1", iccid="8931080000000000019")
    assert (tmp_path / "template.json").stat().st_mode & 0o777 == 0o600
    feed = Feed.open(tmp_path)
    server = VpcdCardServer.from_feed(feed, slots=1, port=peer.port)
    server.eject_gap = 0.1
    with server:
        peer.accept()
        peer.ctrl(CTRL_ON)
        first = peer.ask(bytes.fromhex("00A4000C023F00"))
        assert first == b"\x90\x00"
        assert peer.ask(bytes.fromhex("00B0000A0A"))  # noise; any SW
        answer = send_control(tmp_path / "control.sock", {"cmd": "eject", "slot": 0})
        assert answer["ejected"].endswith("card-000001.json") and answer["inserted"].endswith("card-000002.json")
        assert peer.recv() is None  # the old card left
        peer.accept()  # the new one arrives
        assert peer.atr() == Card.blank(adm=ADM, protocol="T=1").atr
        peer.ctrl(CTRL_ON)
        # the new card carries the next vendor ICCID (Luhn digit recomputed)
        assert peer.ask(bytes.fromhex("00A4000C022FE2")) == b"\x90\x00"
        raw = peer.ask(bytes.fromhex("00B000000A"))
        from simtool.encoding.efs import ICCID

        assert ICCID.decode(raw[:-2]) == "8931080000000000027"
        status = send_control(tmp_path / "control.sock", {"cmd": "status"})
        assert status["slots"][0]["card"].endswith("card-000002.json")
    assert sorted(p.name for p in tmp_path.glob("card-*.json")) == ["card-000001.json", "card-000002.json"]
    assert not (tmp_path / "control.sock").exists()


def test_eject_without_feed_leaves_the_slot_empty_and_insert_fills_it(peer: FakeVpcd, tmp_path: Path) -> None:
    from simtool.emulator.blank import create_card_file

    ctl = tmp_path / "ctl.sock"
    card_file = tmp_path / "c.json"
    create_card_file(card_file, ADM)
    with VpcdCardServer([Card.blank(adm=ADM)], port=peer.port, control=ctl):
        peer.accept()
        answer = send_control(ctl, {"cmd": "eject", "slot": 0})
        assert answer["ejected"] == "memory" and answer["inserted"] is None
        assert peer.recv() is None
        peer.listener.settimeout(0.7)
        with pytest.raises(TimeoutError):
            peer.listener.accept()  # an empty slot does not connect
        answer = send_control(ctl, {"cmd": "insert", "slot": 0, "card": str(card_file)})
        assert answer["inserted"] == str(card_file)
        peer.accept()
        assert peer.atr() == Card.load(card_file).atr
        with pytest.raises(InputError, match="slot 3: not served"):
            send_control(ctl, {"cmd": "eject", "slot": 3})
        with pytest.raises(InputError, match="unknown command"):
            send_control(ctl, {"cmd": "explode"})
        with pytest.raises(SlotBusyError):  # a second server on the same control socket
            VpcdCardServer([Card.blank(adm=ADM)], port=peer.port + 7, control=ctl).start()
    with pytest.raises(NoCardError, match="no simtool emulator server"):
        send_control(ctl, {"cmd": "status"})


def test_stale_control_socket_is_replaced(peer: FakeVpcd, tmp_path: Path) -> None:
    ctl = tmp_path / "ctl.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(ctl))
    s.close()  # a socket file with no server behind it
    with VpcdCardServer([Card.blank(adm=ADM)], port=peer.port, control=ctl):
        assert send_control(ctl, {"cmd": "status"})["slots"][0]["slot"] == 0


def test_feed_template_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no template.json"):
        Feed.open(tmp_path)
    (tmp_path / "template.json").write_text('{"adm_hex": "3131"}')
    with pytest.raises(InputError, match="8 bytes"):
        Feed.open(tmp_path)
    (tmp_path / "template.json").write_text('{"adm_hex": "3131313131313131", "protocol": "T=2"}')
    with pytest.raises(InputError, match="protocol"):
        Feed.open(tmp_path)
    (tmp_path / "template.json").write_text("[")
    with pytest.raises(InputError, match="not a feed template"):
        Feed.open(tmp_path)


def test_next_iccid_keeps_luhn_valid() -> None:
    from simtool.profile.luhn import luhn_ok

    first = "8931080000000000019"
    got = [next_iccid(first, n) for n in range(12)]
    assert got[0] == first and len(set(got)) == 12 and all(luhn_ok(x) and len(x) == 19 for x in got)
    assert next_iccid("893108000000000001", 2) == "893108000000000003"  # no Luhn digit: plain count


# --- the CLI ------------------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_cli_serve_and_eject_with_feed_then_sigterm(peer: FakeVpcd, tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simtool", "emulator", "serve", "--feed", str(feed), "--adm-hex", ADM.hex(),
         "--port", str(peer.port), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=tmp_path)
    try:
        peer.accept(timeout=10)
        assert peer.atr() == Card.blank(adm=ADM).atr
        status = json.loads(_json_document(proc))
        assert status["slots"][0]["card"].endswith("card-000001.json")
        out = subprocess.run([sys.executable, "-m", "simtool", "emulator", "eject", "--slot", "0", "--feed",
                              str(feed), "--json"], capture_output=True, env=_env(), timeout=20)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["inserted"].endswith("card-000002.json")
        assert peer.recv() is None
        peer.accept()
        assert peer.atr()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert peer.recv() is None  # closed cleanly
        assert not (feed / "control.sock").exists()
        assert json.loads((feed / "card-000002.json").read_text())["format"]  # durable state files
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _json_document(proc: subprocess.Popen) -> bytes:
    """One pretty-printed JSON document from the process's stdout (it ends with the line '}')."""
    lines = []
    for line in iter(proc.stdout.readline, b""):
        lines.append(line)
        if line.rstrip() == b"}":
            break
    return b"".join(lines)


def test_cli_usage_errors(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "simtool", *args], capture_output=True, text=True, env=_env(),
                              timeout=30)

    r = run("emulator", "serve")
    assert r.returncode == 2 and "give card files" in r.stderr
    r = run("emulator", "serve", str(tmp_path / "nope.json"))
    assert r.returncode == 2 and "no such card file" in r.stderr
    r = run("emulator", "eject", "--slot", "0", "--control", str(tmp_path / "none.sock"))
    assert r.returncode == 3 and "no simtool emulator server" in r.stderr
    r = run("emulator", "serve", "--slots", "2", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "--feed" in r.stderr

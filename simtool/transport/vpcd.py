"""The card side of the vsmartcard `vpcd` protocol: emulated cards as PC/SC readers behind pcscd.

pcscd loads `libifdvpcd.so`, which listens on TCP port 35963 + slot (specfacts §6). Each emulated card
connects to its slot's port as a client and then answers what vpcd sends, framed as a 2-byte big-endian
length followed by the payload, in both directions:

* a 1-byte control message: `00` power off, `01` power on, `02` reset, `04` get ATR. Only "get ATR" gets
  a reply (the ATR, framed); pcscd polls card presence with it, so it is answered at any time;
* anything else is a command APDU, answered with `card.process(apdu)` (data ‖ SW1 SW2).

Power on and reset are a card reset (`Card.reset()`: MF selected, channels closed, verified PINs
forgotten), as on a real card. A closed socket is how vpcd and the card see a removal: the server
closes a slot's connection to take its card out, and reconnects (short backoff, forever) whenever vpcd
closes it or is not listening, e.g. while pcscd restarts.

Latency: vpcd may write the length prefix and the payload separately, so the card side sets
`TCP_NODELAY` and re-arms `TCP_QUICKACK` before every receive (DESIGN.md §3); without them each APDU
waits ~40 ms for a delayed ACK.

Feed mode (`--feed DIR`): `DIR/template.json` (`{"adm_hex": "...", "protocol": "T=0", "iccid": "..."}`)
describes the blank cards a vendor delivers. `eject(slot)` takes the slot's card out (its state file
stays in DIR, durable as always) and a fresh blank card, `DIR/card-NNNN.json`, goes in. With an
`iccid` in the template the cards carry consecutive vendor ICCIDs from it (Luhn digit recomputed).

Control channel: a running server listens on a unix socket (`DIR/control.sock` in feed mode, else
`control_path(port)` in the temp directory), one JSON request line → one JSON answer line:
`{"cmd": "eject", "slot": N}`, `{"cmd": "insert", "slot": N, "card": PATH}`, `{"cmd": "status"}`.
`simtool emulator eject --slot N` is a client of it (`send_control`).

One server per slot at a time: each slot's port is guarded by a lock (`PortLock`, an abstract unix
socket name), so two simtool processes never feed the same vpcd slot (vpcd would accept only one).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simtool.emulator.card import Card
from simtool.errors import InputError, NoCardError, SimtoolError

log = logging.getLogger("simtool.vpcd")

VPCD_PORT = 35963  # 0x8C7B: vsmartcard's default base port
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04
MAX_PAYLOAD = 0xFFFF
TEMPLATE_NAME = "template.json"
CONTROL_NAME = "control.sock"
BACKOFF_MIN = 0.05  # s, first retry after a refused connection or a closed session
BACKOFF_MAX = 1.0  # s, the retry interval while pcscd stays away
# pcscd polls a vpcd slot every 400 ms. A card swapped in faster than one poll could go unseen (a failed
# APDU makes vpcd drop the old connection and the next poll finds the new card), so a slot stays empty
# this long after an eject before the next card goes in.
EJECT_GAP = 1.0


class SlotBusyError(SimtoolError):
    """Another simtool process already serves this vpcd slot (exit 3: the reader is taken)."""

    exit_code = NoCardError.exit_code


# --- framing --------------------------------------------------------------------------------------------


def frame(payload: bytes) -> bytes:
    """2-byte big-endian length, then the payload (both directions of the vpcd protocol)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"vpcd message too long: {len(payload)} bytes")
    return len(payload).to_bytes(2, "big") + payload


def _quickack(sock: socket.socket) -> None:
    # Linux clears TCP_QUICKACK again after some ACKs: set it before every receive (DESIGN.md §3).
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class FrameReader:
    """Reads length-prefixed messages from a socket, re-arming TCP_QUICKACK before every recv."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> bool:
        _quickack(self.sock)
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def read(self) -> bytes | None:
        """The next message, or None when the peer closed the connection."""
        while len(self.buf) < 2:
            if not self._fill():
                return None
        n = (self.buf[0] << 8) | self.buf[1]
        while len(self.buf) < 2 + n:
            if not self._fill():
                return None
        msg = bytes(self.buf[2 : 2 + n])
        del self.buf[: 2 + n]
        return msg


def control_path(port: int = VPCD_PORT) -> Path:
    """The default control socket of a server on base port `port` (no feed directory)."""
    return Path(tempfile.gettempdir()) / f"simtool-vpcd-{port}.sock"


class PortLock:
    """Held while a process serves vpcd port `port`: a socket bound to an abstract unix address (Linux),
    so the kernel frees it when the process ends and no lock file is left behind."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None

    def acquire(self) -> bool:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"\0simtool-vpcd-port-{self.port}")
        except OSError:
            sock.close()
            return False
        self.sock = sock
        return True

    def release(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# --- the feed: fresh blank cards from a template -----------------------------------------------------------


def _next_iccid(first: str, n: int) -> str:
    """The n-th (0-based) ICCID of a vendor run starting at `first`; a Luhn digit is kept valid."""
    from simtool.profile.luhn import luhn_digit, luhn_ok

    if n == 0:
        return first
    if luhn_ok(first):
        payload = str(int(first[:-1]) + n).zfill(len(first) - 1)
        return payload + luhn_digit(payload)
    return str(int(first) + n).zfill(len(first))


@dataclass
class Feed:
    """A directory of blank cards made from `template.json`, handed out one by one."""

    directory: Path
    adm: bytes
    protocol: str = "T=0"
    iccid: str | None = None

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> Feed:
        d = Path(directory)
        path = d / TEMPLATE_NAME
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"--feed {d}: no {TEMPLATE_NAME} (write one, e.g. "
                             '{"adm_hex": "3131313131313131", "protocol": "T=0"}, or pass --adm-hex)') from None
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: not a feed template: {e}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("adm_hex"), str):
            raise InputError(f"{path}: adm_hex: the vendor's ADM1 key is missing (16 hex digits)")
        try:
            adm = bytes.fromhex(doc["adm_hex"])
        except ValueError:
            raise InputError(f"{path}: adm_hex: not hex") from None
        if len(adm) != 8:
            raise InputError(f"{path}: adm_hex: must be 8 bytes (16 hex digits)")
        protocol = doc.get("protocol", "T=0")
        if protocol not in ("T=0", "T=1"):
            raise InputError(f"{path}: protocol: must be T=0 or T=1")
        iccid = doc.get("iccid")
        if iccid is not None and (not isinstance(iccid, str) or not iccid.isdigit() or not 18 <= len(iccid) <= 20):
            raise InputError(f"{path}: iccid: must be 18 to 20 digits")
        return cls(d, adm, protocol, iccid)

    @staticmethod
    def write_template(directory: str | os.PathLike[str], adm: bytes, protocol: str = "T=0",
                       iccid: str | None = None) -> Path:
        """Create `DIR/template.json` (mode 0600: it holds the vendor ADM key)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {"adm_hex": adm.hex(), "protocol": protocol}
        if iccid:
            doc["iccid"] = iccid
        path = d / TEMPLATE_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        return path

    def cards(self) -> list[Path]:
        return sorted(self.directory.glob("card-*.json"))

    def new_card(self) -> tuple[Card, Path]:
        """A fresh blank card in a new state file `card-NNNN.json` (never overwrites one)."""
        from simtool.emulator.blank import create_card_file

        numbers = [int(p.stem[5:]) for p in self.cards() if p.stem[5:].isdigit()]
        n = max(numbers, default=0) + 1
        while True:
            path = self.directory / f"card-{n:04d}.json"
            if not path.exists():
                break
            n += 1
        iccid = _next_iccid(self.iccid, n - 1) if self.iccid else None
        create_card_file(path, self.adm, iccid=iccid, protocol=self.protocol)
        return Card.load(path), path


# --- one slot ------------------------------------------------------------------------------------------------


def _card_path(card: Card) -> Path | None:
    storage = getattr(card, "storage", None)
    return getattr(storage, "path", None)


class Slot:
    """One emulated card connected to one vpcd port; runs on its own thread."""

    def __init__(self, index: int, port: int, host: str, card: Card | None) -> None:
        self.index = index
        self.port = port
        self.host = host
        self.card = card
        self.powered = False
        self.apdus = 0
        self.sessions = 0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._wake = threading.Event()  # card changed or stop requested: leave the backoff wait
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"vpcd-slot-{index}", daemon=True)

    def __repr__(self) -> str:
        return f"<Slot {self.index} {self.host}:{self.port} {self.card!r}>"

    # -- control (any thread) --

    def swap(self, card: Card | None) -> Card | None:
        """Put `card` in (None = leave the slot empty); the card that was in comes out. The connection
        is closed so vpcd, and pcscd through it, see the old card go."""
        with self._lock:
            old, self.card = self.card, card
            self._drop()
        self._wake.set()
        return old

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._drop()
        self._wake.set()

    def _drop(self) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- the slot thread --

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=2.0)
        except OSError:
            return None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _quickack(sock)
        return sock

    def _run(self) -> None:
        delay = BACKOFF_MIN
        refused_since: float | None = None
        while not self._stop.is_set():
            with self._lock:
                card = self.card
            if card is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            sock = self._connect()
            if sock is None:
                now = time.monotonic()
                if refused_since is None:
                    refused_since = now
                elif refused_since > 0 and now - refused_since > 3.0:
                    log.warning("slot %d: nothing listens on %s:%d (is pcscd running with the vpcd driver?); "
                                "retrying", self.index, self.host, self.port)
                    refused_since = -1.0  # warned for this outage
                self._wake.wait(delay)
                self._wake.clear()
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if refused_since == -1.0:
                log.warning("slot %d: connected to vpcd at %s:%d again", self.index, self.host, self.port)
            refused_since = None
            with self._lock:
                if self._stop.is_set() or self.card is not card:  # changed while connecting
                    sock.close()
                    continue
                self._sock = sock
            self.sessions += 1
            self.connected.set()
            started = time.monotonic()
            log.info("slot %d: connected to vpcd at %s:%d", self.index, self.host, self.port)
            try:
                self._session(sock, card)
            except OSError as e:
                log.debug("slot %d: connection ended: %s", self.index, e)
            finally:
                with self._lock:
                    self._sock = None
                self.connected.clear()
                self.powered = False
                with contextlib.suppress(OSError):
                    sock.close()
            log.info("slot %d: disconnected from vpcd", self.index)
            if time.monotonic() - started > 1.0:
                delay = BACKOFF_MIN
            if not self._stop.is_set():
                self._wake.wait(delay)
                self._wake.clear()
                delay = min(delay * 2, BACKOFF_MAX)

    def _session(self, sock: socket.socket, card: Card) -> None:
        reader = FrameReader(sock)
        send = sock.sendall
        process = card.process
        while True:
            msg = reader.read()
            if msg is None:
                return
            if len(msg) == 1:
                ctrl = msg[0]
                if ctrl == CTRL_ATR:
                    send(frame(card.atr))
                elif ctrl in (CTRL_ON, CTRL_RESET):
                    card.reset()
                    self.powered = True
                elif ctrl == CTRL_OFF:
                    self.powered = False
                else:
                    log.warning("slot %d: unknown vpcd control byte %02X ignored", self.index, ctrl)
                continue
            self.apdus += 1
            send(frame(process(msg)))


# --- the server ----------------------------------------------------------------------------------------------


CardSpec = Card | str | os.PathLike[str] | None


def _as_card(spec: CardSpec) -> Card | None:
    if spec is None or isinstance(spec, Card):
        return spec
    return Card.load(spec)


class VpcdCardServer:
    """Emulated cards as vpcd slots: slot i (a position in `cards`, or a key of a mapping) on port + i.

    `start()` runs one thread per slot and the control socket; `stop()` closes every connection (pcscd
    sees the cards go) and releases the slots. Card files need no closing: every write is already
    durable. Use as a context manager, or `serve()` to block until SIGTERM/SIGINT.
    """

    def __init__(self, cards: Sequence[CardSpec] | Mapping[int, CardSpec], host: str = "127.0.0.1",
                 port: int = VPCD_PORT, *, feed: Feed | str | os.PathLike[str] | None = None,
                 control: str | os.PathLike[str] | None | bool = True) -> None:
        items = cards.items() if isinstance(cards, Mapping) else enumerate(cards)
        self.host = host
        self.port = port
        self.feed = Feed.open(feed) if feed is not None and not isinstance(feed, Feed) else feed
        self.slots: dict[int, Slot] = {}
        for i, spec in sorted(items, key=lambda kv: kv[0]):
            if i < 0 or port + i > 0xFFFF:
                raise InputError(f"slot {i}: no such vpcd port ({port} + {i})")
            self.slots[i] = Slot(i, port + i, host, _as_card(spec))
        if not self.slots:
            raise InputError("no card to serve (give card files, or --feed DIR with --slots N)")
        if control is True:
            control = (self.feed.directory / CONTROL_NAME) if self.feed else control_path(port)
        self.control_path = Path(control) if control else None
        self._locks: list[PortLock] = []
        self._control_sock: socket.socket | None = None
        self._control_thread: threading.Thread | None = None
        self._stopping = threading.Event()  # stop() has begun: the control loop ends
        self._stopped = threading.Event()  # stop() is done: every connection and socket closed
        self._stop_lock = threading.Lock()
        self._started = False
        self.eject_gap = EJECT_GAP

    @classmethod
    def from_feed(cls, feed: Feed | str | os.PathLike[str], slots: int = 1, **kw: Any) -> VpcdCardServer:
        """`slots` fresh blank cards from the feed, in slots 0..slots-1."""
        f = feed if isinstance(feed, Feed) else Feed.open(feed)
        return cls([f.new_card()[0] for _ in range(slots)], feed=f, **kw)

    # -- lifecycle --

    def start(self) -> VpcdCardServer:
        if self._started:
            return self
        for slot in self.slots.values():
            lock = PortLock(slot.port)
            if not lock.acquire():
                self._release()
                raise SlotBusyError(f"vpcd slot {slot.index} (port {slot.port}) is already served by another "
                                    "simtool process")
            self._locks.append(lock)
        if self.control_path is not None:
            try:
                self._open_control()
            except BaseException:
                self._release()
                raise
        for slot in self.slots.values():
            slot.thread.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Close every card's connection and the control socket; idempotent, returns when done."""
        with self._stop_lock:
            if self._stopped.is_set():
                return
            self._stopping.set()
            self._stop_all()
            self._stopped.set()

    def _stop_all(self) -> None:
        for slot in self.slots.values():
            slot.stop()
        for slot in self.slots.values():
            if slot.thread.is_alive() and slot.thread is not threading.current_thread():
                slot.thread.join(timeout=3.0)
        self._close_control()
        self._release()

    def _release(self) -> None:
        for lock in self._locks:
            lock.release()
        self._locks.clear()

    def __enter__(self) -> VpcdCardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `stop()`; True if it stopped."""
        return self._stopped.wait(timeout)

    def wait_connected(self, timeout: float = 5.0, slots: Iterable[int] | None = None) -> bool:
        """Wait until vpcd has accepted the given slots' connections (all slots by default)."""
        deadline = time.monotonic() + timeout
        for i in slots if slots is not None else self.slots:
            if not self.slots[i].connected.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    # -- cards in and out --

    def _slot(self, index: int) -> Slot:
        try:
            return self.slots[int(index)]
        except (KeyError, ValueError, TypeError):
            raise InputError(f"slot {index}: not served here (slots: {', '.join(map(str, self.slots))})") from None

    def eject(self, index: int) -> dict[str, Any]:
        """Take the card out of slot `index`; in feed mode a fresh blank card from the feed goes in."""
        slot = self._slot(index)
        old = slot.swap(None)
        out: dict[str, Any] = {"slot": slot.index, "port": slot.port,
                               "ejected": str(_card_path(old) or "memory") if old is not None else None}
        if self.feed is not None:
            time.sleep(self.eject_gap)  # let pcscd see an empty slot before the next card goes in
            card, path = self.feed.new_card()
            slot.swap(card)
            out["inserted"] = str(path)
            out["atr"] = card.atr.hex().upper()
        else:
            out["inserted"] = None
        log.info("slot %d: ejected %s, inserted %s", slot.index, out["ejected"], out["inserted"])
        return out

    def insert(self, index: int, card: CardSpec) -> dict[str, Any]:
        """Put a card (a Card or a state file) into slot `index`, taking out whatever was there."""
        slot = self._slot(index)
        new = _as_card(card)
        old = slot.swap(new)
        return {"slot": slot.index, "port": slot.port,
                "ejected": str(_card_path(old) or "memory") if old is not None else None,
                "inserted": str(_card_path(new) or "memory") if new is not None else None}

    def status(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "feed": str(self.feed.directory) if self.feed else None,
            "control": str(self.control_path) if self.control_path else None,
            "slots": [
                {"slot": s.index, "port": s.port, "connected": s.connected.is_set(), "powered": s.powered,
                 "card": (str(_card_path(s.card) or "memory") if s.card is not None else None),
                 "atr": s.card.atr.hex().upper() if s.card is not None else None, "apdus": s.apdus}
                for s in self.slots.values()
            ],
        }

    # -- control socket --

    def _open_control(self) -> None:
        assert self.control_path is not None
        path = self.control_path
        if path.exists() or path.is_symlink():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(1.0)
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()  # stale: its server is gone
            else:
                raise SlotBusyError(f"{path}: another simtool emulator server is running")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        sock.listen(4)
        self._control_sock = sock
        self._control_thread = threading.Thread(target=self._control_loop, name="vpcd-control", daemon=True)
        self._control_thread.start()

    def _close_control(self) -> None:
        sock, self._control_sock = self._control_sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            if self.control_path is not None:
                with contextlib.suppress(OSError):
                    self.control_path.unlink()
        if self._control_thread is not None and self._control_thread is not threading.current_thread():
            self._control_thread.join(timeout=3.0)

    def _control_loop(self) -> None:
        sock = self._control_sock
        while sock is not None and not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5.0)
                try:
                    answer = self._control_request(_recv_line(conn))
                except Exception as e:  # a bad request must not stop the server
                    answer = {"ok": False, "error": str(e)}
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(answer).encode() + b"\n")

    def _control_request(self, line: bytes) -> dict[str, Any]:
        try:
            req = json.loads(line)
        except ValueError:
            return {"ok": False, "error": "not a JSON request"}
        if not isinstance(req, dict):
            return {"ok": False, "error": "not a JSON object"}
        cmd = req.get("cmd")
        try:
            if cmd == "eject":
                return {"ok": True, **self.eject(req.get("slot", 0))}
            if cmd == "insert":
                return {"ok": True, **self.insert(req.get("slot", 0), req.get("card"))}
            if cmd == "status":
                return {"ok": True, **self.status()}
        except SimtoolError as e:
            return {"ok": False, "error": str(e)}
        return {"ok": False, "error": f"unknown command {cmd!r} (eject, insert, status)"}


def _recv_line(conn: socket.socket, limit: int = 65536) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def send_control(path: str | os.PathLike[str], request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """One request to a running server's control socket; its answer. NoCardError if none runs there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except OSError as e:
            raise NoCardError(f"no simtool emulator server listens on {path} ({e.strerror or e}); "
                              "start one with `simtool emulator serve`") from None
        sock.sendall(json.dumps(request).encode() + b"\n")
        line = _recv_line(sock)
    except TimeoutError:
        raise NoCardError(f"{path}: the emulator server did not answer within {timeout:g} s") from None
    finally:
        sock.close()
    try:
        answer = json.loads(line)
    except ValueError:
        raise NoCardError(f"{path}: the emulator server gave no answer") from None
    if not answer.get("ok"):
        raise InputError(f"emulator server: {answer.get('error', 'request refused')}")
    return answer


def serve(cards: Sequence[CardSpec] | Mapping[int, CardSpec], host: str = "127.0.0.1", port: int = VPCD_PORT,
          *, feed: Feed | str | os.PathLike[str] | None = None, control: str | os.PathLike[str] | None | bool = True,
          ready: Callable[[VpcdCardServer], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT (main thread), then close every card cleanly."""
    server = VpcdCardServer(cards, host, port, feed=feed, control=control)
    previous: dict[int, Any] = {}
    requested = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: closing every card", signum)
        requested.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        server.start()
        if ready is not None:
            ready(server)
        while not requested.wait(0.5) and not server.wait(0):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

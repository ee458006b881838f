"""The card side of the vsmartcard `vpcd` protocol: emulated cards as PC/SC readers behind pcscd.

pcscd loads `libifdvpcd.so`, which listens on TCP port 35963 + slot (specfacts §6). Each emulated card
connects to its slot's port as a client and answers what vpcd sends. The rooms:

* `vpcd_protocol`: the protocol, sans I/O (bytes → `PowerOn`/`PowerOff`/`Reset`/`GetAtr`/`Apdu`, replies →
  framed bytes), tested over byte streams;
* this module: the pump. One thread per slot connects, feeds what it receives to the protocol, answers
  events with the card (power on and reset are `Card.reset()`: MF selected, channels closed, verified PINs
  forgotten), and reconnects (short backoff, forever) whenever vpcd closes the connection or is not
  listening, e.g. while pcscd restarts. A closed socket is how vpcd and the card see a removal: the server
  closes a slot's connection to take its card out;
* `vpcd_feed` (`--feed DIR`: fresh blank cards from a template, on the emulator's tray), `vpcd_control`
  (the JSON control socket and its client `send_control`), `vpcd_lock` (one server per slot: `PortLock`),
  `vpcd_signals` (serve until SIGTERM/SIGINT).

Latency: vpcd may write the length prefix and the payload separately, so the card side sets
`TCP_NODELAY` and re-arms `TCP_QUICKACK` before every receive (DESIGN.md §3); without them each APDU
waits ~40 ms for a delayed ACK.

`eject(slot)` takes the slot's card out (its state file stays, durable as always); in feed mode a fresh
blank card goes in. The control socket is `DIR/control.sock` in feed mode, else `control_path(port)`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from simtool.emulator.card import Card
from simtool.errors import InputError
from simtool.transport.vpcd_control import CONTROL_NAME, VPCD_PORT, ControlServer, control_path, send_control
from simtool.transport.vpcd_feed import TEMPLATE_NAME, Feed
from simtool.transport.vpcd_lock import PortLock, SlotBusyError
from simtool.transport.vpcd_protocol import (
    CTRL_ATR,
    CTRL_OFF,
    CTRL_ON,
    CTRL_RESET,
    MAX_PAYLOAD,
    Apdu,
    Deframer,
    GetAtr,
    PowerOff,
    PowerOn,
    Reset,
    VpcdProtocol,
    frame,
)
from simtool.transport.vpcd_signals import stop_requested

__all__ = ["CONTROL_NAME", "CTRL_ATR", "CTRL_OFF", "CTRL_ON", "CTRL_RESET", "MAX_PAYLOAD", "TEMPLATE_NAME",
           "VPCD_PORT", "Feed", "FrameReader", "PortLock", "Slot", "SlotBusyError", "VpcdCardServer",
           "control_path", "frame", "send_control", "serve"]

log = logging.getLogger("simtool.vpcd")

BACKOFF_MIN = 0.05  # s, first retry after a refused connection or a closed session
BACKOFF_MAX = 1.0  # s, the retry interval while pcscd stays away
# pcscd polls a vpcd slot every 400 ms. A card swapped in faster than one poll could go unseen (a failed
# APDU makes vpcd drop the old connection and the next poll finds the new card), so a slot stays empty
# this long after an eject before the next card goes in.
EJECT_GAP = 1.0


# --- the socket end of the protocol --------------------------------------------------------------------------


def _quickack(sock: socket.socket) -> None:
    # Linux clears TCP_QUICKACK again after some ACKs: set it before every receive (DESIGN.md §3).
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class FrameReader:
    """Reads length-prefixed messages from a socket (the vpcd end, in tests), re-arming TCP_QUICKACK before
    every recv."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._deframer = Deframer()
        self._ready: list[bytes] = []

    def read(self) -> bytes | None:
        """The next message, or None when the peer closed the connection."""
        while not self._ready:
            _quickack(self.sock)
            data = self.sock.recv(65536)
            if not data:
                return None
            self._ready += self._deframer.feed(data)
        return self._ready.pop(0)


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

    def _recv(self, sock: socket.socket) -> bytes:
        """One receive, whatever TCP delivers (b"" when vpcd closed); TCP_QUICKACK re-armed first."""
        _quickack(sock)
        return sock.recv(65536)

    def _session(self, sock: socket.socket, card: Card) -> None:
        """The pump: what vpcd sends goes through the protocol; each event is answered by the card."""
        proto = VpcdProtocol()
        receive, reply, send, recv = proto.receive, proto.reply, sock.sendall, self._recv
        process = card.process
        while True:
            data = recv(sock)
            if not data:
                return
            for event in receive(data):
                if type(event) is Apdu:
                    self.apdus += 1
                    send(reply(process(event.data)))
                elif type(event) is GetAtr:
                    send(reply(card.atr))
                elif type(event) in (PowerOn, Reset):
                    card.reset()
                    self.powered = True
                elif type(event) is PowerOff:
                    self.powered = False
                else:
                    log.warning("slot %d: unknown vpcd control byte %02X ignored", self.index,
                                getattr(event, "code", -1))


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
        self._control: ControlServer | None = None
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
                self._control = ControlServer(self.control_path, self._control_request)
                self._control.open()
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
            self._stop_all()
            self._stopped.set()

    def _stop_all(self) -> None:
        for slot in self.slots.values():
            slot.stop()
        for slot in self.slots.values():
            if slot.thread.is_alive() and slot.thread is not threading.current_thread():
                slot.thread.join(timeout=3.0)
        if self._control is not None:
            self._control.close()
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

    def _control_request(self, req: dict[str, Any]) -> dict[str, Any]:
        """One control request (simtool.transport.vpcd_control) → its answer."""
        cmd = req.get("cmd")
        if cmd == "eject":
            return {"ok": True, **self.eject(req.get("slot", 0))}
        if cmd == "insert":
            return {"ok": True, **self.insert(req.get("slot", 0), req.get("card"))}
        if cmd == "status":
            return {"ok": True, **self.status()}
        return {"ok": False, "error": f"unknown command {cmd!r} (eject, insert, status)"}


def serve(cards: Sequence[CardSpec] | Mapping[int, CardSpec], host: str = "127.0.0.1", port: int = VPCD_PORT,
          *, feed: Feed | str | os.PathLike[str] | None = None, control: str | os.PathLike[str] | None | bool = True,
          ready: Callable[[VpcdCardServer], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT (main thread), then close every card cleanly."""
    server = VpcdCardServer(cards, host, port, feed=feed, control=control)
    with stop_requested() as requested:
        try:
            server.start()
            if ready is not None:
                ready(server)
            while not requested.wait(0.5) and not server.wait(0):
                pass
        finally:
            server.stop()

"""PC/SC readers through pyscard: `pcsc:N` (index in the reader list) and `pcsc:NAME` (a unique substring
of a reader's name).

* Access is exclusive by default (`SCARD_SHARE_EXCLUSIVE`), shared with `shared=True`. Closing an
  exclusive session resets the card, so no verified PIN or ADM outlives the session; a shared session
  leaves the card as it is.
* Protocol: as pySim does (specfacts §4.5), T=0 whenever the ATR offers it, else T=1. The transport moves
  raw bytes; `61xx`/`6Cxx` are followed by `simtool.commands.exchange` through `Reader`.
* Nothing blocks for ever: a hung pcscd gives `NoCardError` after `timeout`, a stopped one at once. The rare
  calls (context, connect, status, reset) run on the transport's worker thread and the caller waits at most
  `timeout` for them. `SCardTransmit`, the hot path, runs on the caller's own thread under a watchdog: when
  it outlives `timeout`, the watchdog shuts down the context's socket to pcscd, which makes libpcsclite
  return at once (`SCARD_F_COMM_ERROR`), and the caller gets the same `NoCardError`. Trade-off: a thread
  handoff per APDU cost more than half of the Reader's time through pcscd; the watchdog needs to know the
  context's socket (found when the context is made, Linux `/proc`, one socket per context as in
  pcsc-lite), and where it cannot be found transmit goes through the worker as before. Either way the
  context is dead after a timeout: every later call fails at once.
* A card pulled mid-session raises `CardRemoved` (a `NoCardError`, exit 3) naming the reader.
* pyscard is imported only when a PC/SC reader is opened; without it `PcscUnavailable` says what is
  missing and how to install it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simtool.errors import InputError, NoCardError

if TYPE_CHECKING:
    from simtool.transport.base import Transport

DEFAULT_TIMEOUT = 10.0
INSTALL_HINT = ("run `make setup` as root (it installs gcc, swig and libpcsclite-dev, then builds pyscard), "
                "or: apt-get install gcc swig libpcsclite-dev pcscd && pip install 'simtool[pcsc]'")


class PcscUnavailable(NoCardError):
    """pyscard (or the PC/SC library under it) is not installed."""


class CardRemoved(NoCardError):
    """The card left the reader during a session."""

    def __init__(self, reader: str, detail: str = "") -> None:
        self.reader = reader
        super().__init__(f"{reader}: the card was removed{f' ({detail})' if detail else ''}")


def _scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as e:
        what = "pyscard" if getattr(e, "name", None) in ("smartcard", None) else f"pyscard ({e})"
        raise PcscUnavailable(f"PC/SC readers need {what}, which is not installed: {INSTALL_HINT}") from None
    return scard


# --- calls with a deadline ---------------------------------------------------------------------------------


class _Worker:
    """One daemon thread that makes the PC/SC calls of a transport, so the caller can give up waiting.

    A call that outlives the timeout keeps the thread (pyscard cannot be interrupted); the worker is then
    marked dead and every later call fails at once.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.dead = False
        self._thread = threading.Thread(target=self._loop, name=f"pcsc-{name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, box, done = job
            try:
                box.append((True, fn(*args)))
            except BaseException as e:  # handed to the caller
                box.append((False, e))
            done.release()

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float, what: str) -> Any:
        if self.dead:
            raise NoCardError(f"{what}: an earlier PC/SC call never returned (pcscd hung?)")
        done = threading.Lock()
        done.acquire()
        box: list[tuple[bool, Any]] = []
        self._jobs.put((fn, args, box, done))
        if not done.acquire(timeout=timeout):
            self.dead = True
            raise NoCardError(f"{what}: no answer from pcscd within {timeout:g} s (is pcscd hung?)")
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def stop(self, idle: bool = False) -> None:
        """End the thread; `idle`: it is known to wait for a job even though the transport is dead."""
        if idle or not self.dead:
            self._jobs.put(None)


class _Watchdog:
    """The deadline of calls made on the caller's own thread, without a thread handoff per call.

    The caller only stores its deadline before the call and clears it after; the watchdog thread sleeps
    until the deadline of the call in flight (or half a timeout when none is) and, if that same call is
    still in flight then, shuts the pcscd socket down so the blocked call returns. Calls from several threads
    take turns (as they did on the worker): a call waiting its turn gives up after `timeout` too.
    """

    def __init__(self, fd: int, inode: str, timeout: float, name: str, on_fire: Callable[[], None]) -> None:
        self._fd, self._inode, self._on_fire = fd, inode, on_fire
        self._idle = timeout / 2
        self._deadline: float | None = None
        self._stop = threading.Event()
        self._turn = threading.Lock()
        self.fired = False
        self._thread = threading.Thread(target=self._loop, name=f"pcsc-watchdog-{name}", daemon=True)
        self._thread.start()

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float, what: str) -> Any:
        if self.fired:
            raise NoCardError(f"{what}: an earlier PC/SC call never returned (pcscd hung?)")
        if not self._turn.acquire(timeout=timeout):
            raise self._late(what, timeout)
        try:
            self._deadline = time.monotonic() + timeout
            value = fn(*args)
        except BaseException:
            if self.fired:
                raise self._late(what, timeout) from None
            raise
        finally:
            self._deadline = None
            self._turn.release()
        if self.fired:  # it returned because the watchdog cut it off (or just as it did): too late either way
            raise self._late(what, timeout)
        return value

    @staticmethod
    def _late(what: str, timeout: float) -> NoCardError:
        return NoCardError(f"{what}: no answer from pcscd within {timeout:g} s (is pcscd hung?)")

    def _loop(self) -> None:
        while not self._stop.is_set():
            current = self._deadline  # held here, so `is` below cannot match a later call's deadline
            if current is None:
                self._stop.wait(self._idle)
                continue
            left = current - time.monotonic()
            if left > 0:
                self._stop.wait(left)
            elif self._deadline is current:
                self._fire()
                return

    def _fire(self) -> None:
        self.fired = True
        self._on_fire()
        if _socket_inodes().get(self._fd) != self._inode:
            return  # not our socket any more (cannot happen while a call on it is in flight)
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(self._fd)) as s:
            s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stop.set()


def _socket_inodes() -> dict[int, str]:
    """This process's socket descriptors: fd -> `socket:[inode]` (empty where there is no /proc)."""
    out: dict[int, str] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return out
    for n in names:
        with contextlib.suppress(OSError, ValueError):
            link = os.readlink(f"/proc/self/fd/{n}")
            if link.startswith("socket:"):
                out[int(n)] = link
    return out


def _new_unix_socket(before: dict[int, str]) -> tuple[int, str] | None:
    """The one Unix socket opened since `before` and connected to a path (the context's pcscd socket);
    None when there is not exactly one (another thread opened one too: no guessing)."""
    found = []
    for fd, inode in _socket_inodes().items():
        if before.get(fd) == inode:
            continue
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as s:
            if s.family == socket.AF_UNIX and s.getpeername():
                found.append((fd, inode))
    return found[0] if len(found) == 1 else None


# --- ATR ----------------------------------------------------------------------------------------------------


def atr_protocols(atr: bytes) -> list[int]:
    """The transmission protocols an ATR offers (ISO/IEC 7816-3 §8.2.3: the T of each TDi; none = T=0)."""
    if len(atr) < 2:
        return [0]
    found: list[int] = []
    y = atr[1] >> 4
    i = 2
    while True:
        i += bin(y & 0x7).count("1")  # TAi, TBi, TCi
        if not y & 0x8 or i >= len(atr):
            break
        td = atr[i]
        i += 1
        t = td & 0x0F
        if t != 15 and t not in found:
            found.append(t)
        y = td >> 4
    return found or [0]


def choose_protocol(atr: bytes) -> str:
    """T=0 when the ATR offers it (pySim's choice), else T=1."""
    offered = atr_protocols(atr)
    if 0 in offered:
        return "T=0"
    if 1 in offered:
        return "T=1"
    raise NoCardError(f"the card offers neither T=0 nor T=1 (ATR {atr.hex().upper()})")


# --- context and reader lookup ---------------------------------------------------------------------------------


def _message(sc: Any, hr: int) -> str:
    try:
        text = sc.SCardGetErrorMessage(hr).strip().rstrip(".")
    except Exception:
        text = "PC/SC error"
    return f"{text} (0x{hr & 0xFFFFFFFF:08X})"


def _no_service(sc: Any, hr: int) -> bool:
    return hr in (sc.SCARD_E_NO_SERVICE, sc.SCARD_E_SERVICE_STOPPED)


PCSCD_DOWN = "pcscd is not running: start it (`pcscd` as root, or `systemctl start pcscd.socket`)"


class _Context:
    """An SCard context whose calls run on a worker thread with a deadline."""

    def __init__(self, timeout: float, name: str = "context") -> None:
        self.sc = _scard()
        self.timeout = timeout
        self.worker = _Worker(name)
        self.watchdog: _Watchdog | None = None
        before = _socket_inodes()
        try:
            hr, ctx = self.call(self.sc.SCardEstablishContext, self.sc.SCARD_SCOPE_USER, what="PC/SC")
        except BaseException:
            self.worker.stop()
            raise
        if hr != 0:
            self.worker.stop()
            if _no_service(self.sc, hr):
                raise NoCardError(PCSCD_DOWN)
            raise NoCardError(f"PC/SC: cannot reach pcscd: {_message(self.sc, hr)}")
        self.ctx = ctx
        sock = _new_unix_socket(before)
        if sock is not None:
            self.watchdog = _Watchdog(*sock, timeout=timeout, name=name, on_fire=self._dead)

    def _dead(self) -> None:
        self.worker.dead = True

    def fast_call(self, fn: Callable[..., Any], *args: Any, what: str) -> Any:
        """`call` on the caller's thread under the watchdog (no handoff); through the worker without one."""
        if self.watchdog is None or self.worker.dead:
            return self.call(fn, *args, what=what)
        return self.watchdog.call(fn, *args, timeout=self.timeout, what=what)

    def call(self, fn: Callable[..., Any], *args: Any, what: str, timeout: float | None = None) -> Any:
        return self.worker.call(fn, *args, timeout=self.timeout if timeout is None else timeout, what=what)

    def readers(self) -> list[str]:
        sc = self.sc
        hr, names = self.call(sc.SCardListReaders, self.ctx, [], what="PC/SC reader list")
        if hr == sc.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hr != 0:
            if _no_service(sc, hr):
                raise NoCardError(PCSCD_DOWN)
            raise NoCardError(f"PC/SC: cannot list readers: {_message(sc, hr)}")
        return list(names)

    def state(self, name: str, current: int = 0, wait: float = 0.0) -> tuple[int, bytes]:
        """The reader's event state (with pcscd's event counter in the high 16 bits) and ATR; with `wait`
        > 0, waits up to that long for a change from `current`."""
        sc = self.sc
        ms = int(wait * 1000)
        hr, states = self.call(sc.SCardGetStatusChange, self.ctx, ms, [(name, current)],
                               what=f"{name}: status", timeout=self.timeout + wait)
        if hr == sc.SCARD_E_TIMEOUT:
            return current, b""
        if hr != 0:
            if _no_service(sc, hr):
                raise NoCardError(PCSCD_DOWN)
            if hr in (sc.SCARD_E_UNKNOWN_READER, sc.SCARD_E_READER_UNAVAILABLE):
                raise NoCardError(f"{name}: the reader went away")
            raise NoCardError(f"{name}: cannot read the reader state: {_message(sc, hr)}")
        _, event, atr = states[0]
        return int(event), bytes(atr)

    def release(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
            if self.watchdog.fired:  # the hung call was on the caller's thread: the worker is idle
                self.worker.stop(idle=True)
                return
        if self.worker.dead:
            return
        with contextlib.suppress(Exception):
            self.call(self.sc.SCardReleaseContext, self.ctx, what="PC/SC release", timeout=2.0)
        self.worker.stop()


def resolve_reader(target: str, names: list[str]) -> str:
    """`N` (index) or a name: an exact name, else a unique substring (case-insensitive as a fallback)."""
    listing = "; ".join(f"{i}: {n}" for i, n in enumerate(names)) or "none"
    if not names:
        raise NoCardError(f"pcsc:{target}: no PC/SC reader is connected (pcscd sees none)")
    t = target.strip()
    if not t:
        raise InputError(f"pcsc:: name a reader by index or by part of its name (readers: {listing})")
    if t.isdigit():
        i = int(t)
        if i >= len(names):
            raise NoCardError(f"pcsc:{t}: there is no reader {i} (readers: {listing})")
        return names[i]
    if t in names:
        return t
    for matches in ([n for n in names if t in n], [n for n in names if t.lower() in n.lower()]):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(f"pcsc:{t}: ambiguous, it matches {len(matches)} readers: {'; '.join(matches)}")
    raise NoCardError(f"pcsc:{t}: no reader matches (readers: {listing})")


# --- the transport ------------------------------------------------------------------------------------------------


class PcscTransport:
    """Raw APDUs to one card in one PC/SC reader (see the module docstring for the rules)."""

    def __init__(self, context: _Context, reader: str, shared: bool) -> None:
        sc = context.sc
        self._c = context
        self.sc = sc
        self.name = reader
        self.shared = shared
        self._closed = False
        self._what_transmit = f"{reader}: transmit"
        self._gone = False  # the card left: closing must not reset whatever card is in the reader now
        event, atr = context.state(reader)
        if event & sc.SCARD_STATE_UNAVAILABLE:
            raise NoCardError(f"{reader}: the reader is not available")
        if not event & sc.SCARD_STATE_PRESENT:
            raise NoCardError(f"{reader}: no card in the reader")
        if event & sc.SCARD_STATE_MUTE:
            raise NoCardError(f"{reader}: the card does not answer (mute; ATR missing or invalid)")
        self.protocol = choose_protocol(atr)
        self._share = sc.SCARD_SHARE_SHARED if shared else sc.SCARD_SHARE_EXCLUSIVE
        self._proto = sc.SCARD_PROTOCOL_T0 if self.protocol == "T=0" else sc.SCARD_PROTOCOL_T1
        hr, hcard, active = context.call(sc.SCardConnect, context.ctx, reader, self._share, self._proto,
                                         what=f"{reader}: connect")
        if hr != 0:
            raise self._connect_error(hr)
        self._hcard = hcard
        self._active = active
        self._event, _ = context.state(reader)  # the event counter of this card's insertion
        self.atr = self._status_atr() or atr

    def __repr__(self) -> str:
        return f"<PcscTransport {self.name!r} {self.protocol} {'shared' if self.shared else 'exclusive'}>"

    def _connect_error(self, hr: int) -> NoCardError:
        sc, name = self.sc, self.name
        if hr == sc.SCARD_E_SHARING_VIOLATION:
            how = "" if self.shared else " (or use --shared)"
            return NoCardError(f"{name}: the reader is in use by another program; close it{how}")
        if hr in (sc.SCARD_E_NO_SMARTCARD, sc.SCARD_W_REMOVED_CARD):
            return NoCardError(f"{name}: no card in the reader")
        if hr in (sc.SCARD_W_UNRESPONSIVE_CARD, sc.SCARD_W_UNPOWERED_CARD):
            return NoCardError(f"{name}: the card does not answer")
        if hr == sc.SCARD_E_PROTO_MISMATCH:
            return NoCardError(f"{name}: the card refused {self.protocol}")
        if _no_service(sc, hr):
            return NoCardError(PCSCD_DOWN)
        return NoCardError(f"{name}: cannot connect: {_message(sc, hr)}")

    def _status_atr(self) -> bytes:
        hr, _reader, _state, _proto, atr = self._c.call(self.sc.SCardStatus, self._hcard, what=f"{self.name}: status")
        return bytes(atr) if hr == 0 else b""

    def _error(self, hr: int, what: str) -> NoCardError:
        """Classify a failed call: the card went (CardRemoved), pcscd went, or the reader failed."""
        sc, name = self.sc, self.name
        if hr in (sc.SCARD_W_REMOVED_CARD, sc.SCARD_E_NO_SMARTCARD):
            self._gone = True
            return CardRemoved(name)
        if hr == sc.SCARD_W_RESET_CARD:
            return NoCardError(f"{name}: the card was reset by another program; this session's state is lost")
        if _no_service(sc, hr):
            return NoCardError(f"{name}: pcscd stopped during the session")
        if hr in (sc.SCARD_E_READER_UNAVAILABLE, sc.SCARD_E_UNKNOWN_READER):
            return NoCardError(f"{name}: the reader went away")
        # A failed exchange: a card pulled mid-APDU shows up this way before pcscd polls the slot.
        # Any insertion/removal since we connected changes pcscd's event counter.
        try:
            event, _ = self._c.state(name, self._event, wait=1.5)
        except NoCardError as e:
            return e
        if not event & sc.SCARD_STATE_PRESENT or (event >> 16) != (self._event >> 16):
            self._gone = True
            return CardRemoved(name, _message(sc, hr))
        return NoCardError(f"{name}: {what} failed: {_message(sc, hr)}")

    def transmit(self, apdu: bytes) -> bytes:
        if self._closed:
            raise NoCardError(f"{self.name}: the session is closed")
        hr, resp = self._c.fast_call(self.sc.SCardTransmit, self._hcard, self._active, list(apdu),
                                     what=self._what_transmit)
        if hr != 0:
            raise self._error(hr, "transmit")
        if len(resp) < 2:  # vpcd answers a card whose connection dropped mid-APDU with nothing: a failed exchange
            raise self._error(self.sc.SCARD_E_NOT_TRANSACTED, "transmit")
        return bytes(resp)

    def reset(self) -> bytes:
        """Warm reset (SCardReconnect with SCARD_RESET_CARD): the card forgets its selection and PINs."""
        sc = self.sc
        hr, active = self._c.call(sc.SCardReconnect, self._hcard, self._share, self._proto, sc.SCARD_RESET_CARD,
                                  what=f"{self.name}: reset")
        if hr != 0:
            raise self._error(hr, "reset")
        self._active = active
        self.atr = self._status_atr() or self.atr
        return self.atr

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sc = self.sc
        # Exclusive sessions end with a reset, so no verified PIN/ADM outlives them. Not after a removal:
        # pcscd would apply the reset to the next card in the reader (and lose track of its presence).
        disposition = sc.SCARD_LEAVE_CARD if self.shared or self._gone else sc.SCARD_RESET_CARD
        with contextlib.suppress(Exception):
            self._c.call(sc.SCardDisconnect, self._hcard, disposition, what=f"{self.name}: disconnect", timeout=2.0)
        self._c.release()


def open_pcsc(target: str, shared: bool = False, timeout: float = DEFAULT_TIMEOUT) -> PcscTransport:
    """Connect to the card in reader `target` (index or unique name substring). NoCardError (exit 3) when
    pcscd, the reader or the card is missing; InputError (exit 2) when the name is ambiguous."""
    context = _Context(timeout, name=target or "reader")
    try:
        reader = resolve_reader(target, context.readers())
        return PcscTransport(context, reader, shared)
    except BaseException:
        context.release()
        raise


def list_readers(timeout: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
    """Every PC/SC reader: index, name, whether a card is in it, its ATR, protocols and card model."""
    from simtool.fs.cardmodel import model_for_atr

    context = _Context(timeout, name="list")
    sc = context.sc
    try:
        out = []
        for i, name in enumerate(context.readers()):
            event, atr = context.state(name)
            present = bool(event & sc.SCARD_STATE_PRESENT)
            model = model_for_atr(atr) if present and atr else None
            out.append({
                "index": i,
                "name": name,
                "card_present": present,
                "atr": atr.hex().upper() if present and atr else None,
                "protocols": [f"T={t}" for t in atr_protocols(atr)] if present and atr else [],
                "model": model.name if model else None,
                "in_use": bool(event & sc.SCARD_STATE_INUSE),
                "exclusive": bool(event & sc.SCARD_STATE_EXCLUSIVE),
                "mute": bool(event & sc.SCARD_STATE_MUTE),
            })
        return out
    finally:
        context.release()


def wait_for_card(reader: str, present: bool = True, timeout: float = 5.0) -> bool:
    """Wait until a card is (or is no longer) in `reader` (exact name); True if it happened in time."""
    import time

    context = _Context(max(timeout, 1.0), name="wait")
    sc = context.sc
    deadline = time.monotonic() + timeout
    try:
        current = 0
        while True:
            try:
                event, _ = context.state(reader, current, wait=min(0.5, max(0.0, deadline - time.monotonic())))
            except NoCardError:
                event = 0  # the reader is not there (yet)
            if bool(event & sc.SCARD_STATE_PRESENT) == present and not event & sc.SCARD_STATE_MUTE:
                return True
            if time.monotonic() >= deadline:
                return False
            current = event & ~sc.SCARD_STATE_CHANGED if event else 0
            if not event:
                time.sleep(0.1)
    finally:
        context.release()


if TYPE_CHECKING:
    def _is_a_transport(t: PcscTransport) -> Transport:
        """mypy's check that this class satisfies the `Transport` protocol, so the two cannot drift."""
        return t

"""A thin blocking GSUP client over TCP: connect, the IPA handshake, SEND_AUTH_INFO (and its resync form).

All protocol logic is in `session`/`message`; this only moves bytes and waits, with a deadline on every
wait. A refused connection, a dropped one or a deadline passed is `HlrUnreachable` (exit 3); an error the
HLR sends is `HlrRefused` (exit 1) with its cause. One request at a time (a lock), so reader threads may
share one client. `capture`, when a list, receives ("tx"|"rx", frame bytes) for pinning replay vectors.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import NoReturn

from simtool.errors import InputError
from simtool.gsup import message as m
from simtool.gsup.errors import GsupDecodeError, HlrRefused, HlrUnreachable
from simtool.gsup.session import Gsup, Session

__all__ = ["DEFAULT_PORT", "GsupClient", "parse_address"]

DEFAULT_PORT = 4222  # OSMO_GSUP_PORT


def parse_address(text: str, flag: str = "--gsup", default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """`HOST:PORT` (or `HOST`, or `[v6]:PORT`) → (host, port); InputError naming the flag otherwise."""
    host, port = text, str(default_port)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise InputError(f"{flag} {text}: expected HOST:PORT")
            port = rest[1:]
    elif ":" in text:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InputError(f"{flag} {text}: expected HOST:PORT (port 1-65535)")
    return host, int(port)


class GsupClient:
    def __init__(self, host: str, port: int = DEFAULT_PORT, *, name: str = "simtool", timeout: float = 5.0,
                 capture: list[tuple[str, bytes]] | None = None) -> None:
        self.host, self.port, self.name, self.timeout = host, port, name, timeout
        self.where = f"HLR at {host}:{port}"
        self.capture = capture
        self._sock: socket.socket | None = None
        self._session = Session(name)
        self._inbox: list[Gsup] = []
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------------------------------------
    def connect(self) -> GsupClient:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            raise HlrUnreachable(f"{self.where} unreachable: {e.strerror or e}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pump(lambda: self._session.ready, "the IPA handshake")
        return self

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> GsupClient:
        return self.connect() if self._sock is None else self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _flush(self) -> None:
        data = self._session.outgoing()
        if not data or self._sock is None:
            return
        if self.capture is not None:
            self.capture.append(("tx", data))
        try:
            self._sock.sendall(data)
        except OSError as e:
            self._lost(f"sending failed: {e.strerror or e}")

    def _lost(self, why: str) -> NoReturn:
        self.close()
        raise HlrUnreachable(f"{self.where}: {why}")

    def _pump(self, done: Callable[[], bool], what: str) -> None:
        """Read and handle frames until `done()` is true, within the timeout."""
        deadline = time.monotonic() + self.timeout
        self._flush()
        while not done():
            if self._sock is None:
                raise HlrUnreachable(f"{self.where}: not connected")
            left = deadline - time.monotonic()
            if left <= 0:
                self._lost(f"no answer to {what} within {self.timeout:g} s")
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                self._lost(f"no answer to {what} within {self.timeout:g} s")
            except OSError as e:
                self._lost(f"connection lost during {what}: {e.strerror or e}")
            if not data:
                self._lost(f"the HLR closed the connection during {what}")
            if self.capture is not None:
                self.capture.append(("rx", data))
            try:
                events = self._session.receive(data)
            except GsupDecodeError as e:
                self._lost(f"bad data from the HLR during {what}: {e}")
            self._inbox += [ev for ev in events if isinstance(ev, Gsup)]
            self._flush()  # PONGs, the ID_RESP

    # -- requests ---------------------------------------------------------------------------------------
    def request(self, msg: m.Message) -> m.Message:
        """Send a request; its error or result for the same IMSI (other messages are dropped)."""
        if msg.type.category is not m.Category.REQUEST:
            raise ValueError(f"{msg.type.name} is not a request")
        answers = {msg.type + 1, msg.type + 2}
        found: list[m.Message] = []

        def answered() -> bool:
            while self._inbox and not found:
                got = self._inbox.pop(0).msg
                if got.type in answers and got.imsi == msg.imsi:
                    found.append(got)
            return bool(found)

        with self._lock:
            if self._sock is None:
                self.connect()
            self._session.send(msg)
            self._pump(answered, msg.type.name)
        return found[0]

    def send_auth_info(self, imsi: str, vectors: int = 1, *, auts: bytes | None = None, rand: bytes | None = None,
                       cn_domain: int | None = m.CnDomain.CS) -> list[m.AuthTuple]:
        """`vectors` (1-5) authentication tuples for `imsi`; with `auts` and `rand` a resynchronisation."""
        if not 1 <= vectors <= m.MAX_TUPLES:
            raise ValueError(f"vectors: 1-{m.MAX_TUPLES}")
        req = m.Message(m.MsgType.SEND_AUTH_INFO_REQUEST, imsi, auts=auts, rand=rand, cn_domain=cn_domain,
                        num_vectors=vectors)
        ans = self.request(req)
        if ans.type is m.MsgType.SEND_AUTH_INFO_ERROR:
            why = m.cause_text(ans.cause) if ans.cause is not None else "no cause given"
            raise HlrRefused(f"{self.where} refused SEND_AUTH_INFO for IMSI {imsi}: {why}", ans.cause)
        if not ans.tuples:
            raise HlrRefused(f"{self.where} sent no vectors for IMSI {imsi}")
        return list(ans.tuples)

    def resync(self, imsi: str, auts: bytes, rand: bytes, vectors: int = 1) -> list[m.AuthTuple]:
        """Fresh vectors after the card's sync failure: its AUTS and the RAND it answered."""
        return self.send_auth_info(imsi, vectors, auts=auts, rand=rand)

"""The client side of an IPA/GSUP connection as a state machine, sans I/O: bytes in, events out, and the
bytes to send back.

The handshake osmo-hlr requires (specfacts-network-esim §9.2): the server sends ID_GET; we answer ID_RESP
with the tags asked for (it needs Unit ID `08` and SERNR `00`; the SERNR becomes our IPA name) and an ID_ACK
of our own; the server's ID_ACK completes it. A PING is answered with a PONG at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from simtool.gsup import message
from simtool.gsup.errors import GsupDecodeError
from simtool.gsup.ipa import (
    ID_ACK,
    PONG,
    CcmType,
    Deframer,
    Frame,
    IdTag,
    Proto,
    build_id_resp,
    encode_frame,
    parse_id_get,
)

__all__ = ["Gsup", "Handshaken", "IdRequested", "Pong", "Session", "SessionState", "Unhandled"]


class SessionState(Enum):
    WAIT_ID_GET = "waiting for ID_GET"
    WAIT_ID_ACK = "waiting for ID_ACK"
    READY = "ready"


@dataclass(frozen=True)
class IdRequested:
    """The server asked who we are (answered already)."""

    tags: tuple[IdTag | int, ...]


@dataclass(frozen=True)
class Handshaken:
    """The server acknowledged our identity: GSUP may flow."""


@dataclass(frozen=True)
class Pong:
    """The answer to our PING."""


@dataclass(frozen=True)
class Gsup:
    msg: message.Message
    raw: bytes  # the GSUP bytes as received (for captures)


@dataclass(frozen=True)
class Unhandled:
    """A frame of another protocol, or a CCM message we have no use for: shown, then ignored."""

    frame: Frame


Event = IdRequested | Handshaken | Pong | Gsup | Unhandled


class Session:
    """One client connection. `receive(data)` → events; `outgoing()` → the bytes to write now."""

    def __init__(self, name: str = "simtool", unit_id: str = "0/0/0") -> None:
        if not name or not name.isascii():
            raise ValueError("the IPA name (SERNR) must be non-empty ASCII")
        self.identity: dict[int, str] = {IdTag.SERNR: name, IdTag.UNIT_NAME: name, IdTag.UNIT_ID: unit_id}
        self.state = SessionState.WAIT_ID_GET
        self._frames = Deframer()
        self._out = bytearray()

    @property
    def ready(self) -> bool:
        return self.state is SessionState.READY

    def outgoing(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data

    def send(self, msg: message.Message) -> None:
        if not self.ready:
            raise RuntimeError(f"GSUP before the IPA handshake completed ({self.state.value})")
        self._out += message.encode_pdu(msg)

    def ping(self) -> None:
        self._out += encode_frame(Frame(Proto.CCM, bytes([CcmType.PING])))

    def receive(self, data: bytes) -> list[Event]:
        return [ev for frame in self._frames.feed(data) for ev in self._frame(frame)]

    def _frame(self, frame: Frame) -> list[Event]:
        ccm = frame.ccm
        if ccm is CcmType.PING:
            self._out += PONG
            return []
        if ccm is CcmType.PONG:
            return [Pong()]
        if ccm is CcmType.ID_GET:
            tags = parse_id_get(frame.payload)
            values = {int(t): self.identity.get(int(t), "") for t in tags}
            self._out += encode_frame(Frame(Proto.CCM, build_id_resp(values))) + ID_ACK
            self.state = SessionState.WAIT_ID_ACK
            return [IdRequested(tuple(tags))]
        if ccm is CcmType.ID_ACK:
            if self.state is SessionState.WAIT_ID_GET:
                raise GsupDecodeError("ID_ACK before ID_GET")
            was, self.state = self.state, SessionState.READY
            return [Handshaken()] if was is not SessionState.READY else []
        if ccm is CcmType.ID_NACK:
            raise GsupDecodeError("the server refused our identity (ID_NACK)")
        if frame.is_gsup:
            return [Gsup(message.decode(frame.payload), frame.payload)]
        return [Unhandled(frame)]

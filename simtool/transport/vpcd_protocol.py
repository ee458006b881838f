"""The vsmartcard `vpcd` protocol, sans I/O: bytes from vpcd in, events out; replies in, bytes out.

Both directions are framed as a 2-byte big-endian length followed by the payload (specfacts §6). A 1-byte
payload from vpcd is a control message (`00` power off, `01` power on, `02` reset, `04` get ATR); anything
else is a command APDU. Only "get ATR" and an APDU get a reply. TCP delivers frames in any cut: one
`receive()` may carry half a length prefix, or several frames at once; the decoder keeps the rest.

    proto = VpcdProtocol()
    for event in proto.receive(data):          # data: whatever one recv() returned
        if isinstance(event, Apdu):
            sock.sendall(proto.reply(card.process(event.data)))

No sockets, no threads, no card here: simtool.transport.vpcd is the pump around it.
"""

from __future__ import annotations

from dataclasses import dataclass

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04
MAX_PAYLOAD = 0xFFFF


@dataclass(frozen=True, slots=True)
class PowerOff:
    """vpcd powered the card down."""


@dataclass(frozen=True, slots=True)
class PowerOn:
    """vpcd powered the card up: a card reset."""


@dataclass(frozen=True, slots=True)
class Reset:
    """vpcd reset the card (warm reset): a card reset."""


@dataclass(frozen=True, slots=True)
class GetAtr:
    """vpcd asks for the ATR (pcscd polls presence with it, at any time): reply with the ATR."""


@dataclass(frozen=True, slots=True)
class Apdu:
    """A command APDU: reply with data ‖ SW1 SW2."""

    data: bytes


@dataclass(frozen=True, slots=True)
class UnknownControl:
    """A 1-byte message that is no known control code (ignored: vpcd expects no reply)."""

    code: int


Event = PowerOff | PowerOn | Reset | GetAtr | Apdu | UnknownControl
_CONTROL: dict[int, Event] = {CTRL_OFF: PowerOff(), CTRL_ON: PowerOn(), CTRL_RESET: Reset(), CTRL_ATR: GetAtr()}


def frame(payload: bytes) -> bytes:
    """2-byte big-endian length, then the payload (both directions of the vpcd protocol)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"vpcd message too long: {len(payload)} bytes")
    return len(payload).to_bytes(2, "big") + payload


class Deframer:
    """Length-prefixed messages out of a byte stream cut anywhere."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Every message completed by `data`, in order; an incomplete tail waits for the next call."""
        buf = self.buf
        if not buf and len(data) >= 2 and len(data) == 2 + ((data[0] << 8) | data[1]):
            return [data[2:]]  # the common case: exactly one whole frame, no copy into the buffer
        buf += data
        out = []
        while len(buf) >= 2:
            end = 2 + ((buf[0] << 8) | buf[1])
            if len(buf) < end:
                break
            out.append(bytes(buf[2:end]))
            del buf[:end]
        return out

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole message yet."""
        return len(self.buf)


def decode(message: bytes) -> Event:
    """The event one vpcd message stands for."""
    if len(message) == 1:
        return _CONTROL.get(message[0]) or UnknownControl(message[0])
    return Apdu(message)


class VpcdProtocol:
    """The card end of one vpcd connection (a new one per connection: nothing carries over)."""

    __slots__ = ("_deframer",)

    def __init__(self) -> None:
        self._deframer = Deframer()

    def receive(self, data: bytes) -> list[Event]:
        """The events in `data` (one recv's worth, cut anywhere)."""
        return [decode(m) for m in self._deframer.feed(data)]

    @staticmethod
    def reply(payload: bytes) -> bytes:
        """The bytes that answer a `GetAtr` (the ATR) or an `Apdu` (the response APDU)."""
        return frame(payload)

    @property
    def pending(self) -> int:
        return self._deframer.pending

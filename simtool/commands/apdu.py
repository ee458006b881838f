"""Command and response APDUs (ISO/IEC 7816-4 short form, TS 102 221 §10).

Plain values, no I/O: every transport (emulator, PC/SC, vpcd, a recorded trace) moves the bytes that
`Apdu.to_bytes()` gives and hands back what `Response.from_bytes()` takes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from simtool.commands.sw import is_ok, raise_for_sw
from simtool.errors import CardError

# Instructions whose data is a PIN, PUK or ADM key, or may be key material (UPDATE BINARY/RECORD of a
# key file). `Apdu.__repr__` never shows their data, so it cannot leak into a log or a traceback.
_SECRET_DATA_INS = frozenset({0x20, 0x21, 0x24, 0x25, 0x26, 0x28, 0x2C, 0x2D, 0xD6, 0xDC})


class MalformedApdu(ValueError):
    """Command bytes that are not a consistent short APDU (the card answers 6700)."""


class MalformedResponse(CardError):
    """Response bytes that cannot be what a card sends (shorter than SW1 SW2, or bad data layout)."""


def _byte(name: str, value: int) -> None:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise ValueError(f"{name} must be a byte (0..255), got {value!r}")


def channel_of(cla: int) -> int:
    """Logical channel coded in a class byte (TS 102 221 §10.1.1).

    `0X`/`8X`: channel in b2b1 (0-3). `4X`/`6X`/`CX`/`EX`: channel 4 + b4..b1 (4-19).
    Other classes (`2X` RFU, `AX` GSM 11.11, `FF` PPS) carry no channel: ValueError.
    """
    _byte("CLA", cla)
    if cla == 0xFF:
        raise ValueError("class byte FF is reserved for PPS")
    if cla & 0xE0 in (0x00, 0x80):
        return cla & 0x03
    if cla & 0xE0 in (0x40, 0x60, 0xC0, 0xE0):
        return 4 + (cla & 0x0F)
    raise ValueError(f"class byte {cla:02X} has no logical-channel coding")


def cla_with_channel(cla: int, channel: int) -> int:
    """`cla` re-coded for `channel` (0-19), keeping the proprietary bit b8 and the chaining bit b5.

    Secure messaging is not used by simtool; a class byte that indicates it is refused.
    """
    if not isinstance(channel, int) or not 0 <= channel <= 19:
        raise ValueError(f"logical channel must be 0..19, got {channel!r}")
    channel_of(cla)  # validates the class form
    first_interindustry = not cla & 0x40
    if (first_interindustry and cla & 0x0C) or (not first_interindustry and cla & 0x20):
        raise ValueError(f"class byte {cla:02X} indicates secure messaging, not supported")
    keep = cla & 0x90  # b8 proprietary, b5 command chaining
    if channel <= 3:
        return keep | channel
    return keep | 0x40 | (channel - 4)


@dataclass(frozen=True, repr=False)
class Apdu:
    """A short command APDU. `le` is the number of bytes expected (1..256; 256 is coded `00`)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            _byte(name.upper(), getattr(self, name))
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) > 255:
            raise ValueError(f"command data of {len(self.data)} bytes needs an extended APDU (max 255)")
        if self.le is not None and (not isinstance(self.le, int) or not 1 <= self.le <= 256):
            raise ValueError(f"Le must be 1..256 or None, got {self.le!r}")

    @property
    def case(self) -> int:
        """ISO 7816-3 case: 1 no data, 2 data out, 3 data in, 4 both."""
        if self.data:
            return 4 if self.le is not None else 3
        return 2 if self.le is not None else 1

    @property
    def channel(self) -> int:
        return channel_of(self.cla)

    def with_channel(self, n: int) -> Apdu:
        """The same command on logical channel `n` (CLA re-coded per TS 102 221 §10.1.1)."""
        return dataclasses.replace(self, cla=cla_with_channel(self.cla, n))

    def replace(self, **changes: object) -> Apdu:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_bytes(self) -> bytes:
        out = bytes((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            out += bytes((self.le & 0xFF,))
        return out

    @classmethod
    def from_bytes(cls, raw: bytes) -> Apdu:
        """Parse a short APDU of case 1-4; inconsistent lengths raise MalformedApdu."""
        raw = bytes(raw)
        n = len(raw)
        if n < 4:
            raise MalformedApdu(f"APDU of {n} bytes is shorter than its 4-byte header")
        cla, ins, p1, p2 = raw[:4]
        if n == 4:
            return cls(cla, ins, p1, p2)
        if n == 5:
            return cls(cla, ins, p1, p2, le=raw[4] or 256)
        lc = raw[4]
        if lc == 0:
            raise MalformedApdu("extended-length APDUs are not supported")
        if n == 5 + lc:
            return cls(cla, ins, p1, p2, raw[5:])
        if n == 6 + lc:
            return cls(cla, ins, p1, p2, raw[5:-1], raw[-1] or 256)
        raise MalformedApdu(f"Lc {lc} does not match an APDU body of {n - 5} bytes")

    def __repr__(self) -> str:
        if self.ins in _SECRET_DATA_INS and self.data:
            data = f"<{len(self.data)} bytes>"
        else:
            data = f"h'{self.data.hex().upper()}'"
        return (
            f"Apdu(cla=0x{self.cla:02X}, ins=0x{self.ins:02X}, p1=0x{self.p1:02X}, p2=0x{self.p2:02X}, "
            f"data={data}, le={self.le})"
        )


@dataclass(frozen=True)
class Response:
    """Response data and status word. `exchanges` counts the APDUs it took (T=0 GET RESPONSE etc.)."""

    data: bytes
    sw: int
    exchanges: int = field(default=1, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        if not isinstance(self.sw, int) or not 0 <= self.sw <= 0xFFFF:
            raise ValueError(f"SW must be 0..0xFFFF, got {self.sw!r}")

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        """Normal ending: 9000, 91xx (proactive command pending) or 92xx."""
        return is_ok(self.sw)

    @property
    def proactive_length(self) -> int | None:
        """Length of the pending proactive command (91xx), to FETCH; None otherwise."""
        return (self.sw2 or 256) if self.sw1 == 0x91 else None

    def check(self, command_name: str = "") -> Response:
        """Return self on normal ending, else raise the matching StatusWordError."""
        raise_for_sw(self.sw, command_name)
        return self

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def from_bytes(cls, raw: bytes, exchanges: int = 1) -> Response:
        if type(raw) is not bytes:
            raw = bytes(raw)
        if len(raw) < 2:
            raise MalformedResponse(f"response of {len(raw)} bytes has no status word")
        return cls(raw[:-2], raw[-2] << 8 | raw[-1], exchanges)

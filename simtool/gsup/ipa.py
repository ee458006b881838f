"""IPA framing (the osmocom/ip.access multiplex GSUP rides on) and its CCM messages, sans I/O.

A frame is `LLLL PP [EE] payload` (specfacts-network-esim §9.1): LLLL big-endian counts the bytes after the
3-byte header, the OSMO extension byte included; proto `FE` is CCM (PING/PONG/ID_GET/ID_RESP/ID_ACK), `EE`
is an osmocom extension (`05` GSUP). `Deframer.feed` takes whatever chunks a socket gives and returns the
whole frames; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from simtool.encoding.codec import Vector
from simtool.gsup.errors import GsupDecodeError

__all__ = ["CODEC", "PING", "PONG", "ID_ACK", "VECTORS", "CcmType", "Deframer", "Frame", "IdTag", "Proto",
           "OsmoExt", "build_id_get", "build_id_resp", "decode_frame", "encode_frame", "parse_id_get",
           "parse_id_resp"]

HEADER = 3
MAX_LEN = 0xFFFF


class Proto(IntEnum):
    RSL = 0x00
    OSMO = 0xEE
    SCCP = 0xFD
    CCM = 0xFE
    OML = 0xFF


class OsmoExt(IntEnum):
    CTRL = 0x00
    MGCP = 0x01
    LAC = 0x02
    SMSC = 0x03
    ORC = 0x04
    GSUP = 0x05
    OAP = 0x06
    RSPRO = 0x07
    PCU = 0x08


class CcmType(IntEnum):
    PING = 0x00
    PONG = 0x01
    ID_GET = 0x04
    ID_RESP = 0x05
    ID_ACK = 0x06
    ID_NACK = 0x07


class IdTag(IntEnum):
    SERNR = 0x00  # osmo-hlr requires it: the peer's IPA name
    UNIT_NAME = 0x01
    LOCATION1 = 0x02
    LOCATION2 = 0x03
    EQUIP_VERSION = 0x04
    SW_VERSION = 0x05
    IP_ADDRESS = 0x06
    MAC_ADDRESS = 0x07
    UNIT_ID = 0x08  # libosmo-abis requires it
    USERNAME = 0x09
    PASSWORD = 0x0A
    ACCESS_CLASS = 0x0B
    APP_PROTO_VER = 0x0C


@dataclass(frozen=True)
class Frame:
    """One IPA frame: its protocol, the OSMO extension (only for proto `EE`), the payload after them."""

    proto: int
    payload: bytes
    ext: int | None = None

    @property
    def ccm(self) -> CcmType | None:
        """The CCM message type of a CCM frame (None for others or an unknown type)."""
        if self.proto != Proto.CCM or not self.payload:
            return None
        try:
            return CcmType(self.payload[0])
        except ValueError:
            return None

    @property
    def is_gsup(self) -> bool:
        return self.proto == Proto.OSMO and self.ext == OsmoExt.GSUP


def encode_frame(frame: Frame) -> bytes:
    body = frame.payload
    if frame.proto == Proto.OSMO:
        if frame.ext is None:
            raise ValueError("IPA proto EE needs an extension byte")
        body = bytes([frame.ext]) + body
    if len(body) > MAX_LEN:
        raise ValueError(f"IPA payload of {len(body)} bytes: at most {MAX_LEN}")
    return len(body).to_bytes(2, "big") + bytes([frame.proto]) + body


def decode_frame(data: bytes) -> Frame:
    """Exactly one frame (a vector, a capture line); the stream reader is `Deframer`."""
    frames = Deframer()
    out = frames.feed(data)
    if len(out) != 1 or frames.pending:
        raise GsupDecodeError(f"expected one IPA frame, got {len(out)} and {frames.pending} bytes left over")
    return out[0]


class Deframer:
    """Bytes in, whole frames out: keeps a partial frame until the rest arrives."""

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        while len(self._buf) >= HEADER:
            n = int.from_bytes(self._buf[0:2], "big")
            if len(self._buf) < HEADER + n:
                break
            proto, body = self._buf[2], bytes(self._buf[HEADER:HEADER + n])
            del self._buf[:HEADER + n]
            if proto == Proto.OSMO:
                if not body:
                    raise GsupDecodeError("IPA frame with proto EE and no extension byte")
                out.append(Frame(proto, body[1:], body[0]))
            else:
                out.append(Frame(proto, body))
        return out


PING = encode_frame(Frame(Proto.CCM, bytes([CcmType.PING])))
PONG = encode_frame(Frame(Proto.CCM, bytes([CcmType.PONG])))
ID_ACK = encode_frame(Frame(Proto.CCM, bytes([CcmType.ID_ACK])))


def _tag(t: int) -> IdTag | int:
    try:
        return IdTag(t)
    except ValueError:
        return t


def build_id_get(tags: Sequence[int]) -> bytes:
    """The ID_GET payload asking for `tags` (each item `01 <tag>`)."""
    return bytes([CcmType.ID_GET]) + b"".join(bytes([1, t]) for t in tags)


def parse_id_get(payload: bytes) -> list[IdTag | int]:
    """The tags an ID_GET payload asks for, in its order."""
    if not payload or payload[0] != CcmType.ID_GET:
        raise GsupDecodeError("not an ID_GET")
    items = payload[1:]
    if len(items) % 2:
        raise GsupDecodeError(f"ID_GET: odd item bytes {items.hex()}")
    return [_tag(items[i + 1]) for i in range(0, len(items), 2)]


def build_id_resp(values: Mapping[int, str]) -> bytes:
    """The ID_RESP payload: each item `LLLL <tag> <value NUL>` (LLLL counts the tag and the value)."""
    out = bytearray([CcmType.ID_RESP])
    for tag, text in values.items():
        value = text.encode("ascii") + b"\x00"
        out += (1 + len(value)).to_bytes(2, "big") + bytes([tag]) + value
    return bytes(out)


def parse_id_resp(payload: bytes) -> dict[IdTag | int, str]:
    if not payload or payload[0] != CcmType.ID_RESP:
        raise GsupDecodeError("not an ID_RESP")
    out: dict[IdTag | int, str] = {}
    i = 1
    while i < len(payload):
        if i + 3 > len(payload):
            raise GsupDecodeError(f"ID_RESP: truncated item at offset {i}")
        n = int.from_bytes(payload[i:i + 2], "big")
        if n < 1 or i + 2 + n > len(payload):
            raise GsupDecodeError(f"ID_RESP: item at offset {i} claims {n} bytes")
        tag, value = payload[i + 2], payload[i + 3:i + 2 + n]
        out[_tag(tag)] = value.rstrip(b"\x00").decode("ascii", "replace")
        i += 2 + n
    return out


# Spec facts (specfacts-network-esim §9.2): the fixed CCM frames, the ID_GET osmo-hlr sends, an ID_RESP.
_OSMO_HLR_ID_GET = [IdTag.UNIT_ID, IdTag.MAC_ADDRESS, IdTag.LOCATION1, IdTag.LOCATION2, IdTag.EQUIP_VERSION,
                    IdTag.SW_VERSION, IdTag.UNIT_NAME, IdTag.SERNR]
VECTORS: list[Vector] = [
    Vector("0001 FE 00", Frame(Proto.CCM, b"\x00"), "libosmocore ipa.c: PING"),
    Vector("0001 FE 01", Frame(Proto.CCM, b"\x01"), "libosmocore ipa.c: PONG"),
    Vector("0001 FE 06", Frame(Proto.CCM, b"\x06"), "libosmocore ipa.c: ID_ACK"),
    Vector("0011 FE 04 0108 0107 0102 0103 0104 0105 0101 0100",
           Frame(Proto.CCM, build_id_get(_OSMO_HLR_ID_GET)), "the ID_GET osmo-hlr sends (§9.2)"),
    Vector("0015 FE 05 0007 08 302f302f3000 0009 00 53494d544f4f4c00",
           Frame(Proto.CCM, build_id_resp({IdTag.UNIT_ID: "0/0/0", IdTag.SERNR: "SIMTOOL"})),
           "ID_RESP, Unit ID 0/0/0 and SERNR SIMTOOL (§9.2)"),
    Vector("000F EE 05 09 0108 00010121436587F9 020102",
           Frame(Proto.OSMO, bytes.fromhex("09010800010121436587F9020102"), OsmoExt.GSUP),
           "GSUP in IPA, LLLL counting the extension byte (§9.1; the SAI error of §9.6)"),
]
CODEC = (decode_frame, encode_frame)

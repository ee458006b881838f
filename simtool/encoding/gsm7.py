"""The GSM 7-bit default alphabet (TS 23.038 §6.2.1) and its packing (§6.1.2.1.1): one table and one
packer for everyone who counts, writes or reads septets (profile rules for EF.SPN, the card's text
strings, the terminal's decoding of them). The alpha fields of files (`types.alpha_encode`) use the
`gsm0338` codec, which a test checks against this table.

* `to_septets(text)`: one septet per character of the basic table, ESC (`1B`) + one for a character of
  the extension table (`{`, `€`, ...), None when a character has no GSM code. ESC itself is the escape
  code, not a character: a text holding it has no GSM coding.
* `pack`: septets into octets, least significant bit first. Seven septets leave seven spare bits, which a
  reader would take for an eighth septet `00` (`@`): a CR fills them instead (§6.1.2.3.1), and `unpack`
  drops a last CR (or `00`) that stands where only spare bits were.
* `from_septets` is lenient, for what another party sent: an unknown extension code reads as a space, as
  §6.2.1.1 allows.
"""

from __future__ import annotations

from simtool.encoding.blocks import Fn
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.types import EncodeError

__all__ = ["BASIC", "CODEC", "ESC", "EXTENSION", "from_septets", "pack", "septet_count", "to_septets",
           "unpack"]

# index = septet value; 0x1B is the escape to the extension table
BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
ESC = 0x1B
EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
             0x40: "|", 0x65: "€"}
CR = 0x0D

_BASIC_CODE = {ch: i for i, ch in enumerate(BASIC) if i != ESC}
_EXT_CODE = {ch: i for i, ch in EXTENSION.items()}


def to_septets(text: str) -> bytes | None:
    """The septets of `text` (unpacked), or None when a character is in neither table."""
    out = bytearray()
    for ch in text:
        code = _BASIC_CODE.get(ch)
        if code is not None:
            out.append(code)
        elif ch in _EXT_CODE:
            out += bytes([ESC, _EXT_CODE[ch]])
        else:
            return None
    return bytes(out)


def septet_count(text: str) -> int | None:
    """How many septets `text` takes (two for an extension character), or None when it has no GSM coding."""
    septets = to_septets(text)
    return None if septets is None else len(septets)


def from_septets(septets: bytes) -> str:
    """Text of unpacked septets (bit 8 ignored)."""
    out, escaped = [], False
    for s in septets:
        s &= 0x7F
        if escaped:
            out.append(EXTENSION.get(s, " "))
            escaped = False
        elif s == ESC:
            escaped = True
        else:
            out.append(BASIC[s])
    return "".join(out)


def pack(septets: bytes) -> bytes:
    """Septets packed into octets; a CR fills seven spare bits."""
    if len(septets) % 8 == 7:
        septets += bytes([CR])
    out, acc, bits = bytearray(), 0, 0
    for s in septets:
        acc |= (s & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes) -> bytes:
    """Packed octets → septets, without the CR (or zero bits) that only filled the last seven spare bits."""
    septets, acc, bits = bytearray(), 0, 0
    for b in data:
        acc |= b << bits
        bits += 8
        while bits >= 7:
            septets.append(acc & 0x7F)
            acc >>= 7
            bits -= 7
    if septets and len(septets) % 8 == 0 and septets[-1] in (CR, 0x00):
        septets.pop()
    return bytes(septets)


def _encode(text: object) -> bytes:
    if not isinstance(text, str):
        raise EncodeError(f"expected text, got {type(text).__name__}")
    septets = to_septets(text)
    if septets is None:
        raise EncodeError(f"{text!r} has characters outside the GSM 7-bit default alphabet")
    return pack(septets)


CODEC = Codec(
    "GSM 7-bit packed",
    Fn(lambda data: from_septets(unpack(data)), _encode),
    vectors=(
        Vector("E8329BFD4697D9EC37", "hellohello", "TS 23.038 §6.1.2.1.1 packing (the worked 'hellohello')"),
        Vector("31D98C56B3DD1A", "1234567", "TS 23.038 §6.1.2.3.1: a CR in the seven spare bits"),
        Vector("31D98C56B3DD70", "12345678", "eight septets fill seven octets, no CR"),
        Vector("9B32", "€", "TS 23.038 §6.2.1.1: extension character, ESC 1B + 65"),
        Vector("", "", "no text"),
    ),
)

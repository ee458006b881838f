"""COMPREHENSION-TLV, the data objects of CAT (TS 102 223 §8 and Annex C, tags and forms TS 101 220 §7.1.1):
one coding for the card's side (`emulator.cat`, `emulator.ota`) and the terminal's (`commands.cat`).

The rule, read from the standards and kept strict so that what decodes encodes back to the same bytes:

* Tag, single-byte form (TS 101 220 §7.1.1.1): the first byte is `01`..`7E` or `81`..`FE`; bit 8 is the
  comprehension-required flag (CR), bits 7..1 the tag value. `85` is the alpha identifier (tag 05) with CR.
* Tag, three-byte form (§7.1.1.2): the first byte `7F`, then two bytes whose bit 16 is CR and whose 15
  other bits are the tag value. `7F` is never a tag of its own. The form is used here only for values the
  single byte cannot hold (`007F`..`7FFF`); a three-byte tag for a value below `7F` (and the value 0000) is
  refused, because the single-byte form writes it.
* `00`, `80` and `FF` are not tags (§7.1.1.1: `80` would be tag value 0 with CR; `00` and `FF` are not
  used, `FF` being what files are padded with): a TLV list holding one is malformed.
* Length (TS 102 223 Annex C): one byte `00`..`7F`, or `81` then `80`..`FF`. Nothing in CAT is longer
  than 255 bytes, so `82`/`83` are refused, and `81` before a length below 128 too (the one-byte form
  writes it).

Callers get `(tag value, value)` pairs (the CR flag dropped: what a side does with an unknown tag is its
own protocol logic) from `parse_ctlv`, and build one object with `ctlv(tag, value, cr=...)`. `CODEC` is the
same coding as a `Codec` (items as `{"tag", "cr", "value"}`) carrying the vectors the generic vector test
walks; malformed input raises `CtlvError`, a `DecodeError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from simtool.encoding.blocks import Fn
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.types import DecodeError, EncodeError

__all__ = ["CODEC", "CR", "CtlvError", "ctlv", "iter_ctlv", "parse_ctlv"]

CR = 0x80  # comprehension required, bit 8 of a single-byte tag (bit 16 of a three-byte one's value bytes)
THREE_BYTE = 0x7F
NOT_TAGS = (0x00, 0x80, 0xFF)
MAX_LENGTH = 0xFF


class CtlvError(DecodeError):
    """Bytes that are not a list of COMPREHENSION-TLVs by the rule of this module."""


def iter_ctlv(data: bytes) -> Iterator[tuple[int, bool, bytes]]:
    """(tag value, CR, value) for each data object; `CtlvError` at the first malformed byte."""
    i, end = 0, len(data)
    while i < end:
        first = data[i]
        if first in NOT_TAGS:
            raise CtlvError(f"byte {i}: {first:02X} is not a tag")
        if first == THREE_BYTE:
            if i + 3 > end:
                raise CtlvError(f"byte {i}: truncated three-byte tag")
            cr, tag = bool(data[i + 1] & 0x80), (data[i + 1] & 0x7F) << 8 | data[i + 2]
            if tag < THREE_BYTE:
                raise CtlvError(f"byte {i}: three-byte tag {tag:04X} has a single-byte form")
            i += 3
        else:
            cr, tag = bool(first & CR), first & 0x7F
            i += 1
        if i >= end:
            raise CtlvError(f"byte {i}: tag {tag:02X} without a length")
        n = data[i]
        i += 1
        if n == 0x81:
            if i >= end:
                raise CtlvError(f"byte {i}: truncated length")
            n = data[i]
            i += 1
            if n < 0x80:
                raise CtlvError(f"byte {i - 2}: length 81 {n:02X}: the one-byte form writes {n}")
        elif n > 0x7F:
            raise CtlvError(f"byte {i - 1}: length form {n:02X} (one byte, or 81 and one byte)")
        if i + n > end:
            raise CtlvError(f"tag {tag:02X}: a value of {n} bytes overruns the data ({end - i} left)")
        yield tag, cr, bytes(data[i : i + n])
        i += n


def parse_ctlv(data: bytes) -> list[tuple[int, bytes]]:
    """(tag value without CR, value) pairs, in order."""
    return [(tag, value) for tag, _, value in iter_ctlv(data)]


def ctlv(tag: int, value: bytes, cr: bool = False) -> bytes:
    """One data object: the tag in the form its value needs (CR when asked), its length, the value."""
    if not 0 < tag <= 0x7FFF:
        raise EncodeError(f"COMPREHENSION-TLV tag value {tag:X} (01..7FFF)")
    n = len(value)
    if n > MAX_LENGTH:
        raise EncodeError(f"tag {tag:02X}: a value of {n} bytes (a COMPREHENSION-TLV holds at most 255)")
    if tag < THREE_BYTE:
        head = bytes([tag | (CR if cr else 0)])
    else:
        head = bytes([THREE_BYTE, (tag >> 8) | (CR if cr else 0), tag & 0xFF])
    return head + (bytes([n]) if n < 0x80 else bytes([0x81, n])) + bytes(value)


# --- the same coding as a Codec, for values and vectors ------------------------------------------------

_KEYS = ("tag", "cr", "value")


def _decode(data: bytes) -> list[dict[str, Any]]:
    return [{"tag": tag, "cr": cr, "value": value} for tag, cr, value in iter_ctlv(data)]


def _encode(items: Any) -> bytes:
    if not isinstance(items, list | tuple):
        raise EncodeError(f"expected a list of data objects, got {type(items).__name__}")
    out = b""
    for k, item in enumerate(items):
        if not isinstance(item, Mapping) or set(item) != set(_KEYS):
            raise EncodeError(f"[{k}]: a data object is {{tag, cr, value}}, got {item!r}")
        if not isinstance(item["value"], bytes) or not isinstance(item["tag"], int):
            raise EncodeError(f"[{k}]: tag an int, value bytes")
        out += ctlv(item["tag"], item["value"], bool(item["cr"]))
    return out


def _v(tag: int, cr: bool, value: str) -> dict[str, Any]:
    return {"tag": tag, "cr": cr, "value": bytes.fromhex(value)}


CODEC = Codec(
    "COMPREHENSION-TLV",
    Fn(_decode, _encode),
    vectors=(
        Vector("810301250082028182 85044D656E75 8F07014974656D2031",
               [_v(0x01, True, "012500"), _v(0x02, True, "8182"), _v(0x05, True, "4D656E75"),
                _v(0x0F, True, "014974656D2031")],
               "specfacts §5.4: SET UP MENU (command details, device ids, alpha, item 1)"),
        Vector("810301250082028281830100", [_v(0x01, True, "012500"), _v(0x02, True, "8281"), _v(0x03, True, "00")],
               "specfacts §5.4: TERMINAL RESPONSE to SET UP MENU"),
        Vector("82020181900102", [_v(0x02, True, "0181"), _v(0x10, True, "02")],
               "specfacts §5.4: MENU SELECTION value (keypad -> UICC, item 2)"),
        Vector("3100050B44656661756C742055524C", [_v(0x31, False, ""), _v(0x05, False, "44656661756C742055524C")],
               "specfacts §5.2: LAUNCH BROWSER, URL and alpha without CR"),
        Vector("8D81" + "80" + "04" + "41" * 127, [_v(0x0D, True, "04" + "41" * 127)],
               "TS 102 223 Annex C: a 128-byte value takes the 81 length form"),
        Vector("7F80AB0101" + "7F0080" + "00", [_v(0x00AB, True, "01"), _v(0x0080, False, "")],
               "TS 101 220 §7.1.1.2: three-byte tags (CR in bit 16) for values past 7E"),
        Vector("", [], "no data objects"),
    ),
)

"""construct adapters for the telecom value types every EF is made of.

Each adapter turns raw bytes into a value a person can read (digit strings, `{"mcc", "mnc"}`, text)
and back. They are the only place that knows nibble order, F padding and alpha coding, so every EF
definition in `simtool.encoding.efs` is a composition of these.
"""

from __future__ import annotations

from typing import Any

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec with its escape table)
from construct import Adapter, Construct, GreedyBytes, ValidationError

FF = 0xFF


class EncodeError(ValueError):
    """A value cannot be encoded into the field it is meant for (too long, bad digits, ...)."""


# --- BCD -----------------------------------------------------------------------------------------

_BCD_DIGITS = "0123456789*#abc"  # TS 31.102 / 24.008 extended BCD: A='*', B='#', C..E


def bcd_swapped_decode(data: bytes) -> str:
    """Swapped-nibble BCD: low nibble first. Stops at the first F nibble."""
    out = []
    for b in data:
        for nib in (b & 0x0F, b >> 4):
            if nib == 0xF:
                return "".join(out)
            out.append(_BCD_DIGITS[nib] if nib < len(_BCD_DIGITS) else "?")
    return "".join(out)


def bcd_swapped_encode(digits: str, length: int | None = None) -> bytes:
    nibbles = []
    for ch in digits:
        idx = _BCD_DIGITS.find(ch.lower())
        if idx < 0:
            raise EncodeError(f"not a BCD digit: {ch!r}")
        nibbles.append(idx)
    if len(nibbles) % 2:
        nibbles.append(0xF)
    out = bytes((nibbles[i + 1] << 4) | nibbles[i] for i in range(0, len(nibbles), 2))
    if length is not None:
        if len(out) > length:
            raise EncodeError(f"{len(digits)} digits do not fit in {length} bytes")
        out += b"\xff" * (length - len(out))
    return out


class SwappedBcd(Adapter):
    """Digit string in swapped-nibble BCD, F padded (ICCID, dialling numbers, ECC codes)."""

    def __init__(self, subcon: Construct, length: int | None = None):
        super().__init__(subcon)
        self.length = length

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return bcd_swapped_decode(obj)

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        return bcd_swapped_encode(obj, self.length)


# --- PLMN ----------------------------------------------------------------------------------------


def plmn_decode(data: bytes) -> dict[str, str] | None:
    """3-byte PLMN (TS 24.008): `FFFFFF` is an unused entry and decodes to None."""
    if data == b"\xff\xff\xff":
        return None
    d = [data[0] & 0x0F, data[0] >> 4, data[1] & 0x0F, data[2] & 0x0F, data[2] >> 4, data[1] >> 4]
    mcc = "".join(str(x) for x in d[0:3])
    mnc = "".join(str(x) for x in d[3:5]) + ("" if d[5] == 0xF else str(d[5]))
    return {"mcc": mcc, "mnc": mnc}


def plmn_encode(plmn: dict[str, str] | None) -> bytes:
    if plmn is None:
        return b"\xff\xff\xff"
    mcc, mnc = str(plmn["mcc"]), str(plmn["mnc"])
    if len(mcc) != 3 or not mcc.isdigit():
        raise EncodeError(f"MCC must be 3 digits, got {mcc!r}")
    if len(mnc) not in (2, 3) or not mnc.isdigit():
        raise EncodeError(f"MNC must be 2 or 3 digits, got {mnc!r}")
    m = [int(c) for c in mcc]
    n = [int(c) for c in mnc]
    mnc3 = n[2] if len(n) == 3 else 0xF
    return bytes([(m[1] << 4) | m[0], (mnc3 << 4) | m[2], (n[1] << 4) | n[0]])


class Plmn(Adapter):
    def _decode(self, obj: bytes, context: Any, path: str) -> dict[str, str] | None:
        return plmn_decode(obj)

    def _encode(self, obj: dict[str, str] | None, context: Any, path: str) -> bytes:
        return plmn_encode(obj)


# --- IMSI ----------------------------------------------------------------------------------------


def imsi_decode(data: bytes) -> str | None:
    """EF.IMSI (TS 31.102 §4.2.2): length byte, then digit 1 with the parity/type nibble, then pairs."""
    if not data or data[0] in (0x00, 0xFF):
        return None
    n = data[0]
    body = data[1 : 1 + n]
    digits = bcd_swapped_decode(body)  # first digit decoded is the type nibble
    odd = bool(body[0] & 0x08)
    digits = digits[1:]
    if not odd and digits.endswith("f"):
        digits = digits[:-1]
    return digits


def imsi_encode(imsi: str | None) -> bytes:
    if imsi is None:
        return b"\xff" * 9
    if not imsi.isdigit() or not 6 <= len(imsi) <= 15:
        raise EncodeError(f"IMSI must be 6..15 digits, got {len(imsi)} characters")
    odd = len(imsi) % 2 == 1
    type_nibble = 0x9 if odd else 0x1
    nibbles = [type_nibble] + [int(c) for c in imsi]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    body = bytes((nibbles[i + 1] << 4) | nibbles[i] for i in range(0, len(nibbles), 2))
    return bytes([len(body)]) + body


class Imsi(Adapter):
    def _decode(self, obj: bytes, context: Any, path: str) -> str | None:
        return imsi_decode(obj)

    def _encode(self, obj: str | None, context: Any, path: str) -> bytes:
        return imsi_encode(obj)


# --- Alpha identifiers (TS 102 221 Annex A) --------------------------------------------------------


def alpha_decode(data: bytes) -> str:
    """GSM 7-bit default alphabet, unpacked, FF padded; or UCS2 in the 0x80 / 0x81 / 0x82 forms."""
    if not data:
        return ""
    if data[0] == 0x80:
        body = data[1:]
        chars = []
        for i in range(0, len(body) - 1, 2):
            if body[i : i + 2] == b"\xff\xff":
                break
            chars.append(body[i : i + 2].decode("utf-16-be", errors="replace"))
        return "".join(chars)
    if data[0] in (0x81, 0x82) and len(data) >= 3:
        n = data[1]
        if data[0] == 0x81:
            base, rest = data[2] << 7, data[3 : 3 + n]
        else:
            base, rest = (data[2] << 8) | data[3], data[4 : 4 + n]
        out = []
        for b in rest:
            if b & 0x80:
                out.append(chr(base + (b & 0x7F)))
            else:
                out.append(bytes([b]).decode("gsm03.38"))
        return "".join(out)
    body = data.split(b"\xff", 1)[0]
    return body.decode("gsm03.38", errors="replace")


def alpha_encode(text: str, length: int | None = None) -> bytes:
    """GSM 7-bit when every character has a GSM code, else UCS2 (0x80 form). Pads with FF."""
    try:
        if "\x1b" in text:  # ESC is the GSM escape code, not a character: a text holding it needs UCS2
            raise UnicodeEncodeError("gsm03.38", text, text.index("\x1b"), text.index("\x1b") + 1, "escape")
        out = text.encode("gsm03.38")
    except UnicodeEncodeError:
        if any(ord(c) >= 0xFFFF for c in text):
            raise EncodeError("text has characters outside UCS2 (U+0000..U+FFFE)") from None
        out = b"\x80" + text.encode("utf-16-be")
    if length is not None:
        if len(out) > length:
            raise EncodeError(f"text needs {len(out)} bytes, the field holds {length}")
        out += b"\xff" * (length - len(out))
    return out


def alpha_length(text: str) -> int:
    return len(alpha_encode(text))


class Alpha(Adapter):
    def __init__(self, subcon: Construct, length: int | None = None):
        super().__init__(subcon)
        self.length = length

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return alpha_decode(obj)

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        return alpha_encode(obj, self.length)


# --- hex / misc ----------------------------------------------------------------------------------


class Hex(Adapter):
    """Bytes shown as lowercase hex: for values with no richer meaning (TMSI, keys in EF.KEYS)."""

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return bytes(obj).hex()

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        try:
            return bytes.fromhex(obj)
        except ValueError as e:
            raise ValidationError(f"not hex: {e}") from None


class Chunked(Adapter):
    """A list of fixed-size entries filling the file; `unused` entries are dropped on decode.

    Encoding emits only the used entries: `Codec.encode` pads the rest with the file's filler.
    """

    def __init__(self, entry: Construct, entry_size: int, unused: bytes):
        super().__init__(GreedyBytes)
        self.entry = entry
        self.entry_size = entry_size
        self.unused = unused

    def _decode(self, obj: bytes, context: Any, path: str) -> list[Any]:
        out = []
        n = self.entry_size
        for i in range(0, len(obj) - n + 1, n):
            chunk = obj[i : i + n]
            if chunk == self.unused or chunk[:3] == b"\xff\xff\xff" and self.unused[:3] == b"\xff\xff\xff":
                continue
            value = self.entry.parse(chunk)
            if value not in (None, ""):
                out.append(value)
        return out

    def _encode(self, obj: list[Any], context: Any, path: str) -> bytes:
        return b"".join(self.entry.build(e) for e in obj)

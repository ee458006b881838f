"""construct adapters for the telecom value types every EF is made of.

Each adapter turns raw bytes into a value a person can read (digit strings, `{"mcc", "mnc"}`, text)
and back. They are the only place that knows nibble order, F padding and alpha coding, so every EF
definition in `simtool.encoding.efs` is a composition of these. Decoding is strict: bytes that the
same adapter would not write back identically raise `DecodeError`, so `encode(decode(b)) == b`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec with its escape table)
from construct import Adapter, Construct, GreedyBytes, ValidationError
from construct.core import Subconstruct, stream_read_entire

FF = 0xFF


class CodecError(ValueError):
    """A value does not fit its file's coding (encode), or bytes do not follow it (decode).

    One error per file: the message names the EF and every problem found."""


class EncodeError(CodecError):
    """A value cannot be encoded into the field it is meant for (too long, bad digits, unknown keys, ...)."""


class DecodeError(CodecError):
    """Bytes read from a card do not follow the file's coding."""


def _field_length(subcon: Any, context: Any) -> int | None:
    """The byte length a `Bytes(n)` / `Bytes(this...)` field has in this context (None: greedy)."""
    length = getattr(subcon, "length", None)
    if length is None:
        return None
    return int(length(context) if callable(length) else length)


# --- BCD -----------------------------------------------------------------------------------------

_BCD_DIGITS = "0123456789*#abc"  # TS 31.102 / 24.008 extended BCD: A='*', B='#', C..E


def bcd_swapped_decode(data: bytes) -> str:
    """Swapped-nibble BCD: low nibble first. Stops at the first F nibble (lenient: what follows is ignored)."""
    out: list[str] = []
    for b in data:
        for nib in (b & 0x0F, b >> 4):
            if nib == 0xF:
                return "".join(out)
            out.append(_BCD_DIGITS[nib] if nib < len(_BCD_DIGITS) else "?")
    return "".join(out)


def bcd_strict_decode(data: bytes) -> str:
    """Swapped-nibble BCD whose digits end at the first F nibble, every nibble after it F too."""
    nibbles = [n for b in data for n in (b & 0x0F, b >> 4)]
    n = nibbles.index(0xF) if 0xF in nibbles else len(nibbles)
    if any(x != 0xF for x in nibbles[n:]):
        raise DecodeError(f"BCD digits after the F end mark: {bytes(data).hex().upper()}")
    return "".join(_BCD_DIGITS[x] for x in nibbles[:n])


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
    """Digit string in swapped-nibble BCD, F padded to the field (ICCID, dialling numbers, ECC codes)."""

    def __init__(self, subcon: Construct, length: int | None = None):
        super().__init__(subcon)
        self.length = length

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return bcd_strict_decode(obj)

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        if not isinstance(obj, str):
            raise EncodeError(f"expected a digit string, got {type(obj).__name__}")
        return bcd_swapped_encode(obj, self.length if self.length is not None else _field_length(self.subcon, context))


# --- PLMN ----------------------------------------------------------------------------------------


def plmn_decode(data: bytes, strict: bool = False) -> dict[str, str] | None:
    """3-byte PLMN (TS 24.008 §10.5.1.3): `FFFFFF` is an unused entry and decodes to None. `strict`:
    digits must be 0..9 (the third MNC digit may be F), as in a file; else terminal input, shown as is."""
    if data == b"\xff\xff\xff":
        return None
    d = [data[0] & 0x0F, data[0] >> 4, data[1] & 0x0F, data[2] & 0x0F, data[2] >> 4, data[1] >> 4]
    if strict and (any(x > 9 for x in d[:5]) or d[5] not in (*range(10), 0xF)):
        raise DecodeError(f"PLMN {bytes(data).hex().upper()} has a digit that is not 0..9")
    mcc = "".join(str(x) for x in d[0:3])
    mnc = "".join(str(x) for x in d[3:5]) + ("" if d[5] == 0xF else str(d[5]))
    return {"mcc": mcc, "mnc": mnc}


def plmn_encode(plmn: Mapping[str, str] | None) -> bytes:
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


def plmn_problems(obj: Any) -> list[str]:
    if obj is None:
        return []
    if not isinstance(obj, Mapping):
        return [f"expected {{mcc, mnc}} or None, got {type(obj).__name__}"]
    return ([f"{k}: unknown key" for k in obj if k not in ("mcc", "mnc")]
            + [f"{k}: missing" for k in ("mcc", "mnc") if k not in obj])


class Plmn(Adapter):
    """{"mcc", "mnc"} (strings of digits), or None for `FFFFFF`."""

    def _decode(self, obj: bytes, context: Any, path: str) -> dict[str, str] | None:
        return plmn_decode(obj, strict=True)

    def _encode(self, obj: Mapping[str, str] | None, context: Any, path: str) -> bytes:
        return plmn_encode(obj)

    def problems(self, obj: Any) -> list[str]:
        return plmn_problems(obj)


# --- IMSI ----------------------------------------------------------------------------------------


def imsi_decode(data: bytes) -> str | None:
    """EF.IMSI (TS 31.102 §4.2.2): length byte, then digit 1 with the parity/type nibble, then pairs.

    Strict: 6..15 digits, type 001 with the parity bit matching the digit count, F padding only."""
    if not data or data[0] > 8 or data[0] < 4:
        raise DecodeError(f"IMSI length byte {data[0]:02X} is not 4..8" if data else "no IMSI length byte")
    n = data[0]
    body, rest = data[1 : 1 + n], data[1 + n :]
    if len(body) < n or any(b != 0xFF for b in rest):
        raise DecodeError("IMSI shorter than its length byte, or not FF after it")
    nibbles = [x for b in body for x in (b & 0x0F, b >> 4)]
    odd = bool(nibbles[0] & 0x08)
    if nibbles[0] & 0x07 != 0x01:
        raise DecodeError(f"IMSI type nibble {nibbles[0]:X} is not an IMSI (x001)")
    digits = nibbles[1:] if odd else nibbles[1:-1]
    if not odd and nibbles[-1] != 0xF or any(x > 9 for x in digits) or not 6 <= len(digits) <= 15:
        raise DecodeError(f"IMSI {bytes(body).hex().upper()}: digits or parity do not agree")
    return "".join(map(str, digits))


def imsi_encode(imsi: str | None) -> bytes:
    if imsi is None:
        return b"\xff" * 9
    if not isinstance(imsi, str) or not imsi.isdigit() or not 6 <= len(imsi) <= 15:
        raise EncodeError("IMSI must be 6..15 digits")
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

UCS2_80, UCS2_81, UCS2_82 = 0x80, 0x81, 0x82


class AlphaText(str):
    """Text read from an alpha field, remembering the coding it was read in (`coding`: None = GSM 7-bit
    default alphabet, `(0x80, 0)`, `(0x81, base)` or `(0x82, base)`: TS 102 221 Annex A), so that
    writing it back gives the same bytes. It is a `str`: compare and print it as one."""

    coding: tuple[int, int] | None

    def __new__(cls, text: str, coding: tuple[int, int] | None = None) -> AlphaText:
        obj = super().__new__(cls, text)
        obj.coding = coding
        return obj


def alpha_decode(data: bytes) -> str:
    """GSM 7-bit default alphabet, unpacked, FF padded; or UCS2 in the 0x80 / 0x81 / 0x82 forms (lenient:
    for texts from a terminal or a proactive command; files use `alpha_decode_strict`)."""
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
                out.append(bytes([b]).decode("gsm03.38", errors="replace"))
        return "".join(out)
    body = data.split(b"\xff", 1)[0]
    return body.decode("gsm03.38", errors="replace")


def _coding_of(data: bytes) -> tuple[int, int] | None:
    if not data or data[0] < 0x80 or data[0] > 0x82:
        return None
    if data[0] == 0x81 and len(data) >= 3:
        return (0x81, data[2] << 7)
    if data[0] == 0x82 and len(data) >= 4:
        return (0x82, (data[2] << 8) | data[3])
    return (0x80, 0)


def alpha_decode_strict(data: bytes) -> AlphaText:
    """An alpha field of a file: the text, in the coding it was written in; DecodeError for bytes that no
    coding writes (stray bytes after the FF padding, a broken UCS2 character, a bad count)."""
    data = bytes(data)
    coding = _coding_of(data)
    if coding is None and not data.split(b"\xff", 1)[0].isascii():
        raise DecodeError(f"alpha field {data.hex().upper()} is neither GSM 7-bit nor UCS2")
    if coding is not None and coding[0] != 0x80 and data[1] > len(data) - (3 if coding[0] == 0x81 else 4):
        raise DecodeError(f"UCS2 {coding[0]:02X} alpha field counts more characters than it holds")
    text = AlphaText(alpha_decode(data), coding)
    try:
        again = alpha_encode(text, len(data))
    except EncodeError:
        again = b""
    if again != data:
        raise DecodeError(f"alpha field {data.hex().upper()} is not in a form simtool writes back as read")
    return text


def _encode_81_82(text: str, coding: tuple[int, int]) -> bytes | None:
    form, base = coding
    out = bytearray()
    for ch in text:
        gsm = ch.encode("gsm03.38", errors="ignore") if ch != "\x1b" else b""
        if len(gsm) == 1 and gsm[0] < 0x80:
            out.append(gsm[0])
        elif base <= ord(ch) < base + 0x80:
            out.append(0x80 | (ord(ch) - base))
        else:
            return None
    if len(out) > 255:
        return None
    head = bytes([form, len(out)]) + (bytes([base >> 7]) if form == 0x81 else base.to_bytes(2, "big"))
    return head + bytes(out)


def alpha_encode(text: str, length: int | None = None) -> bytes:
    """GSM 7-bit when every character has a GSM code, else UCS2 (0x80 form); an `AlphaText` in the coding
    it was read in. Pads with FF."""
    if not isinstance(text, str):
        raise EncodeError(f"expected text, got {type(text).__name__}")
    coding = getattr(text, "coding", None)
    out: bytes | None = None
    if coding is not None and coding[0] in (0x81, 0x82):
        out = _encode_81_82(str(text), coding)
    if out is None and (coding is None or coding[0] != 0x80):
        try:
            if "\x1b" in text:  # ESC is the GSM escape code, not a character: a text holding it needs UCS2
                raise UnicodeEncodeError("gsm03.38", text, text.index("\x1b"), text.index("\x1b") + 1, "escape")
            out = str(text).encode("gsm03.38")
        except UnicodeEncodeError:
            out = None
    if out is None:
        if any(ord(c) >= 0xFFFF for c in text):
            raise EncodeError("text has characters outside UCS2 (U+0000..U+FFFE)")
        out = b"\x80" + str(text).encode("utf-16-be", errors="surrogatepass")
    if length is not None:
        if len(out) > length:
            raise EncodeError(f"text needs {len(out)} bytes, the field holds {length}")
        out += b"\xff" * (length - len(out))
    return out


def alpha_length(text: str) -> int:
    return len(alpha_encode(text))


class Alpha(Adapter):
    """An alpha field: `Alpha(Bytes(n))` (n may be `this._params.size - k`, the record's tail)."""

    def __init__(self, subcon: Construct, length: int | None = None):
        super().__init__(subcon)
        self.length = length

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return alpha_decode_strict(obj)

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        return alpha_encode(obj, self.length if self.length is not None else _field_length(self.subcon, context))


# --- lists, bits, validity, padding ----------------------------------------------------------------


class Filler(Construct):
    """The rest of the file: must be the filler pattern (e.g. FF...), builds nothing (`Codec.encode` pads).

    Put last in a layout whose end is not fixed, so stray bytes after the content make decoding fail
    instead of being dropped."""

    def __init__(self, pattern: bytes = b"\xff"):
        super().__init__()
        self.pattern = pattern
        self.flagbuildnone = True

    def _parse(self, stream: Any, context: Any, path: str) -> None:
        rest = stream_read_entire(stream, path)
        n = len(rest)
        if rest != (self.pattern * (n // len(self.pattern) + 1))[:n]:
            raise ValidationError(f"bytes after the content are not {self.pattern.hex().upper()} padding", path=path)
        return None

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> None:
        return None


class Check(Subconstruct):
    """A field whose value must satisfy `ok` in both directions (what decode accepts, encode writes back)."""

    def __init__(self, subcon: Construct, ok: Callable[[Any], bool], message: str):
        super().__init__(subcon)
        self.ok = ok
        self.message = message

    def _parse(self, stream: Any, context: Any, path: str) -> Any:
        obj = self.subcon._parsereport(stream, context, path)
        if not self.ok(obj):
            raise ValidationError(f"{self.message} (got {obj!r})", path=path)
        return obj

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        if not self.ok(obj):
            raise EncodeError(f"{self.message} (got {obj!r})")
        return self.subcon._build(obj, stream, context, path)


class Entries(Adapter):
    """A file that is a list of fixed-size entries (PLMN lists, language lists, ECC codes).

    Decodes to the entries up to the last used one; an unused entry in between (`unused` bytes, e.g. a
    PLMN deleted from the middle of EF.FPLMN) is None, so its place is kept. Encoding writes the list
    and `Codec.encode` pads the rest of the file with the file's filler (the same unused pattern)."""

    def __init__(self, entry: Construct, entry_size: int, unused: bytes):
        super().__init__(GreedyBytes)
        self.entry = entry
        self.entry_size = entry_size
        self.unused = unused

    def _decode(self, obj: bytes, context: Any, path: str) -> list[Any]:
        n = self.entry_size
        chunks = [bytes(obj[i : i + n]) for i in range(0, len(obj) - n + 1, n)]
        tail = bytes(obj[len(chunks) * n :])
        if tail != self.unused[: len(tail)]:
            raise DecodeError(f"{len(tail)} bytes after the last whole entry are not {self.unused.hex().upper()}")
        while chunks and chunks[-1] == self.unused:
            chunks.pop()
        return [None if c == self.unused else self.entry.parse(c) for c in chunks]

    def _encode(self, obj: list[Any], context: Any, path: str) -> bytes:
        if not isinstance(obj, list | tuple):
            raise EncodeError(f"expected a list, got {type(obj).__name__}")
        out = []
        for e in obj:
            raw = self.unused if e is None else self.entry.build(e)
            if raw == self.unused and e is not None:
                raise EncodeError(f"entry {e!r} encodes as an unused entry")
            out.append(raw)
        return b"".join(out)

    def problems(self, obj: Any) -> list[str]:
        if not isinstance(obj, list | tuple):
            return [f"expected a list, got {type(obj).__name__}"]
        from simtool.encoding.strict import problems

        out: list[str] = []
        for i, e in enumerate(obj):
            if e is not None:
                out += [f"[{i}].{p}" if not p.startswith("[") else f"[{i}]{p}" for p in problems(self.entry, e)]
        return out


class NamedBits(Adapter):
    """An integer bit field as the list of the names of its set bits, in bit order (b1 first).

    `names` maps a bit number (0 = b1 of the last byte) to its name; a set bit without a name decodes as
    `other(n)` (e.g. "service_42") and encodes back, so no bit is lost."""

    def __init__(self, subcon: Construct, names: Mapping[int, str], other: Callable[[int], str],
                 parse_other: Callable[[str], int | None], what: str = "name"):
        super().__init__(subcon)
        self.what = what
        self.names = dict(names)
        self.by_name = {v: k for k, v in self.names.items()}
        self.other = other
        self.parse_other = parse_other

    def _decode(self, obj: int, context: Any, path: str) -> list[str]:
        return [self.names.get(n, self.other(n)) for n in range(obj.bit_length()) if obj >> n & 1]

    def bit(self, name: Any) -> int | None:
        if not isinstance(name, str):
            return None
        if name in self.by_name:
            return self.by_name[name]
        return self.parse_other(name)

    def _encode(self, obj: list[str], context: Any, path: str) -> int:
        value = 0
        for name in obj:
            n = self.bit(name)
            if n is None:
                raise EncodeError(f"unknown {self.what} {name!r}")
            value |= 1 << n
        return value

    def problems(self, obj: Any) -> list[str]:
        if not isinstance(obj, list | tuple):
            return [f"expected a list of names, got {type(obj).__name__}"]
        return [f"unknown {self.what} {n!r}" for n in obj if self.bit(n) is None]


class Flat(Adapter):
    """A Struct whose bit-field members (`flatten`: their field names) read as keys of the record itself:
    `{"show_in_hplmn", "hide_in_oplmn", "name"}` instead of `{"display": {...}, "name"}`."""

    def __init__(self, subcon: Construct, flatten: tuple[str, ...]):
        super().__init__(subcon)
        self.flatten = flatten
        self.members = {name: _struct_names(_named(subcon, name)) for name in flatten}

    def nest(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            owner = next((f for f, names in self.members.items() if k in names), None)
            if owner is None:
                out[k] = v
            else:
                out.setdefault(owner, {})[k] = v
        for f in self.flatten:
            out.setdefault(f, {})
        return out

    def _decode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if str(k).startswith("_"):
                continue
            if k in self.flatten:
                if v is None:
                    continue
                out.update({kk: vv for kk, vv in v.items() if not str(kk).startswith("_")})
            else:
                out[k] = v
        return out

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        if not isinstance(obj, Mapping):
            raise EncodeError(f"expected a mapping, got {type(obj).__name__}")
        return self.nest(obj)

    def problems(self, obj: Any) -> list[str]:
        if not isinstance(obj, Mapping):
            return [f"expected a mapping, got {type(obj).__name__}"]
        import difflib

        from simtool.encoding.strict import problems

        keys = sorted(set().union(*self.members.values()) | _struct_names(self.subcon) - set(self.flatten))
        out = []
        for p in problems(self.subcon, self.nest(obj)):
            p = p.split(".", 1)[1] if p.split(".", 1)[0] in self.flatten else p
            if p.endswith(": unknown key"):
                near = difflib.get_close_matches(p.split(":", 1)[0], keys, n=1)
                p += f" (did you mean {near[0]}?)" if near else ""
            out.append(p)
        return out


def _named(struct: Any, name: str) -> Any:
    for sc in struct.subcons:
        if sc.name == name:
            return sc
    raise KeyError(name)


def _struct_names(con: Any) -> set[str]:
    while not hasattr(con, "subcons"):
        con = con.thensubcon if hasattr(con, "thensubcon") else con.subcon
    return {sc.name for sc in con.subcons if sc.name}

"""UICC / USIM command builders and response parsers (TS 102 221 §11, TS 31.102 §7, specfacts §4).

Builders return `Apdu` values for logical channel 0 (use `.with_channel(n)` for others); parsers take
response data. Errors in arguments raise ValueError, and never echo a PIN or key value.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Literal

from simtool.commands.apdu import Apdu, MalformedResponse
from simtool.encoding.tlv import TlvError, iter_tlv
from simtool.errors import InputError

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80  # TS 102 221 commands: STATUS, TERMINAL PROFILE, ENVELOPE, FETCH, TERMINAL RESPONSE

# Key references (TS 102 221 §9.5.1 table 9.3).
PIN1 = 0x01
PIN2 = 0x81
ADM1 = 0x0A
ADM2 = 0x0B
ADM3 = 0x0C
ADM4 = 0x0D
ADM5 = 0x0E
UNIVERSAL_PIN = 0x11

PIN_LENGTH = 8  # every PIN/PUK/ADM value goes to the card as 8 bytes


class Ins(IntEnum):
    SELECT = 0xA4
    STATUS = 0xF2
    READ_BINARY = 0xB0
    UPDATE_BINARY = 0xD6
    READ_RECORD = 0xB2
    UPDATE_RECORD = 0xDC
    SEARCH_RECORD = 0xA2
    INCREASE = 0x32
    VERIFY_PIN = 0x20
    CHANGE_PIN = 0x24
    DISABLE_PIN = 0x26
    ENABLE_PIN = 0x28
    UNBLOCK_PIN = 0x2C
    DEACTIVATE_FILE = 0x04
    ACTIVATE_FILE = 0x44
    AUTHENTICATE = 0x88
    AUTHENTICATE_ODD = 0x89
    GET_CHALLENGE = 0x84
    MANAGE_CHANNEL = 0x70
    TERMINAL_PROFILE = 0x10
    ENVELOPE = 0xC2
    FETCH = 0x12
    TERMINAL_RESPONSE = 0x14
    GET_RESPONSE = 0xC0


#: Instructions whose data is a PIN/PUK/ADM value (traces mask it).
PIN_INS = frozenset({Ins.VERIFY_PIN, Ins.CHANGE_PIN, Ins.DISABLE_PIN, Ins.ENABLE_PIN, Ins.UNBLOCK_PIN})

_INS_NAMES = {ins.value: ins.name.replace("_", " ") for ins in Ins}
_INS_NAMES[Ins.AUTHENTICATE_ODD] = "AUTHENTICATE"


def ins_name(ins: int) -> str:
    """Human name of an instruction, for messages ("VERIFY PIN"); `INS xx` when unknown."""
    return _INS_NAMES.get(ins, f"INS {ins:02X}")


def keyref_name(keyref: int) -> str:
    """Human name of a key reference: PIN1, PIN2, ADM1, UNIVERSAL PIN, ..."""
    if 0x01 <= keyref <= 0x08:
        return f"PIN{keyref}" if keyref == 1 else f"PIN APPL {keyref}"
    if 0x81 <= keyref <= 0x88:
        return "PIN2" if keyref == 0x81 else f"SECOND PIN APPL {keyref - 0x80}"
    if 0x0A <= keyref <= 0x0E:
        return f"ADM{keyref - 0x09}"
    if 0x8A <= keyref <= 0x8E:
        return f"ADM{keyref - 0x8A + 6}"
    if keyref == UNIVERSAL_PIN:
        return "UNIVERSAL PIN"
    return f"KEY {keyref:02X}"


# ---------------------------------------------------------------------------------------------------------
# PIN / ADM values


class SecretFormatError(InputError, ValueError):
    """A PIN, PUK or ADM value in the wrong format. The message never contains the value."""


def pin_bytes(pin: str) -> bytes:
    """A PIN/PUK of 4-8 ASCII digits as the card takes it: ASCII, padded with FF to 8 bytes."""
    if not isinstance(pin, str) or not (4 <= len(pin) <= 8 and pin.isascii() and pin.isdigit()):
        n = len(pin) if isinstance(pin, str) else "?"
        raise SecretFormatError(f"a PIN/PUK must be 4 to 8 decimal digits (got {n} characters)")
    return pin.encode("ascii").ljust(PIN_LENGTH, b"\xff")


def adm_from_hex(value: str) -> bytes:
    """An ADM key given as 16 hex digits (8 arbitrary bytes, the vendor's `--pin-adm-hex` form)."""
    text = value.strip().replace(" ", "")
    if len(text) != 2 * PIN_LENGTH:
        raise SecretFormatError(f"a hex ADM key must be 16 hex digits (got {len(text)})")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise SecretFormatError("a hex ADM key must contain only hex digits") from None


def adm_from_ascii(value: str) -> bytes:
    """An ADM key given as 1-8 ASCII digits: ASCII, padded with FF to 8 bytes."""
    if not (1 <= len(value) <= PIN_LENGTH and value.isascii() and value.isdigit()):
        raise SecretFormatError(
            f"an ASCII ADM key must be 1 to 8 decimal digits (got {len(value)} characters)"
        )
    return value.encode("ascii").ljust(PIN_LENGTH, b"\xff")


def adm_bytes(value: str | bytes) -> bytes:
    """ADM key in either vendor form: 8 raw bytes, 16 hex digits, or up to 8 ASCII digits."""
    if isinstance(value, bytes | bytearray):
        if len(value) != PIN_LENGTH:
            raise SecretFormatError(f"a binary ADM key must be 8 bytes (got {len(value)})")
        return bytes(value)
    text = value.strip()
    if len(text) == 2 * PIN_LENGTH:
        return adm_from_hex(text)
    if len(text) <= PIN_LENGTH and text.isascii() and text.isdigit():
        return adm_from_ascii(text)
    raise SecretFormatError(
        f"an ADM key must be 16 hex digits or 1 to 8 decimal digits (got {len(text)} characters)"
    )


# ---------------------------------------------------------------------------------------------------------
# Argument checks


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _fid(fid: int) -> bytes:
    _check(isinstance(fid, int) and 0 <= fid <= 0xFFFF, f"file ID must be 0000..FFFF, got {fid!r}")
    return fid.to_bytes(2, "big")


def _sfi(sfi: int) -> int:
    _check(isinstance(sfi, int) and 1 <= sfi <= 30, f"SFI must be 1..30, got {sfi!r}")
    return sfi


def _le(le: int) -> int:
    _check(isinstance(le, int) and 1 <= le <= 256, f"Le must be 1..256, got {le!r}")
    return le


def _data(data: bytes, what: str) -> bytes:
    data = bytes(data)
    _check(1 <= len(data) <= 255, f"{what} must be 1..255 bytes, got {len(data)}")
    return data


def _secret(value: bytes, what: str) -> bytes:
    value = bytes(value)
    if len(value) != PIN_LENGTH:
        raise SecretFormatError(
            f"{what} must be {PIN_LENGTH} bytes (got {len(value)}); use pin_bytes() or adm_bytes()"
        )
    return value


def _keyref(keyref: int) -> int:
    _check(isinstance(keyref, int) and 0 <= keyref <= 0xFF, f"key reference must be a byte, got {keyref!r}")
    return keyref


# ---------------------------------------------------------------------------------------------------------
# SELECT (§11.1.1)


def _select(p1: int, data: bytes, fcp: bool, p2_extra: int = 0) -> Apdu:
    return Apdu(CLA_ISO, Ins.SELECT, p1, (0x04 if fcp else 0x0C) | p2_extra, data, 256 if fcp else None)


def select_fid(fid: int, fcp: bool = False) -> Apdu:
    """SELECT by file ID (P1 00). `fcp=False` asks for no data (P2 0C): cheapest on a real card."""
    return _select(0x00, _fid(fid), fcp)


def select_mf(fcp: bool = False) -> Apdu:
    return select_fid(0x3F00, fcp)


def select_child_df(fid: int, fcp: bool = False) -> Apdu:
    """SELECT a DF that is a child of the current DF (P1 01)."""
    return _select(0x01, _fid(fid), fcp)


def select_parent(fcp: bool = False) -> Apdu:
    """SELECT the parent DF of the current DF (P1 03, no data)."""
    return _select(0x03, b"", fcp)


def _path_bytes(path: bytes | list[int]) -> bytes:
    if isinstance(path, bytes | bytearray):
        raw = bytes(path)
        _check(len(raw) % 2 == 0, f"a path is a sequence of 2-byte file IDs, got {len(raw)} bytes")
    else:
        raw = b"".join(_fid(f) for f in path)
    return raw


def select_path(path_from_mf: bytes | list[int], fcp: bool = False) -> Apdu:
    """SELECT by path from the MF (P1 08); a leading 3F00 is dropped as the spec wants it absent.

    `path_from_mf` is either the raw path bytes or a list of FIDs: `[0x7FFF, 0x6F07]`. The empty path (or
    just 3F00) selects the MF by FID.
    """
    raw = _path_bytes(path_from_mf)
    if raw[:2] == b"\x3f\x00":
        raw = raw[2:]
    if not raw:
        return select_mf(fcp)
    _check(len(raw) <= 254, "path too long")
    return _select(0x08, raw, fcp)


def select_path_from_current(path: bytes | list[int], fcp: bool = False) -> Apdu:
    """SELECT by path from the current DF (P1 09)."""
    raw = _path_bytes(path)
    _check(0 < len(raw) <= 254, "path must name at least one file")
    return _select(0x09, raw, fcp)


_OCCURRENCE = {"first": 0x00, "last": 0x01, "next": 0x02, "previous": 0x03}


def select_aid(
    aid: bytes,
    fcp: bool = False,
    occurrence: Literal["first", "last", "next", "previous"] = "first",
    terminate: bool = False,
) -> Apdu:
    """SELECT by DF name (P1 04). A right-truncated AID (e.g. the 7-byte USIM prefix) is allowed."""
    aid = bytes(aid)
    _check(1 <= len(aid) <= 16, f"AID must be 1..16 bytes, got {len(aid)}")
    _check(occurrence in _OCCURRENCE, f"occurrence must be one of {sorted(_OCCURRENCE)}")
    return _select(0x04, aid, fcp, _OCCURRENCE[occurrence] | (0x40 if terminate else 0x00))


def status(p1: int = 0x00, p2: int = 0x00, le: int = 256) -> Apdu:
    """STATUS (CLA 80). P2 00: FCP of the current DF/ADF, 01: DF name TLV, 0C: no data (P1: app state)."""
    _check(p1 in (0x00, 0x01, 0x02), f"STATUS P1 must be 00, 01 or 02, got {p1:02X}")
    _check(p2 in (0x00, 0x01, 0x0C), f"STATUS P2 must be 00, 01 or 0C, got {p2:02X}")
    return Apdu(CLA_PROPRIETARY, Ins.STATUS, p1, p2, b"", None if p2 == 0x0C else _le(le))


# ---------------------------------------------------------------------------------------------------------
# Transparent and record EFs (§11.1.3-§11.1.7)


def _binary_p1p2(offset: int, sfi: int | None) -> tuple[int, int]:
    if sfi is None:
        _check(isinstance(offset, int) and 0 <= offset <= 0x7FFF, f"offset must be 0..32767, got {offset!r}")
        return offset >> 8, offset & 0xFF
    _check(
        isinstance(offset, int) and 0 <= offset <= 0xFF, f"offset with an SFI must be 0..255, got {offset!r}"
    )
    return 0x80 | _sfi(sfi), offset


def read_binary(offset: int = 0, length: int = 256, sfi: int | None = None) -> Apdu:
    """READ BINARY of `length` bytes (1..256) from the current EF, or from the EF `sfi` (selecting it)."""
    p1, p2 = _binary_p1p2(offset, sfi)
    return Apdu(CLA_ISO, Ins.READ_BINARY, p1, p2, b"", _le(length))


def update_binary(offset: int, data: bytes, sfi: int | None = None) -> Apdu:
    """UPDATE BINARY of up to 255 bytes at `offset`."""
    p1, p2 = _binary_p1p2(offset, sfi)
    return Apdu(CLA_ISO, Ins.UPDATE_BINARY, p1, p2, _data(data, "UPDATE BINARY data"))


RecordMode = Literal["absolute", "current", "next", "previous"]
_RECORD_MODE = {"next": 0x02, "previous": 0x03, "absolute": 0x04, "current": 0x04}


def _record_p1p2(rec: int, mode: str, sfi: int | None) -> tuple[int, int]:
    _check(mode in _RECORD_MODE, f"record mode must be one of {sorted(_RECORD_MODE)}, got {mode!r}")
    if mode == "absolute":
        _check(isinstance(rec, int) and 1 <= rec <= 254, f"record number must be 1..254, got {rec!r}")
    else:
        _check(rec == 0, f"record number must be 0 in {mode} mode, got {rec!r}")
    return rec, ((_sfi(sfi) << 3) if sfi is not None else 0) | _RECORD_MODE[mode]


def read_record(
    rec: int, length: int = 256, *, mode: RecordMode = "absolute", sfi: int | None = None
) -> Apdu:
    """READ RECORD `rec` (absolute) or, with rec=0, the current/next/previous record.

    `length` is the record length (Le); under T=0 a wrong one costs a 6Cxx round trip.
    """
    p1, p2 = _record_p1p2(rec, mode, sfi)
    return Apdu(CLA_ISO, Ins.READ_RECORD, p1, p2, b"", _le(length))


def update_record(rec: int, data: bytes, *, mode: RecordMode = "absolute", sfi: int | None = None) -> Apdu:
    """UPDATE RECORD; a cyclic EF only takes mode='previous' with rec=0 (writes the oldest record)."""
    p1, p2 = _record_p1p2(rec, mode, sfi)
    return Apdu(CLA_ISO, Ins.UPDATE_RECORD, p1, p2, _data(data, "record data"))


def search_record(pattern: bytes, rec: int = 1, forward: bool = True, sfi: int | None = None) -> Apdu:
    """SEARCH RECORD (simple search) for `pattern` from record `rec`, forward or backward."""
    _check(isinstance(rec, int) and 1 <= rec <= 254, f"record number must be 1..254, got {rec!r}")
    p2 = ((_sfi(sfi) << 3) if sfi is not None else 0) | (0x04 if forward else 0x05)
    return Apdu(CLA_ISO, Ins.SEARCH_RECORD, rec, p2, _data(pattern, "search pattern"), 256)


# ---------------------------------------------------------------------------------------------------------
# PIN commands (§11.1.9-§11.1.13)


def verify_pin(keyref: int, pin: bytes | None) -> Apdu:
    """VERIFY PIN with an 8-byte value; `pin=None` sends no data and asks the retry counter (63Cx)."""
    if pin is None:
        return Apdu(CLA_ISO, Ins.VERIFY_PIN, 0x00, _keyref(keyref))
    return Apdu(CLA_ISO, Ins.VERIFY_PIN, 0x00, _keyref(keyref), _secret(pin, "PIN"))


def change_pin(keyref: int, old_pin: bytes, new_pin: bytes) -> Apdu:
    return Apdu(
        CLA_ISO,
        Ins.CHANGE_PIN,
        0x00,
        _keyref(keyref),
        _secret(old_pin, "old PIN") + _secret(new_pin, "new PIN"),
    )


def disable_pin(keyref: int, pin: bytes, alternative_keyref: int = 0x00) -> Apdu:
    """DISABLE PIN; `alternative_keyref` (P1, e.g. UNIVERSAL_PIN) replaces the PIN instead of none."""
    return Apdu(CLA_ISO, Ins.DISABLE_PIN, _keyref(alternative_keyref), _keyref(keyref), _secret(pin, "PIN"))


def enable_pin(keyref: int, pin: bytes) -> Apdu:
    return Apdu(CLA_ISO, Ins.ENABLE_PIN, 0x00, _keyref(keyref), _secret(pin, "PIN"))


def unblock_pin(keyref: int, puk: bytes | None, new_pin: bytes | None = None) -> Apdu:
    """UNBLOCK PIN `keyref` (the PIN's reference) with its PUK; `puk=None` asks the PUK retry counter."""
    if puk is None:
        _check(new_pin is None, "a new PIN needs the PUK")
        return Apdu(CLA_ISO, Ins.UNBLOCK_PIN, 0x00, _keyref(keyref))
    if new_pin is None:
        raise ValueError("UNBLOCK PIN with a PUK needs the new PIN")
    return Apdu(
        CLA_ISO, Ins.UNBLOCK_PIN, 0x00, _keyref(keyref), _secret(puk, "PUK") + _secret(new_pin, "new PIN")
    )


# ---------------------------------------------------------------------------------------------------------
# Other ISO commands


def get_response(le: int) -> Apdu:
    """GET RESPONSE of `le` bytes (after 61xx); normally issued by `exchange`, not by callers."""
    return Apdu(CLA_ISO, Ins.GET_RESPONSE, 0x00, 0x00, b"", _le(le))


def manage_channel_open(channel: int | None = None) -> Apdu:
    """MANAGE CHANNEL open. Without `channel` the card picks one and returns its number (1 byte)."""
    if channel is None:
        return Apdu(CLA_ISO, Ins.MANAGE_CHANNEL, 0x00, 0x00, b"", 1)
    _check(isinstance(channel, int) and 1 <= channel <= 19, f"channel must be 1..19, got {channel!r}")
    return Apdu(CLA_ISO, Ins.MANAGE_CHANNEL, 0x00, channel)


def manage_channel_close(channel: int) -> Apdu:
    _check(isinstance(channel, int) and 1 <= channel <= 19, f"channel must be 1..19, got {channel!r}")
    return Apdu(CLA_ISO, Ins.MANAGE_CHANNEL, 0x80, channel)


def parse_manage_channel(data: bytes) -> int:
    """The channel number a MANAGE CHANNEL open returned."""
    if len(data) != 1 or not 1 <= data[0] <= 19:
        raise MalformedResponse(f"MANAGE CHANNEL returned {len(data)} bytes, expected one channel number")
    return data[0]


def authenticate_3g(rand: bytes, autn: bytes) -> Apdu:
    """AUTHENTICATE in 3G/EPS context (P2 81): `10 RAND 10 AUTN`, Le 00."""
    rand, autn = bytes(rand), bytes(autn)
    _check(len(rand) == 16, f"RAND must be 16 bytes, got {len(rand)}")
    _check(len(autn) == 16, f"AUTN must be 16 bytes, got {len(autn)}")
    return Apdu(CLA_ISO, Ins.AUTHENTICATE, 0x00, 0x81, b"\x10" + rand + b"\x10" + autn, 256)


def authenticate_gsm(rand: bytes) -> Apdu:
    """AUTHENTICATE in GSM context (P2 80): `10 RAND`, Le 00."""
    rand = bytes(rand)
    _check(len(rand) == 16, f"RAND must be 16 bytes, got {len(rand)}")
    return Apdu(CLA_ISO, Ins.AUTHENTICATE, 0x00, 0x80, b"\x10" + rand, 256)


# ---------------------------------------------------------------------------------------------------------
# CAT (§11.2)


def terminal_profile(profile: bytes) -> Apdu:
    return Apdu(CLA_PROPRIETARY, Ins.TERMINAL_PROFILE, 0x00, 0x00, _data(profile, "terminal profile"))


def envelope(data: bytes, le: int | None = None) -> Apdu:
    """ENVELOPE of a BER-TLV (D1 SMS-PP download, D3 menu selection, D6 event...). Case 3 unless `le`."""
    return Apdu(
        CLA_PROPRIETARY,
        Ins.ENVELOPE,
        0x00,
        0x00,
        _data(data, "ENVELOPE data"),
        None if le is None else _le(le),
    )


def fetch(le: int) -> Apdu:
    """FETCH the proactive command announced by 91xx (Le = xx)."""
    return Apdu(CLA_PROPRIETARY, Ins.FETCH, 0x00, 0x00, b"", _le(le))


def terminal_response(data: bytes) -> Apdu:
    return Apdu(CLA_PROPRIETARY, Ins.TERMINAL_RESPONSE, 0x00, 0x00, _data(data, "TERMINAL RESPONSE data"))


# ---------------------------------------------------------------------------------------------------------
# Response parsers


def parse_retry_counter(sw: int) -> int | None:
    """Tries left from the answer to a VERIFY/UNBLOCK retry query: 63Cx → x, 6983 (blocked) → 0.

    None when the SW does not tell (e.g. 9000 from a card that needs no verification now).
    """
    if sw & 0xFFF0 == 0x63C0:
        return sw & 0x0F
    if sw == 0x6983:
        return 0
    return None


def parse_search_record(data: bytes) -> list[int]:
    """Record numbers matched by SEARCH RECORD (one byte each)."""
    return list(bytes(data))


_STRUCTURES = {0x1: "transparent", 0x2: "linear_fixed", 0x3: "linear_fixed", 0x6: "cyclic", 0x7: "cyclic"}

_LIFE_CYCLE = {
    0x00: "no_information",
    0x01: "creation",
    0x03: "initialisation",
}


def life_cycle_name(lcsi: int) -> str:
    """Life-cycle status integer (ISO/IEC 7816-4 LCSI coding) in words."""
    if lcsi in _LIFE_CYCLE:
        return _LIFE_CYCLE[lcsi]
    if lcsi & 0xFC == 0x04:
        return "operational_activated" if lcsi & 0x01 else "operational_deactivated"
    if lcsi & 0xFC == 0x0C:
        return "termination"
    return "proprietary"


def _file_descriptor(value: bytes, out: dict[str, Any]) -> None:
    if not value:
        raise MalformedResponse("empty file descriptor (tag 82)")
    fdb = value[0]
    out["fdb"] = fdb
    out["shareable"] = bool(fdb & 0x40)
    if fdb & 0x3F == 0x38:
        structure = "df"
    elif fdb & 0x3F == 0x39:
        structure = "ber_tlv"
    elif fdb & 0x80:
        structure = "unknown"
    else:
        structure = _STRUCTURES.get(fdb & 0x07, "unknown")
    out["structure"] = structure
    if len(value) >= 2:
        out["data_coding"] = value[1]
    rest = value[2:]
    if rest:
        if len(rest) == 2:  # 1-byte record length, 1-byte count
            out["record_length"], out["record_count"] = rest[0], rest[1]
        elif len(rest) == 3:  # TS 102 221: 2-byte record length, 1-byte count
            out["record_length"], out["record_count"] = int.from_bytes(rest[:2], "big"), rest[2]
        elif len(rest) == 4:
            out["record_length"] = int.from_bytes(rest[:2], "big")
            out["record_count"] = int.from_bytes(rest[2:], "big")
        elif len(rest) == 1:
            out["record_length"] = rest[0]
        else:
            raise MalformedResponse(f"file descriptor of {len(value)} bytes")


def _pin_status(value: bytes) -> list[dict[str, Any]]:
    bitmap = b""
    refs: list[int] = []
    for tag, v in iter_tlv(value, stop_at_padding=False):
        if tag == 0x90:
            bitmap = v
        elif tag == 0x83:
            if len(v) != 1:
                raise MalformedResponse("key reference in the PIN status template must be 1 byte")
            refs.append(v[0])
    out = []
    for i, ref in enumerate(refs):
        byte = bitmap[i // 8] if i // 8 < len(bitmap) else 0
        out.append({"keyref": ref, "enabled": bool(byte & (0x80 >> (i % 8)))})
    return out


def parse_fcp(data: bytes) -> dict[str, Any]:
    """Decode an FCP template (`62 L ...`, SELECT P2=04 or STATUS) into a dict.

    Every key is always present (None / [] / {} when the card did not say):
    fdb, shareable, structure ('transparent'|'linear_fixed'|'cyclic'|'df'|'ber_tlv'|'unknown'),
    data_coding, record_length, record_count, file_id, aid (bytes), life_cycle (int), life_cycle_status,
    arr_fid + arr_record (8B, referenced form), arr_se_records ([(SE id, record)] for the SE form of 8B),
    compact_security (8C raw), expanded_security (AB raw), file_size (80), total_size (81),
    sfi (88: its value, None for `88 00`; absent → low 5 bits of the FID for an EF), pin_status (C6 →
    [{keyref, enabled}]), proprietary (A5 raw), uicc_characteristics (A5/80), available_memory (A5/83),
    other ({tag: raw} for tags not listed).
    """
    data = bytes(data)
    out: dict[str, Any] = {
        "fdb": None,
        "shareable": False,
        "structure": None,
        "data_coding": None,
        "record_length": None,
        "record_count": None,
        "file_id": None,
        "aid": None,
        "life_cycle": None,
        "life_cycle_status": None,
        "arr_fid": None,
        "arr_record": None,
        "arr_se_records": [],
        "compact_security": None,
        "expanded_security": None,
        "file_size": None,
        "total_size": None,
        "sfi": None,
        "pin_status": [],
        "proprietary": None,
        "uicc_characteristics": None,
        "available_memory": None,
        "other": {},
    }
    try:
        outer = list(iter_tlv(data))
        if len(outer) != 1 or outer[0][0] != 0x62:
            raise MalformedResponse("FCP must be a single template with tag 62")
        sfi_tag: bytes | None = None
        for tag, value in iter_tlv(outer[0][1], stop_at_padding=False):
            if tag == 0x82:
                _file_descriptor(value, out)
            elif tag == 0x83:
                if len(value) != 2:
                    raise MalformedResponse("file ID (tag 83) must be 2 bytes")
                out["file_id"] = int.from_bytes(value, "big")
            elif tag == 0x84:
                out["aid"] = value
            elif tag == 0x8A:
                if len(value) != 1:
                    raise MalformedResponse("life-cycle status (tag 8A) must be 1 byte")
                out["life_cycle"] = value[0]
                out["life_cycle_status"] = life_cycle_name(value[0])
            elif tag == 0x8B:
                if len(value) == 1:
                    out["arr_record"] = value[0]
                elif len(value) == 3:
                    out["arr_fid"] = int.from_bytes(value[:2], "big")
                    out["arr_record"] = value[2]
                elif len(value) >= 4 and len(value) % 2 == 0:
                    out["arr_fid"] = int.from_bytes(value[:2], "big")
                    out["arr_se_records"] = [(value[i], value[i + 1]) for i in range(2, len(value), 2)]
                else:
                    raise MalformedResponse(f"security attributes (tag 8B) of {len(value)} bytes")
            elif tag == 0x8C:
                out["compact_security"] = value
            elif tag == 0xAB:
                out["expanded_security"] = value
            elif tag == 0x80:
                out["file_size"] = int.from_bytes(value, "big")
            elif tag == 0x81:
                out["total_size"] = int.from_bytes(value, "big")
            elif tag == 0x88:
                sfi_tag = value
            elif tag == 0xC6:
                out["pin_status"] = _pin_status(value)
            elif tag == 0xA5:
                out["proprietary"] = value
                for ptag, pvalue in iter_tlv(value, stop_at_padding=False):
                    if ptag == 0x80 and len(pvalue) == 1:
                        out["uicc_characteristics"] = pvalue[0]
                    elif ptag == 0x83:
                        out["available_memory"] = int.from_bytes(pvalue, "big")
            else:
                out["other"][tag] = value
    except TlvError as e:
        raise MalformedResponse(f"FCP is not valid BER-TLV: {e}") from None
    if sfi_tag is not None:
        if len(sfi_tag) > 1:
            raise MalformedResponse("SFI (tag 88) must be 0 or 1 byte")
        out["sfi"] = ((sfi_tag[0] >> 3) or None) if sfi_tag else None
    elif out["structure"] not in (None, "df") and out["file_id"] is not None:
        out["sfi"] = out["file_id"] & 0x1F or None
    return out


def _lv(data: bytes, i: int, what: str) -> tuple[bytes, int]:
    if i >= len(data) or i + 1 + data[i] > len(data):
        raise MalformedResponse(f"AUTHENTICATE response: truncated {what}")
    return data[i + 1 : i + 1 + data[i]], i + 1 + data[i]


def parse_auth_response(data: bytes) -> dict[str, Any]:
    """Decode an AUTHENTICATE response (TS 31.102 §7.1.2).

    Returns {'context': '3g'|'gsm', 'result': 'success'|'sync_failure', 'res', 'ck', 'ik', 'kc', 'auts',
    'sres'}; fields the response does not carry are None. A MAC failure is SW 9862, not data.
    """
    data = bytes(data)
    out: dict[str, Any] = dict.fromkeys(("res", "ck", "ik", "kc", "auts", "sres"))
    if not data:
        raise MalformedResponse("AUTHENTICATE response is empty")
    tag = data[0]
    if tag == 0xDB:
        out.update(context="3g", result="success")
        i = 1
        for name in ("res", "ck", "ik"):
            out[name], i = _lv(data, i, name.upper())
        if i < len(data):
            out["kc"], i = _lv(data, i, "Kc")
            if len(out["kc"]) != 8:
                raise MalformedResponse("AUTHENTICATE response: Kc must be 8 bytes")
        if not 4 <= len(out["res"]) <= 16 or len(out["ck"]) != 16 or len(out["ik"]) != 16:
            raise MalformedResponse("AUTHENTICATE response: RES 4..16, CK and IK 16 bytes expected")
    elif tag == 0xDC:
        out.update(context="3g", result="sync_failure")
        out["auts"], i = _lv(data, 1, "AUTS")
        if len(out["auts"]) != 14:
            raise MalformedResponse("AUTHENTICATE response: AUTS must be 14 bytes")
    elif tag == 0x04:
        out.update(context="gsm", result="success")
        out["sres"], i = _lv(data, 0, "SRES")
        out["kc"], i = _lv(data, i, "Kc")
        if len(out["kc"]) != 8:
            raise MalformedResponse("AUTHENTICATE response: Kc must be 8 bytes")
    else:
        raise MalformedResponse(f"AUTHENTICATE response starts with {tag:02X}, expected DB, DC or 04")
    if i != len(data):
        raise MalformedResponse(f"AUTHENTICATE response has {len(data) - i} trailing bytes")
    return out

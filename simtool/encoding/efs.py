"""The coding of every elementary file simtool writes or reads, each with its spec vectors beside it.

Sources: TS 102 221 §13 (MF files), TS 31.102 §4.2 (ADF.USIM), TS 51.011 §10 (DF.GSM), and our own
proprietary files (`applet_spec/files.md`). Values decode to plain dicts and lists with readable
names; `Codec.encode` pads to the size the card model gives.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from construct import Adapter, Bytes, GreedyBytes

from simtool.encoding import tlv as T
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.services import EST_BY_NAME, EST_SERVICES, UST_BY_NAME, UST_SERVICES
from simtool.encoding.types import (
    Chunked,
    EncodeError,
    Imsi,
    Plmn,
    SwappedBcd,
    alpha_decode,
    alpha_encode,
    bcd_swapped_decode,
    bcd_swapped_encode,
    plmn_decode,
    plmn_encode,
)


class Fn(Adapter):
    """A construct adapter from a pair of functions: for codings that are easier said in Python."""

    def __init__(self, decode: Any, encode: Any, subcon: Any = GreedyBytes):
        super().__init__(subcon)
        self.dec = decode
        self.enc = encode

    def _decode(self, obj: bytes, context: Any, path: str) -> Any:
        return self.dec(bytes(obj))

    def _encode(self, obj: Any, context: Any, path: str) -> bytes:
        size = getattr(getattr(context, "_params", None), "size", None)
        try:
            return self.enc(obj, size) if _wants_size(self.enc) else self.enc(obj)
        except (KeyError, TypeError) as e:
            raise EncodeError(f"bad value: {e}") from None


def _wants_size(fn: Any) -> bool:
    return fn.__code__.co_argcount >= 2


def _u(data: bytes) -> int:
    return int.from_bytes(data, "big")


# --- MF ------------------------------------------------------------------------------------------

ICCID = Codec(
    "EF.ICCID",
    SwappedBcd(GreedyBytes, 10),
    vectors=(
        Vector("98881201000040764 3F3", "8988211000000467343", "specfacts §3.3, TS 102 221 §13.2"),
        Vector("98101430121181157002", "89014103211118510720", "specfacts §3.3"),
    ),
)


def _dir_decode(data: bytes) -> dict[str, Any]:
    tpl = T.first(T.parse_tlv(data), 0x61)
    if tpl is None:
        raise ValueError("no application template (tag 61)")
    inner = T.parse_tlv(tpl, stop_at_padding=False)
    out: dict[str, Any] = {"aid": (T.first(inner, 0x4F) or b"").hex()}
    label = T.first(inner, 0x50)
    if label is not None:
        out["label"] = label.decode("utf-8", errors="replace")
    disc = T.first(inner, 0x73)
    if disc is not None:
        out["discretionary"] = disc.hex()
    return out


def _dir_encode(v: dict[str, Any]) -> bytes:
    items = [(0x4F, bytes.fromhex(v["aid"]))]
    if "label" in v:
        items.append((0x50, v["label"].encode("utf-8")))
    if "discretionary" in v:
        items.append((0x73, bytes.fromhex(v["discretionary"])))
    return T.tlv(0x61, T.build_tlv(items))


DIR_RECORD = Codec(
    "EF.DIR record",
    Fn(_dir_decode, _dir_encode),
    empty_is_filler=True,
    vectors=(
        Vector(
            "6129 4F10A0000000871002FFFFFFFF8907090000 50055553696D31 730EA00C80011781025F608203454150",
            {
                "aid": "a0000000871002ffffffff8907090000",
                "label": "USim1",
                "discretionary": "a00c80011781025f608203454150",
            },
            "specfacts §3.1 (pySim test record)",
        ),
        Vector("61184F10A0000000871002FFFFFFFF8907090000 50045553494D FFFF",
               {"aid": "a0000000871002ffffffff8907090000", "label": "USIM"}, "our emulator's record"),
    ),
)


def _lang_decode(data: bytes) -> list[str]:
    out = []
    for i in range(0, len(data) - 1, 2):
        chunk = data[i : i + 2]
        if chunk == b"\xff\xff":
            continue
        out.append(chunk.decode("gsm03.38"))
    return out


def _lang_encode(v: list[str]) -> bytes:
    out = b""
    for code in v:
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise EncodeError(f"language must be a 2-letter ISO 639 code, got {code!r}")
        out += code.encode("gsm03.38")
    return out


LANGUAGES = Codec(
    "EF.LI / EF.PL",
    Fn(_lang_decode, _lang_encode),
    vectors=(Vector("656EFFFF", ["en"], "specfacts §3.2 EF.LI"), Vector("7A68656E", ["zh", "en"])),
)

# --- EF.ARR access rules (TS 102 221 §9.2.4, ISO/IEC 7816-4 expanded format) -------------------

KEYREF_NAMES = {0x01: "pin1", 0x81: "pin2", 0x0A: "adm1", 0x11: "universal_pin"}
KEYREF_BY_NAME = {v: k for k, v in KEYREF_NAMES.items()}
AM_BITS = {"read": 0x01, "update": 0x02, "write": 0x04, "deactivate": 0x08, "activate": 0x10,
           "terminate": 0x20, "delete": 0x40}


def _sc_decode(tag: int, value: bytes) -> list[str]:
    if tag == 0x90:
        return ["always"]
    if tag == 0x97:
        return ["never"]
    if tag == 0xA4:
        ref = T.first(T.parse_tlv(value, stop_at_padding=False), 0x83)
        if ref is None or len(ref) != 1:
            raise ValueError("user-authentication template without key reference")
        return [KEYREF_NAMES.get(ref[0], f"keyref_{ref[0]:02x}")]
    if tag == 0xA0:  # OR template: any of the conditions inside
        conds: list[str] = []
        for t, v in T.parse_tlv(value, stop_at_padding=False):
            conds += _sc_decode(t, v)
        return conds
    raise ValueError(f"unsupported security condition tag {tag:02X}")


def _sc_encode(conds: list[str]) -> bytes:
    if conds == ["always"]:
        return T.tlv(0x90, b"")
    if conds == ["never"]:
        return T.tlv(0x97, b"")
    parts = []
    for c in conds:
        if c not in KEYREF_BY_NAME:
            raise EncodeError(f"unknown access condition {c!r}")
        parts.append(T.tlv(0xA4, T.tlv(0x83, bytes([KEYREF_BY_NAME[c]])) + T.tlv(0x95, b"\x08")))
    return parts[0] if len(parts) == 1 else T.tlv(0xA0, b"".join(parts))


def _arr_decode(data: bytes) -> dict[str, list[str]]:
    items = T.parse_tlv(data)
    if not items or len(items) % 2:
        raise ValueError("access rules come as (access mode, security condition) pairs")
    out: dict[str, list[str]] = {}
    for i in range(0, len(items) - 1, 2):
        (am_tag, am), (sc_tag, sc) = items[i], items[i + 1]
        if am_tag != 0x80 or len(am) != 1:
            raise ValueError("access-mode data object expected")
        if not any(am[0] & bit for bit in AM_BITS.values()):  # 00, or only bits this coding does not use
            raise ValueError("access mode byte grants no operation")
        conds = _sc_decode(sc_tag, sc)
        for op, bit in AM_BITS.items():
            if am[0] & bit:
                out[op] = conds
    return out


def _arr_encode(rule: dict[str, list[str]]) -> bytes:
    groups: dict[tuple[str, ...], int] = {}
    for op, conds in rule.items():
        if op not in AM_BITS:
            raise EncodeError(f"unknown access mode {op!r}")
        groups[tuple(conds)] = groups.get(tuple(conds), 0) | AM_BITS[op]
    return b"".join(T.tlv(0x80, bytes([am])) + _sc_encode(list(c)) for c, am in groups.items())


ARR_RECORD = Codec(
    "EF.ARR record",
    Fn(_arr_decode, _arr_encode),
    empty_is_filler=True,
    vectors=(
        Vector("8001019000 800102A406830101950108",
               {"read": ["always"], "update": ["pin1"]}, "TS 102 221 expanded format"),
        Vector("800101A010A406830101950108A40683010A950108 800102A40683010A950108",
               {"read": ["pin1", "adm1"], "update": ["adm1"]}, "our 'any of' rule"),
    ),
)

# --- ADF.USIM ------------------------------------------------------------------------------------

IMSI = Codec(
    "EF.IMSI",
    Imsi(GreedyBytes),
    empty_is_filler=True,
    vectors=(
        Vector("080910101032547698", "001010123456789", "TS 31.102 §4.2.2 worked example"),
        Vector("08011010103254 76F8", "00101012345678", "specfacts §3.3, 14 digits"),
        Vector("082982608200002080", "228062800000208", "pySim vector"),
        Vector("082926101160845740", "262011106487504", "pySim vector"),
    ),
)

UE_MODES = {0x00: "normal", 0x80: "type_approval", 0x01: "normal_specific",
            0x81: "type_approval_specific", 0x02: "maintenance", 0x04: "cell_test"}
UE_MODES_BY_NAME = {v: k for k, v in UE_MODES.items()}


def _ad_decode(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ue_operation_mode": UE_MODES.get(data[0], f"0x{data[0]:02x}"),
        "ciphering_indicator": bool(data[2] & 0x01),
    }
    if len(data) > 3:
        out["mnc_length"] = data[3] & 0x0F
    return out


def _ad_encode(v: dict[str, Any]) -> bytes:
    mode = UE_MODES_BY_NAME[v.get("ue_operation_mode", "normal")]
    mnc_len = int(v["mnc_length"])
    if mnc_len not in (2, 3):
        raise EncodeError("mnc_length must be 2 or 3")
    return bytes([mode, 0x00, 0x01 if v.get("ciphering_indicator") else 0x00, mnc_len])


AD = Codec(
    "EF.AD",
    Fn(_ad_decode, _ad_encode),
    vectors=(
        Vector("00000002", {"ue_operation_mode": "normal", "ciphering_indicator": False, "mnc_length": 2},
               "specfacts §3.3"),
        Vector("00000003", {"ue_operation_mode": "normal", "ciphering_indicator": False, "mnc_length": 3}),
        Vector("01000102", {"ue_operation_mode": "normal_specific", "ciphering_indicator": True,
                            "mnc_length": 2}, "pySim vector"),
    ),
)


def _spn_decode(data: bytes) -> dict[str, Any]:
    return {
        "show_in_hplmn": bool(data[0] & 0x01),
        "hide_in_oplmn": bool(data[0] & 0x02),
        "name": alpha_decode(data[1:]),
    }


def _spn_encode(v: dict[str, Any], size: int | None) -> bytes:
    cond = (0x01 if v.get("show_in_hplmn") else 0) | (0x02 if v.get("hide_in_oplmn") else 0)
    return bytes([cond]) + alpha_encode(v["name"], (size or 17) - 1)


SPN = Codec(
    "EF.SPN",
    Fn(_spn_decode, _spn_encode),
    vectors=(
        Vector("0147534D2D52204348FFFFFFFFFFFFFFFF",
               {"show_in_hplmn": True, "hide_in_oplmn": False, "name": "GSM-R CH"}, "pySim vector"),
        Vector("0054657374FFFFFFFFFFFFFFFFFFFFFFFF",
               {"show_in_hplmn": False, "hide_in_oplmn": False, "name": "Test"}, "specfacts §3.3"),
        Vector("02804E2D56FDFFFFFFFFFFFFFFFFFFFFFF",
               {"show_in_hplmn": False, "hide_in_oplmn": True, "name": "中国"}, "UCS2 0x80 form"),
    ),
)


def _acc_decode(data: bytes) -> list[int]:
    bits = _u(data[:2])
    return [n for n in range(16) if bits & (1 << n)]


def _acc_encode(classes: list[int]) -> bytes:
    bits = 0
    for n in classes:
        if not 0 <= int(n) <= 15:
            raise EncodeError(f"access class {n} out of range 0..15")
        bits |= 1 << int(n)
    return bits.to_bytes(2, "big")


ACC = Codec(
    "EF.ACC",
    Fn(_acc_decode, _acc_encode),
    vectors=(Vector("0200", [9], "specfacts §3.3 (IMSI …9)"), Vector("0001", [0]), Vector("0080", [7])),
)


def _service_table(table: dict[int, str], by_name: dict[str, int], label: str) -> Fn:
    def dec(data: bytes) -> list[str]:
        out = []
        for i, b in enumerate(data):
            for bit in range(8):
                if b & (1 << bit):
                    n = i * 8 + bit + 1
                    out.append(table.get(n, f"service_{n}"))
        return out

    def enc(names: list[str]) -> bytes:
        nums = []
        for name in names:
            if isinstance(name, int):
                nums.append(name)
            elif name in by_name:
                nums.append(by_name[name])
            elif name.startswith("service_") and name[8:].isdigit():
                nums.append(int(name[8:]))
            else:
                raise EncodeError(f"unknown {label} service {name!r}")
        out = bytearray((max(nums) + 7) // 8 if nums else 1)
        for n in nums:
            out[(n - 1) // 8] |= 1 << ((n - 1) % 8)
        return bytes(out)

    return Fn(dec, enc)


UST = Codec(
    "EF.UST",
    _service_table(UST_SERVICES, UST_BY_NAME, "UST"),
    filler=b"\x00",
    vectors=(Vector("02001C04", ["fdn", "spn", "user_plmn_wact", "msisdn", "gsm_access"], "specfacts §3.3"),),
)

EST = Codec(
    "EF.EST",
    _service_table(EST_SERVICES, EST_BY_NAME, "EST"),
    filler=b"\x00",
    vectors=(Vector("04", ["acl"], "TS 31.102 §4.2.47: service 3 = ACL"), Vector("00", [])),
)


def apn_encode(apn: str) -> bytes:
    """APN as DNS labels, each preceded by its length (TS 23.003 §9.1)."""
    if apn == "":
        return b""
    out = b""
    for label in apn.split("."):
        if not 1 <= len(label) <= 63:
            raise EncodeError(f"APN label {label!r} must be 1..63 characters")
        out += bytes([len(label)]) + label.encode("ascii")
    return out


def apn_decode(data: bytes) -> str:
    labels, i = [], 0
    while i < len(data):
        n = data[i]
        labels.append(data[i + 1 : i + 1 + n].decode("ascii", errors="replace"))
        i += 1 + n
    return ".".join(labels)


def _acl_decode(data: bytes) -> list[str]:
    if not data or data[0] == 0xFF:
        return []
    return [apn_decode(v) for t, v in T.parse_tlv(data[1:]) if t == 0xDD][: data[0]]


def _acl_encode(apns: list[str]) -> bytes:
    return bytes([len(apns)]) + b"".join(T.tlv(0xDD, apn_encode(a)) for a in apns)


ACL = Codec(
    "EF.ACL",
    Fn(_acl_decode, _acl_encode),
    vectors=(
        Vector("03DD0908696E7465726E6574DD1003696D73076578616D706C6503636F6DDD00FFFF",
               ["internet", "ims.example.com", ""], "specfacts §3.3 (\"\" = network-provided APN)"),
    ),
)

# Access technology bits (TS 31.102 §4.2.5), byte 4 then byte 5.
ACT_BITS = {
    "utran": 0x8000, "eutran": 0x4000, "eutran_wb": 0x2000, "eutran_nb": 0x1000, "ngran": 0x0800,
    "gsm": 0x0080, "gsm_compact": 0x0040, "cdma2000_hrpd": 0x0020, "cdma2000_1xrtt": 0x0010,
    "ec_gsm_iot": 0x0008, "gsm_without_ec_gsm_iot": 0x0004,
}


def _plmn_act_decode(data: bytes) -> dict[str, Any]:
    plmn = plmn_decode(data[:3]) or {"mcc": "", "mnc": ""}
    bits = _u(data[3:5])
    return {**plmn, "act": [name for name, bit in ACT_BITS.items() if bits & bit]}


def _plmn_act_encode(v: dict[str, Any]) -> bytes:
    bits = 0
    for name in v.get("act", []):
        if name not in ACT_BITS:
            raise EncodeError(f"unknown access technology {name!r}")
        bits |= ACT_BITS[name]
    return plmn_encode({"mcc": v["mcc"], "mnc": v["mnc"]}) + bits.to_bytes(2, "big")


_PLMN_ACT_ENTRY = Fn(_plmn_act_decode, _plmn_act_encode)
PLMN_ACT_UNUSED = bytes.fromhex("FFFFFF0000")


def _plmn_act_list(name: str, vectors: tuple[Vector, ...] = ()) -> Codec:
    return Codec(name, Chunked(_PLMN_ACT_ENTRY, 5, PLMN_ACT_UNUSED), filler=PLMN_ACT_UNUSED, vectors=vectors)


PLMN_ACT_VECTORS = (
    Vector("00F110C080 FFFFFF0000", [{"mcc": "001", "mnc": "01", "act": ["utran", "eutran", "gsm"]}],
           "specfacts §3.3"),
    Vector("62F220488C", [{"mcc": "262", "mnc": "02",
                           "act": ["eutran", "ngran", "gsm", "ec_gsm_iot", "gsm_without_ec_gsm_iot"]}],
           "pySim vector"),
    Vector("1300144800 00F1100080", [{"mcc": "310", "mnc": "410", "act": ["eutran", "ngran"]},
                                      {"mcc": "001", "mnc": "01", "act": ["gsm"]}], "3-digit MNC"),
)
PLMNWACT = _plmn_act_list("EF.PLMNwAcT", PLMN_ACT_VECTORS)
OPLMNWACT = _plmn_act_list("EF.OPLMNwACT", PLMN_ACT_VECTORS)
HPLMNWACT = _plmn_act_list("EF.HPLMNwAcT", PLMN_ACT_VECTORS)


def _plmn_list(name: str, vectors: tuple[Vector, ...]) -> Codec:
    return Codec(name, Chunked(Plmn(Bytes(3)), 3, b"\xff\xff\xff"), vectors=vectors)


FPLMN = _plmn_list("EF.FPLMN", (
    Vector("42F618FFFFFFFFFFFFFFFFFF", [{"mcc": "246", "mnc": "81"}], "TS 31.102 example (specfacts §3.3)"),
    Vector("00F11000110022F860", [{"mcc": "001", "mnc": "01"}, {"mcc": "001", "mnc": "001"},
                                  {"mcc": "228", "mnc": "06"}], "specfacts §3.3 PLMN examples"),
))
EHPLMN = _plmn_list("EF.EHPLMN", (Vector("130014 330420", [{"mcc": "310", "mnc": "410"},
                                                            {"mcc": "334", "mnc": "020"}], "specfacts §3.3"),))


def _hpplmn_decode(data: bytes) -> int:
    return data[0] * 6


def _hpplmn_encode(minutes: int) -> bytes:
    if minutes % 6 or not 0 <= minutes <= 255 * 6:
        raise EncodeError(f"search period must be a multiple of 6 minutes (0..1530), got {minutes}")
    return bytes([minutes // 6])


HPPLMN = Codec(
    "EF.HPPLMN",
    Fn(_hpplmn_decode, _hpplmn_encode),
    vectors=(Vector("0A", 60, "TS 31.102 §4.2.6: value × 6 min"), Vector("00", 0)),
)

_LU_STATUS = {0: "updated", 1: "not_updated", 2: "plmn_not_allowed", 3: "la_not_allowed"}
_RAU_STATUS = {0: "updated", 1: "not_updated", 2: "plmn_not_allowed", 3: "ra_not_allowed"}
_EPS_STATUS = {0: "updated", 1: "not_updated", 2: "roaming_not_allowed"}


def _status(table: dict[int, str], b: int) -> str:
    return table.get(b, f"0x{b:02x}")


def _status_byte(table: dict[int, str], name: str) -> int:
    for k, v in table.items():
        if v == name:
            return k
    raise EncodeError(f"unknown update status {name!r}")


def _loci_decode(data: bytes) -> dict[str, Any]:
    return {"tmsi": data[0:4].hex(), "plmn": plmn_decode(data[4:7]), "lac": data[7:9].hex(),
            "status": _status(_LU_STATUS, data[10])}


def _loci_encode(v: dict[str, Any]) -> bytes:
    return (bytes.fromhex(v["tmsi"]) + plmn_encode(v["plmn"]) + bytes.fromhex(v["lac"]) + b"\xff"
            + bytes([_status_byte(_LU_STATUS, v["status"])]))


LOCI = Codec(
    "EF.LOCI",
    Fn(_loci_decode, _loci_encode),
    vectors=(
        Vector("FFFFFFFF FFFFFF 0000 FF 01",
               {"tmsi": "ffffffff", "plmn": None, "lac": "0000", "status": "not_updated"},
               "TS 31.102 §4.2.17, blank card"),
        Vector("12345678 02F480 1A2B FF 00",
               {"tmsi": "12345678", "plmn": {"mcc": "204", "mnc": "08"}, "lac": "1a2b", "status": "updated"}),
    ),
)


def _psloci_decode(data: bytes) -> dict[str, Any]:
    return {"ptmsi": data[0:4].hex(), "ptmsi_signature": data[4:7].hex(), "plmn": plmn_decode(data[7:10]),
            "lac": data[10:12].hex(), "rac": data[12], "status": _status(_RAU_STATUS, data[13])}


def _psloci_encode(v: dict[str, Any]) -> bytes:
    return (bytes.fromhex(v["ptmsi"]) + bytes.fromhex(v["ptmsi_signature"]) + plmn_encode(v["plmn"])
            + bytes.fromhex(v["lac"]) + bytes([v["rac"], _status_byte(_RAU_STATUS, v["status"])]))


PSLOCI = Codec(
    "EF.PSLOCI",
    Fn(_psloci_decode, _psloci_encode),
    vectors=(
        Vector("FFFFFFFF FFFFFF FFFFFF 0000 FF 01",
               {"ptmsi": "ffffffff", "ptmsi_signature": "ffffff", "plmn": None, "lac": "0000", "rac": 255,
                "status": "not_updated"}, "TS 31.102 §4.2.23, blank card"),
    ),
)


def _epsloci_decode(data: bytes) -> dict[str, Any]:
    return {"guti": data[0:12].hex(), "tai_plmn": plmn_decode(data[12:15]), "tac": data[15:17].hex(),
            "status": _status(_EPS_STATUS, data[17])}


def _epsloci_encode(v: dict[str, Any]) -> bytes:
    guti = bytes.fromhex(v["guti"])
    if len(guti) != 12:
        raise EncodeError("GUTI must be 12 bytes")
    return (guti + plmn_encode(v["tai_plmn"]) + bytes.fromhex(v["tac"])
            + bytes([_status_byte(_EPS_STATUS, v["status"])]))


EPSLOCI = Codec(
    "EF.EPSLOCI",
    Fn(_epsloci_decode, _epsloci_encode),
    vectors=(
        Vector("FF" * 12 + "FFFFFF 0000 01",
               {"guti": "ff" * 12, "tai_plmn": None, "tac": "0000", "status": "not_updated"},
               "TS 31.102 §4.2.91, blank card"),
    ),
)


def _keys_decode(data: bytes) -> dict[str, Any]:
    return {"ksi": data[0] & 0x07, "ck": data[1:17].hex(), "ik": data[17:33].hex()}


def _keys_encode(v: dict[str, Any]) -> bytes:
    ck, ik = bytes.fromhex(v["ck"]), bytes.fromhex(v["ik"])
    if len(ck) != 16 or len(ik) != 16:
        raise EncodeError("CK and IK must be 16 bytes")
    return bytes([int(v["ksi"]) & 0x07]) + ck + ik


KEYS = Codec(
    "EF.KEYS / EF.KEYSPS",
    Fn(_keys_decode, _keys_encode),
    vectors=(Vector("07" + "FF" * 32, {"ksi": 7, "ck": "ff" * 16, "ik": "ff" * 16},
                    "TS 31.102 §4.2.9: initial value, KSI 7 = no key"),),
)

# --- dialling numbers: MSISDN, SMSP addresses -----------------------------------------------------


def number_decode(ton_npi: int, bcd: bytes) -> str:
    digits = bcd_swapped_decode(bcd)
    return ("+" if (ton_npi & 0x70) == 0x10 else "") + digits


def number_encode(number: str) -> tuple[int, bytes]:
    intl = number.startswith("+")
    digits = number[1:] if intl else number
    if not digits or len(digits) > 20:
        raise EncodeError(f"number must have 1..20 digits, got {len(digits)}")
    return (0x91 if intl else 0x81), bcd_swapped_encode(digits)


def _msisdn_decode(data: bytes) -> dict[str, Any] | None:
    x = len(data) - 14
    alpha, tail = data[:x], data[x:]
    if tail[0] in (0x00, 0xFF):
        return None
    n = tail[0]
    out = {"alpha": alpha_decode(alpha), "number": number_decode(tail[1], tail[2 : 1 + n])}
    if tail[1] not in (0x81, 0x91):
        out["ton_npi"] = tail[1]
    return out


def _msisdn_encode(v: dict[str, Any], size: int | None) -> bytes:
    x = (size or 14) - 14
    ton, bcd = number_encode(v["number"])
    ton = int(v.get("ton_npi", ton))
    if len(bcd) > 10:
        raise EncodeError("number longer than 20 digits")
    body = bytes([len(bcd) + 1, ton]) + bcd + b"\xff" * (10 - len(bcd)) + b"\xff\xff"
    return alpha_encode(v.get("alpha", ""), x) + body


MSISDN_RECORD = Codec(
    "EF.MSISDN record",
    Fn(_msisdn_decode, _msisdn_encode),
    empty_is_filler=True,
    vectors=(
        Vector("0891947172199181F3FFFFFFFFFF", {"alpha": "", "number": "+4917279119183"}, "specfacts §3.3"),
        Vector("4D79206E756D626572FFFFFF 04B12143F5FFFFFFFFFFFFFFFFFF",
               {"alpha": "My number", "number": "12345", "ton_npi": 0xB1}, "pySim-style vector, TON/NPI B1"),
    ),
)


def _address_decode(field: bytes, digits_len: bool) -> str | None:
    if field[0] in (0x00, 0xFF):
        return None
    n = field[0]
    nbytes = (n + 1) // 2 if digits_len else n - 1
    return number_decode(field[1], field[2 : 2 + nbytes])


def _address_encode(number: str | None, digits_len: bool) -> bytes:
    if number is None:
        return b"\xff" * 12
    ton, bcd = number_encode(number)
    if len(bcd) > 10:
        raise EncodeError("address longer than 20 digits")
    ndigits = len(number.lstrip("+"))
    return bytes([ndigits if digits_len else len(bcd) + 1, ton]) + bcd + b"\xff" * (10 - len(bcd))


def _smsp_decode(data: bytes) -> dict[str, Any] | None:
    y = len(data) - 28
    alpha, p = data[:y], data[y:]
    ind = p[0]
    if ind & 0x1F == 0x1F and not alpha_decode(alpha):
        return None  # no parameter present: an unused record
    out = {
        "alpha": alpha_decode(alpha),
        "tp_destination": None if ind & 0x01 else _address_decode(p[1:13], digits_len=True),
        "sc_address": None if ind & 0x02 else _address_decode(p[13:25], digits_len=False),
        "pid": None if ind & 0x04 else p[25],
        "dcs": None if ind & 0x08 else p[26],
        "validity": None if ind & 0x10 else p[27],
    }
    if not out["alpha"] and all(v is None for k, v in out.items() if k != "alpha"):
        return None  # parameters marked present but all empty: as unused a record as all-FF (found by fuzzing)
    return out


def _smsp_encode(v: dict[str, Any], size: int | None) -> bytes:
    y = (size or 28) - 28
    ind = 0xE0
    for bit, key in ((0x01, "tp_destination"), (0x02, "sc_address"), (0x04, "pid"), (0x08, "dcs"),
                     (0x10, "validity")):
        if v.get(key) is None:
            ind |= bit
    body = (bytes([ind]) + _address_encode(v.get("tp_destination"), True)
            + _address_encode(v.get("sc_address"), False)
            + bytes(0xFF if v.get(k) is None else int(v[k]) for k in ("pid", "dcs", "validity")))
    return alpha_encode(v.get("alpha", ""), y) + body


SMSP_RECORD = Codec(
    "EF.SMSP record",
    Fn(_smsp_decode, _smsp_encode),
    empty_is_filler=True,
    vectors=(
        Vector("E1" + "FF" * 12 + "0791947101670000FFFFFFFF 000000",
               {"alpha": "", "tp_destination": None, "sc_address": "+491710760000", "pid": 0, "dcs": 0,
                "validity": 0}, "specfacts §3.3 (pySim-prog record)"),
        Vector("534D5343 E1" + "FF" * 12 + "0891945197109099F9FFFFFF 0000A9",
               {"alpha": "SMSC", "tp_destination": None, "sc_address": "+4915790109999", "pid": 0, "dcs": 0,
                "validity": 0xA9}, "pySim vector with alpha"),
    ),
)

ECC_CATEGORIES = ("police", "ambulance", "fire_brigade", "marine_guard", "mountain_rescue", "manual_ecall",
                  "automatic_ecall")


def _ecc_decode(data: bytes) -> dict[str, Any] | None:
    if not bcd_swapped_decode(data[:3]):
        return None  # no emergency code: an unused record
    cat = data[-1]
    return {"number": bcd_swapped_decode(data[:3]), "alpha": alpha_decode(data[3:-1]),
            "categories": [c for i, c in enumerate(ECC_CATEGORIES) if cat & (1 << i)]}


def _ecc_encode(v: dict[str, Any], size: int | None) -> bytes:
    x = (size or 4) - 4
    cat = 0
    for c in v.get("categories", []):
        if c not in ECC_CATEGORIES:
            raise EncodeError(f"unknown emergency category {c!r}")
        cat |= 1 << ECC_CATEGORIES.index(c)
    if len(v["number"]) > 6:
        raise EncodeError("emergency number longer than 6 digits")
    return bcd_swapped_encode(v["number"], 3) + alpha_encode(v.get("alpha", ""), x) + bytes([cat])


ECC_RECORD = Codec(
    "EF.ECC record (USIM)",
    Fn(_ecc_decode, _ecc_encode),
    empty_is_filler=True,
    vectors=(
        Vector("19F1FF01", {"number": "911", "alpha": "", "categories": ["police"]}, "specfacts §3.3"),
        Vector("11F2FF 456D657267656E6379FFFFFF 1F",
               {"number": "112", "alpha": "Emergency",
                "categories": ["police", "ambulance", "fire_brigade", "marine_guard", "mountain_rescue"]}),
    ),
)

ECC_GSM = Codec(
    "EF.ECC (DF.GSM)",
    Chunked(SwappedBcd(Bytes(3), 3), 3, b"\xff\xff\xff"),
    vectors=(Vector("11F2FF19F1FFFFFFFF", ["112", "911"], "TS 51.011 §10.3.27"),),
)

# EF.LP (DF.GSM, TS 51.011 §10.3.2): one byte per language, CB data coding scheme (TS 23.038 §5).
CB_LANGUAGES = {"de": 0, "en": 1, "it": 2, "fr": 3, "es": 4, "nl": 5, "sv": 6, "da": 7, "pt": 8, "fi": 9,
                "no": 10, "el": 11, "tr": 12, "hu": 13, "pl": 14}
CB_BY_CODE = {v: k for k, v in CB_LANGUAGES.items()}


def _lp_decode(data: bytes) -> list[str]:
    return [CB_BY_CODE[b] for b in data if b in CB_BY_CODE]


def _lp_encode(langs: list[str]) -> bytes:
    out = bytearray()
    for lang in langs:
        if lang not in CB_LANGUAGES:
            raise EncodeError(f"language {lang!r} has no cell-broadcast code (TS 23.038)")
        out.append(CB_LANGUAGES[lang])
    return bytes(out)


LP = Codec("EF.LP (DF.GSM)", Fn(_lp_decode, _lp_encode),
           vectors=(Vector("0105FFFF", ["en", "nl"], "TS 23.038 §5 language codes"),))

# --- proprietary files: the plan DF (applet_spec/files.md) --------------------------------------

# Plan definition: BER-TLV inside a constructed tag A0 (see applet_spec/files.md).
_PLAN_TAGS = {"plan_id": 0x80, "data_limit_bytes": 0x81, "validity_days": 0x82, "amount_minor": 0x83,
              "currency": 0x84}


def _plan_decode(data: bytes) -> dict[str, Any]:
    body = T.first(T.parse_tlv(data), 0xA0)
    if body is None:
        raise ValueError("no plan template (tag A0)")
    items = T.parse_tlv(body, stop_at_padding=False)

    def get(tag: int) -> bytes:
        v = T.first(items, tag)
        if v is None:
            raise ValueError(f"plan tag {tag:02X} missing")
        return v

    names = {}
    for t, v in items:
        if t == 0xA5:
            inner = T.parse_tlv(v, stop_at_padding=False)
            names[(T.first(inner, 0x80) or b"").decode("ascii")] = alpha_decode(T.first(inner, 0x81) or b"")
    out = {
        "plan_id": get(0x80).decode("ascii"),
        "data_limit_bytes": _u(get(0x81)),
        "validity_days": _u(get(0x82)),
        "price": {"amount_minor": _u(get(0x83)), "currency": get(0x84).decode("ascii")},
        "names": names,
    }
    url = T.first(items, 0x85)  # optional: the operator's top-up page (applet_spec/files.md)
    if url is not None:
        out["topup_url"] = url.decode("ascii")
    return out


def _plan_encode(v: dict[str, Any]) -> bytes:
    items = [
        (0x80, v["plan_id"].encode("ascii")),
        (0x81, int(v["data_limit_bytes"]).to_bytes(8, "big")),
        (0x82, int(v["validity_days"]).to_bytes(2, "big")),
        (0x83, int(v["price"]["amount_minor"]).to_bytes(4, "big")),
        (0x84, v["price"]["currency"].encode("ascii")),
    ]
    for lang, name in v.get("names", {}).items():
        items.append((0xA5, T.tlv(0x80, lang.encode("ascii")) + T.tlv(0x81, alpha_encode(name))))
    if v.get("topup_url") is not None:
        items.append((0x85, v["topup_url"].encode("ascii")))
    return T.tlv(0xA0, T.build_tlv(items))


PLAN_DEFINITION = Codec(
    "EF.PLAN_DEF",
    Fn(_plan_decode, _plan_encode),
    vectors=(
        Vector(
            "A02F 800A6B70312D31672D313564 8108000000003B9ACA00 8202000F 8304000004B0 8403455552"
            " A508 8002656E 81023147",
            {"plan_id": "kp1-1g-15d", "data_limit_bytes": 1_000_000_000, "validity_days": 15,
             "price": {"amount_minor": 1200, "currency": "EUR"}, "names": {"en": "1G"}},
            "applet_spec/files.md worked example",
        ),
    ),
)

# The plan applet's state (applet_spec/files.md): balance, validity, OTA counter and OTA keys.


def _balance_decode(data: bytes) -> dict[str, int]:
    return {"remaining_bytes": _u(data[0:8]), "total_bytes": _u(data[8:16])}


def _balance_encode(v: dict[str, Any]) -> bytes:
    remaining, total = int(v["remaining_bytes"]), int(v["total_bytes"])
    if not 0 <= remaining < 2**64 or not 0 <= total < 2**64:
        raise EncodeError("byte counts must be 0 .. 2^64-1")
    return remaining.to_bytes(8, "big") + total.to_bytes(8, "big")


BALANCE = Codec(
    "EF.BALANCE",
    Fn(_balance_decode, _balance_encode),
    empty_is_filler=True,
    vectors=(
        Vector("000000002BBFF380 000000003B9ACA00", {"remaining_bytes": 734_000_000, "total_bytes": 1_000_000_000},
               "applet_spec/files.md worked example"),
    ),
)

PLAN_STATES = {0x00: "inactive", 0x01: "active", 0x02: "expired"}
PLAN_STATE_IDS = {v: k for k, v in PLAN_STATES.items()}


def plan_time_decode(utc: int, tz_quarters: int) -> str | None:
    """UTC seconds since 1970 shown as ISO 8601 in the zone `tz_quarters` (quarter hours east of UTC)."""
    if utc == 0:
        return None
    return datetime.fromtimestamp(utc, timezone(timedelta(minutes=15 * tz_quarters))).isoformat()


def plan_time_encode(text: str | None) -> tuple[int, int]:
    """ISO 8601 with a zone -> (UTC seconds, quarter hours); None -> (0, 0)."""
    if text is None:
        return 0, 0
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise EncodeError(f"not an ISO 8601 time: {text!r}") from None
    off = dt.utcoffset()
    if off is None:
        raise EncodeError(f"{text!r} has no time zone")
    quarters, rest = divmod(int(off.total_seconds()), 900)
    utc = int(dt.timestamp())
    if rest or not -64 <= quarters <= 63 or not 0 < utc < 2**32:
        raise EncodeError(f"{text!r} is out of range for the card (1970..2106, zone in quarter hours)")
    return utc, quarters


def _validity_decode(data: bytes) -> dict[str, Any]:
    state = PLAN_STATES.get(data[0])
    if state is None:
        raise ValueError(f"unknown plan state {data[0]:02X}")
    # Times show in the zone recorded with them; the expiry in the activation's (UTC before an activation).
    tz_act = int.from_bytes(data[5:6], "big", signed=True) if _u(data[1:5]) else 0
    tz_seen = int.from_bytes(data[19:20], "big", signed=True)
    return {
        "state": state,
        "activated": plan_time_decode(_u(data[1:5]), tz_act),
        "activation_plmn": plmn_decode(data[6:9]),
        "expires": plan_time_decode(_u(data[9:13]), tz_act),
        "extra_days": _u(data[13:15]),
        "last_seen": plan_time_decode(_u(data[15:19]), tz_seen),
    }


def _validity_encode(v: dict[str, Any]) -> bytes:
    if v["state"] not in PLAN_STATE_IDS:
        raise EncodeError(f"unknown plan state {v['state']!r}")
    act, tz_act = plan_time_encode(v.get("activated"))
    exp, _ = plan_time_encode(v.get("expires"))
    seen, tz_seen = plan_time_encode(v.get("last_seen"))
    extra = int(v.get("extra_days", 0))
    if not 0 <= extra <= 0xFFFF:
        raise EncodeError("extra_days must be 0..65535")
    return (bytes([PLAN_STATE_IDS[v["state"]]]) + act.to_bytes(4, "big") + tz_act.to_bytes(1, "big", signed=True)
            + plmn_encode(v.get("activation_plmn")) + exp.to_bytes(4, "big") + extra.to_bytes(2, "big")
            + seen.to_bytes(4, "big") + tz_seen.to_bytes(1, "big", signed=True))


VALIDITY = Codec(
    "EF.VALIDITY",
    Fn(_validity_decode, _validity_encode),
    empty_is_filler=True,
    vectors=(
        Vector("00 00000000 00 FFFFFF 00000000 0000 00000000 00",
               {"state": "inactive", "activated": None, "activation_plmn": None, "expires": None,
                "extra_days": 0, "last_seen": None}, "applet_spec/files.md: a personalized card"),
        Vector("01 6B07F510 04 62F210 6B1BBB90 0000 6B0E7E80 04",
               {"state": "active", "activated": "2026-11-26T10:00:00+01:00",
                "activation_plmn": {"mcc": "262", "mnc": "01"}, "expires": "2026-12-11T10:00:00+01:00",
                "extra_days": 0, "last_seen": "2026-12-01T09:00:00+01:00"},
               "applet_spec/files.md worked example"),
    ),
)

OTA_COUNTER_MAX = 2**40 - 1


def _cntr_encode(v: int) -> bytes:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= OTA_COUNTER_MAX:
        raise EncodeError("the OTA counter is 0 .. 2^40-1")
    return v.to_bytes(5, "big")


OTA_COUNTER = Codec(
    "EF.OTA_CNTR",
    Fn(_u, _cntr_encode),
    vectors=(Vector("0000000001", 1, "applet_spec/files.md"),),
)


def _ota_keys_decode(data: bytes) -> dict[str, Any] | None:
    kvn, n = data[0], data[1]
    kic = data[2 : 2 + n]
    m = data[2 + n]
    kid = data[3 + n : 3 + n + m]
    if len(kic) != n or len(kid) != m:
        raise ValueError("key lengths overrun the file")
    return {"kvn": kvn, "kic": kic.hex(), "kid": kid.hex()}


def _ota_keys_encode(v: dict[str, Any]) -> bytes:
    kic, kid, kvn = bytes.fromhex(v["kic"]), bytes.fromhex(v["kid"]), int(v["kvn"])
    if len(kic) not in (16, 24, 32) or len(kid) not in (16, 24, 32):
        raise EncodeError("KIc and KID must be AES keys of 16, 24 or 32 bytes")
    if not 1 <= kvn <= 15:
        raise EncodeError("the key version number (KVN) is 1..15")
    return bytes([kvn, len(kic)]) + kic + bytes([len(kid)]) + kid


OTA_KEYS = Codec(
    "EF.OTA_KEYS",
    Fn(_ota_keys_decode, _ota_keys_encode),
    empty_is_filler=True,
    vectors=(
        Vector("01 10 000102030405060708090A0B0C0D0E0F 10 101112131415161718191A1B1C1D1E1F FF",
               {"kvn": 1, "kic": "000102030405060708090a0b0c0d0e0f", "kid": "101112131415161718191a1b1c1d1e1f"},
               "applet_spec/files.md (the test keys of specfacts §8.2.1)"),
    ),
)

# --- proprietary files of our card model: key file and PIN file (applet_spec/files.md) ----------

ALGORITHMS = {1: "milenage", 2: "tuak", 3: "xor"}
ALGORITHM_IDS = {v: k for k, v in ALGORITHMS.items()}


def _key_decode(data: bytes) -> dict[str, Any] | None:
    if data[0] == 0xFF:
        return None
    klen = data[1]
    k = data[2 : 2 + klen]
    olen = data[2 + klen]
    opc = data[3 + klen : 3 + klen + olen]
    return {"algorithm": ALGORITHMS.get(data[0], f"0x{data[0]:02x}"), "k": k.hex(), "opc": opc.hex()}


def _key_encode(v: dict[str, Any]) -> bytes:
    k, opc = bytes.fromhex(v["k"]), bytes.fromhex(v["opc"])
    if len(k) not in (16, 32):
        raise EncodeError("K must be 16 or 32 bytes")
    if v["algorithm"] not in ALGORITHM_IDS:
        raise EncodeError(f"unknown algorithm {v['algorithm']!r}")
    return bytes([ALGORITHM_IDS[v["algorithm"]], len(k)]) + k + bytes([len(opc)]) + opc


AUTH_KEY = Codec(
    "EF.AUTH_KEY",
    Fn(_key_decode, _key_encode),
    empty_is_filler=True,
    vectors=(
        Vector("0110000102030405060708090A0B0C0D0E0F100F0E0D0C0B0A09080706050403020100FFFF",
               {"algorithm": "milenage", "k": "000102030405060708090a0b0c0d0e0f",
                "opc": "0f0e0d0c0b0a09080706050403020100"}, "applet_spec/files.md"),
    ),
)

PIN_NAMES = ("pin1", "puk1", "pin2", "puk2")


def pin_encode(pin: str) -> bytes:
    """PIN value: ASCII digits, FF padded to 8 bytes (TS 102 221 §9.5.1)."""
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        raise EncodeError("PIN/PUK must be 4..8 digits")
    return pin.encode("ascii") + b"\xff" * (8 - len(pin))


def pin_decode(data: bytes) -> str:
    return data.split(b"\xff", 1)[0].decode("ascii", errors="replace")


def _pins_decode(data: bytes) -> dict[str, Any] | None:
    out: dict[str, Any] = {n: pin_decode(data[i * 8 : i * 8 + 8]) for i, n in enumerate(PIN_NAMES)}
    out["pin1_enabled"] = bool(data[32] & 0x01)
    out["pin2_enabled"] = bool(data[32] & 0x02)
    return out


def _pins_encode(v: dict[str, Any]) -> bytes:
    flags = (0x01 if v.get("pin1_enabled") else 0) | (0x02 if v.get("pin2_enabled", True) else 0)
    return b"".join(pin_encode(v[n]) for n in PIN_NAMES) + bytes([flags])


PINS = Codec(
    "EF.PINS",
    Fn(_pins_decode, _pins_encode),
    vectors=(
        Vector("31323334FFFFFFFF 3132333435363738 30303030FFFFFFFF 3837363534333231 02",
               {"pin1": "1234", "puk1": "12345678", "pin2": "0000", "puk2": "87654321",
                "pin1_enabled": False, "pin2_enabled": True}, "applet_spec/files.md"),
    ),
)



# --- proprietary files of the sysmocom sysmoISIM-SJA2 family (DF.SYSTEM A515, ADF.USIM AF20/AF30) ------
# Facts from sysmocom's public documentation of the card as pySim decodes it (codings only; our own code).

SJA2_PIN_STATE = (("valid", 0x80), ("change_able", 0x40), ("unblock_able", 0x20), ("disable_able", 0x10),
                  ("not_initialised", 0x02), ("disabled", 0x01))


def secret_value_decode(raw: bytes, name: str) -> dict[str, str]:
    """An 8-byte PIN/PUK/ADM value: `{name: "1234"}` for ASCII digits padded with FF, else `{name_hex: ...}`
    (ADM keys are often any 8 bytes)."""
    digits = raw.rstrip(b"\xff")
    if digits and digits.isdigit():
        return {name: digits.decode("ascii")}
    return {f"{name}_hex": raw.hex()}


def secret_value_encode(v: dict[str, Any], name: str) -> bytes:
    if name in v:
        s = str(v[name])
        if not s.isdigit() or not s.isascii() or not 1 <= len(s) <= 8:
            raise EncodeError(f"{name} must be 1..8 digits")
        return s.encode("ascii") + b"\xff" * (8 - len(s))
    raw = bytes.fromhex(v[f"{name}_hex"])
    if len(raw) != 8:
        raise EncodeError(f"{name}_hex must be 8 bytes")
    return raw


def _counter(v: dict[str, Any], key: str) -> int:
    n = int(v[key])
    if not 0 <= n <= 255:
        raise EncodeError(f"{key} must be 0..255")
    return n


def _sja2_pin_decode(data: bytes) -> dict[str, Any]:
    if len(data) < 11:
        raise ValueError("a PIN file holds at least 11 bytes")
    out: dict[str, Any] = {
        "state": {name: bool(data[0] & bit) for name, bit in SJA2_PIN_STATE},
        "attempts_remaining": data[1],
        "maximum_attempts": data[2],
        **secret_value_decode(data[3:11], "pin"),
        "puk": None,
    }
    if len(data) >= 21:  # the unblocking key follows in files that have room for it (CHV1, CHV2)
        out["puk"] = {"attempts_remaining": data[11], "maximum_attempts": data[12],
                      **secret_value_decode(data[13:21], "puk")}
    return out


def _sja2_pin_encode(v: dict[str, Any]) -> bytes:
    state = 0
    for name, bit in SJA2_PIN_STATE:
        if v["state"].get(name):
            state |= bit
    out = bytes([state, _counter(v, "attempts_remaining"), _counter(v, "maximum_attempts")])
    out += secret_value_encode(v, "pin")
    puk = v.get("puk")
    if puk is not None:
        out += bytes([_counter(puk, "attempts_remaining"), _counter(puk, "maximum_attempts")])
        out += secret_value_encode(puk, "puk")
    return out


SJA2_PIN = Codec(
    "EF.CHV1 / EF.CHV2 / EF.ADM1 (sysmoISIM-SJA2)",
    Fn(_sja2_pin_decode, _sja2_pin_encode),
    vectors=(
        Vector("f1030331323334ffffffff0a0a3132333435363738",
               {"state": {"valid": True, "change_able": True, "unblock_able": True, "disable_able": True,
                          "not_initialised": False, "disabled": True},
                "attempts_remaining": 3, "maximum_attempts": 3, "pin": "1234",
                "puk": {"attempts_remaining": 10, "maximum_attempts": 10, "puk": "12345678"}},
               "sysmoISIM-SJA2 DF.SYSTEM PIN file (pySim vector): PIN1 1234 disabled, PUK 12345678"),
        Vector("f003039999999999999999",
               {"state": {"valid": True, "change_able": True, "unblock_able": True, "disable_able": True,
                          "not_initialised": False, "disabled": False},
                "attempts_remaining": 3, "maximum_attempts": 3, "pin_hex": "9999999999999999", "puk": None},
               "sysmoISIM-SJA2 PIN file without PUK (pySim vector)"),
    ),
)

# Algorithm nibble (b4..b1) of the key files' configuration byte.
SJA2_ALGORITHMS = {4: "milenage", 5: "sha1_aka", 6: "tuak", 15: "xor"}
SJA2_2G_ALGORITHMS = {1: "comp128v1", 2: "comp128v2", 3: "comp128v3", 4: "milenage", 14: "xor"}
SJA2_TUAK_MAC_BITS = {0: 64, 1: 128, 2: 256}
SJA2_TUAK_RES_BITS = {0: 32, 1: 64, 2: 128, 3: 256}


def _by_name(table: dict[int, str], name: str, what: str) -> int:
    for k, v in table.items():
        if v == name:
            return k
    if name.startswith("alg_") and name[4:].isdigit() and int(name[4:]) < 16:
        return int(name[4:])
    raise EncodeError(f"unknown {what} {name!r}")


def _size_code(table: dict[int, int], bits: Any, what: str) -> int:
    for code, value in table.items():
        if value == bits:
            return code
    raise EncodeError(f"{what} must be one of {', '.join(map(str, table.values()))}")


def _sja2_key_codec(name: str, algorithms: dict[int, str], vectors: tuple[Vector, ...]) -> Codec:
    """cfg(1: b7 only 4-byte RES in 3G, b6 SRES function 2, b5 OPc (not OP), b4..b1 algorithm) K(16) OP/OPc(16);
    TUAK (algorithm 6): cfg(1: b7 = 256-bit K) tuak-cfg(1: b7 CK/IK 256, b6..b4 MAC, b3..b1 RES) iterations(1)
    TOP/TOPc(32) K(16/32)."""

    def dec(data: bytes) -> dict[str, Any]:
        cfg = data[0]
        alg = algorithms.get(cfg & 0x0F, f"alg_{cfg & 0x0F}")
        op_key = "opc" if cfg & 0x10 else "op"
        out: dict[str, Any] = {"algorithm": alg, "sres_function": 2 if cfg & 0x20 else 1}
        if alg == "tuak":
            t = data[1]
            if (t >> 3) & 7 not in SJA2_TUAK_MAC_BITS or t & 7 not in SJA2_TUAK_RES_BITS:
                raise ValueError(f"TUAK configuration byte {t:02X} names no MAC/RES size")
            klen = 32 if cfg & 0x40 else 16
            if len(data) < 35 + klen:
                raise ValueError(f"a TUAK key needs {35 + klen} bytes")
            out.update(ck_ik_bits=256 if t & 0x40 else 128, mac_bits=SJA2_TUAK_MAC_BITS[(t >> 3) & 7],
                       res_bits=SJA2_TUAK_RES_BITS[t & 7], iterations=data[2])
            out[op_key] = data[3:35].hex()
            out["k"] = data[35 : 35 + klen].hex()
            return out
        if len(data) < 33:
            raise ValueError("a key file holds at least 33 bytes")
        out["only_4byte_res"] = bool(cfg & 0x40)
        out["k"] = data[1:17].hex()
        out[op_key] = data[17:33].hex()
        return out

    def enc(v: dict[str, Any]) -> bytes:
        alg = _by_name(algorithms, v["algorithm"], "algorithm")
        if v.get("sres_function", 1) not in (1, 2):
            raise EncodeError("sres_function must be 1 or 2")
        cfg = alg | (0x20 if v.get("sres_function", 1) == 2 else 0) | (0x10 if "opc" in v else 0)
        k = bytes.fromhex(v["k"])
        op = bytes.fromhex(v["opc"] if "opc" in v else v["op"])
        if algorithms.get(alg) == "tuak":
            if len(k) not in (16, 32) or len(op) != 32:
                raise EncodeError("TUAK needs K of 16 or 32 bytes and TOP/TOPc of 32")
            mac = _size_code(SJA2_TUAK_MAC_BITS, v.get("mac_bits", 64), "mac_bits")
            res = _size_code(SJA2_TUAK_RES_BITS, v.get("res_bits", 64), "res_bits")
            ckik = {128: 0, 256: 0x40}.get(v.get("ck_ik_bits", 128))
            if ckik is None:
                raise EncodeError("ck_ik_bits must be 128 or 256")
            iterations = int(v.get("iterations", 1))
            if not 1 <= iterations <= 255:
                raise EncodeError("iterations must be 1..255")
            cfg |= 0x40 if len(k) == 32 else 0
            return bytes([cfg, ckik | mac << 3 | res, iterations]) + op + k
        if len(k) != 16 or len(op) != 16:
            raise EncodeError("K and OP/OPc must be 16 bytes")
        cfg |= 0x40 if v.get("only_4byte_res") else 0
        return bytes([cfg]) + k + op

    return Codec(name, Fn(dec, enc), empty_is_filler=True, vectors=vectors)


SJA2_USIM_AUTH_KEY = _sja2_key_codec(
    "EF.USIM_AUTH_KEY (sysmoISIM-SJA2)",
    SJA2_ALGORITHMS,
    (
        Vector("141898d827f70120d33b3e7462ee5fd6fe6ca53d7a0a804561646816d7b0c702fb",
               {"algorithm": "milenage", "sres_function": 1, "only_4byte_res": False,
                "k": "1898d827f70120d33b3e7462ee5fd6fe", "opc": "6ca53d7a0a804561646816d7b0c702fb"},
               "sysmoISIM-SJA2 EF.USIM_AUTH_KEY, Milenage with OPc (pySim vector)"),
        Vector("160a04101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
               "000102030405060708090a0b0c0d0e0f",
               {"algorithm": "tuak", "sres_function": 1, "ck_ik_bits": 128, "mac_bits": 128, "res_bits": 128,
                "iterations": 4, "opc": "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
                "k": "000102030405060708090a0b0c0d0e0f"},
               "sysmoISIM-SJA2 EF.USIM_AUTH_KEY, TUAK layout (pySim vector)"),
        Vector("0f000102030405060708090a0b0c0d0e0fffffffffffffffffffffffffffffffff",
               {"algorithm": "xor", "sres_function": 1, "only_4byte_res": False,
                "k": "000102030405060708090a0b0c0d0e0f", "op": "ffffffffffffffffffffffffffffffff"},
               "algorithm 15 = XOR test algorithm; OP unused"),
    ),
)

SJA2_SIM_AUTH_KEY = _sja2_key_codec(
    "EF.SIM_AUTH_KEY (sysmoISIM-SJA2, 2G)",
    SJA2_2G_ALGORITHMS,
    (
        Vector("14000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
               {"algorithm": "milenage", "sres_function": 1, "only_4byte_res": False,
                "k": "000102030405060708090a0b0c0d0e0f", "opc": "101112131415161718191a1b1c1d1e1f"},
               "sysmoISIM-SJA2 DF.SYSTEM EF.SIM_AUTH_KEY (pySim vector)"),
        Vector("01000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
               {"algorithm": "comp128v1", "sres_function": 1, "only_4byte_res": False,
                "k": "000102030405060708090a0b0c0d0e0f", "op": "101112131415161718191a1b1c1d1e1f"},
               "algorithm 1 = COMP128v1 (OP field unused)"),
    ),
)


def _sja2_sqn_decode(data: bytes) -> dict[str, Any]:
    if len(data) < 14:
        raise ValueError("EF.USIM_SQN holds at least 14 bytes")
    f1, f2 = data[0], data[1]
    return {
        "skip_next_sqn_check": bool(f1 & 0x80), "delta_max_check": bool(f1 & 0x40),
        "age_limit_check": bool(f1 & 0x20), "sqn_check": bool(f1 & 0x10), "ind_len": f1 & 0x0F,
        "dont_clear_amf_for_macs": bool(f2 & 0x04), "auts_concealed": bool(f2 & 0x02),
        "autn_concealed": bool(f2 & 0x01),
        "delta_max": _u(data[2:8]), "age_limit": _u(data[8:14]),
        "freshness": [_u(data[i : i + 6]) for i in range(14, len(data) - 5, 6)],
    }


def _sja2_sqn_encode(v: dict[str, Any]) -> bytes:
    ind_len = int(v["ind_len"])
    if not 0 <= ind_len <= 15:
        raise EncodeError("ind_len must be 0..15")
    f1 = ((0x80 if v.get("skip_next_sqn_check") else 0) | (0x40 if v.get("delta_max_check") else 0)
          | (0x20 if v.get("age_limit_check") else 0) | (0x10 if v.get("sqn_check") else 0) | ind_len)
    f2 = ((0x04 if v.get("dont_clear_amf_for_macs") else 0) | (0x02 if v.get("auts_concealed") else 0)
          | (0x01 if v.get("autn_concealed") else 0))
    try:
        six = [int(v["delta_max"]), int(v["age_limit"]), *(int(x) for x in v.get("freshness", []))]
        return bytes([f1, f2]) + b"".join(n.to_bytes(6, "big") for n in six)
    except OverflowError:
        raise EncodeError("delta_max, age_limit and freshness entries are 48-bit values") from None


SJA2_USIM_SQN = Codec(
    "EF.USIM_SQN (sysmoISIM-SJA2)",
    Fn(_sja2_sqn_decode, _sja2_sqn_encode),
    filler=b"\x00",
    vectors=(
        Vector("d503" + "000200000000" * 2 + "00" * 6 * 32,
               {"skip_next_sqn_check": True, "delta_max_check": True, "age_limit_check": False,
                "sqn_check": True, "ind_len": 5, "dont_clear_amf_for_macs": False, "auts_concealed": True,
                "autn_concealed": True, "delta_max": 1 << 33, "age_limit": 1 << 33, "freshness": [0] * 32},
               "sysmoISIM-SJA2 EF.USIM_SQN as shipped (pySim vector): IND 5 bits, delta 2^33, 32 slots"),
    ),
)

def all_codecs() -> list[Codec]:
    from simtool.encoding import efs_usim_extra  # the files the conformance table added, declared apart

    return [v for v in globals().values() if isinstance(v, Codec)] + efs_usim_extra.all_codecs()

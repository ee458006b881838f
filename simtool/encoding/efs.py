"""The coding of every elementary file simtool writes or reads, each with its spec vectors beside it.

Sources: TS 102 221 §13 (MF files), TS 31.102 §4.2 (ADF.USIM), TS 51.011 §10 (DF.GSM), sysmocom's
sysmoISIM-SJA2 proprietary files, and our own (`applet_spec/files.md`). Every layout is declared once
with construct (`Record` = a Struct whose `Default` fields may be left out and are left out of decoded
values while they hold their default). Hand code appears only for TLV-shaped files (EF.DIR, EF.ARR, the
plan definition: `Fn`, one function per direction next to its vectors). Binary fields are `bytes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from construct import (
    Adapter,
    BitsInteger,
    Bytes,
    BytesInteger,
    Const,
    Default,
    Enum,
    Flag,
    FocusedSeq,
    GreedyBytes,
    GreedyRange,
    IfThenElse,
    Int8sb,
    Int8ub,
    Int16ub,
    Int32ub,
    Int64ub,
    Nibble,
    Prefixed,
    PrefixedArray,
    Struct,
    this,
)

from simtool.encoding import tlv as T
from simtool.encoding.apn import apn_decode, apn_encode
from simtool.encoding.blocks import BitRecord, Fn, Map, Nothing, Record, Tail, _u, keys_problems
from simtool.encoding.blocks import bytes_of as _bytes_of
from simtool.encoding.blocks import service_table as _service_table
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.services import EST_BY_NAME, EST_SERVICES, UST_BY_NAME, UST_SERVICES
from simtool.encoding.types import (
    Alpha,
    Check,
    CodecError,
    DecodeError,
    EncodeError,
    Entries,
    Filler,
    Flat,
    Imsi,
    NamedBits,
    Plmn,
    SwappedBcd,
    alpha_decode_strict,
    alpha_encode,
    bcd_strict_decode,
    bcd_swapped_encode,
    plmn_decode,
    plmn_encode,
    plmn_problems,
)

__all__ = ["CodecError", "DecodeError", "EncodeError", "plmn_decode", "plmn_encode"]

# --- MF ------------------------------------------------------------------------------------------

ICCID = Codec(
    "EF.ICCID",
    SwappedBcd(GreedyBytes),
    size=10,
    vectors=(
        Vector("98881201000040764 3F3", "8988211000000467343", "specfacts §3.3, TS 102 221 §13.2"),
        Vector("98101430121181157002", "89014103211118510720", "specfacts §3.3"),
    ),
)


def _dir_decode(data: bytes) -> dict[str, Any]:
    tpl = T.first(T.parse_tlv(data), 0x61)
    if tpl is None:
        raise DecodeError("no application template (tag 61)")
    inner = T.parse_tlv(tpl, stop_at_padding=False)
    out: dict[str, Any] = {"aid": T.first(inner, 0x4F) or b""}
    label = T.first(inner, 0x50)
    if label is not None:
        out["label"] = label.decode("utf-8")
    disc = T.first(inner, 0x73)
    if disc is not None:
        out["discretionary"] = disc
    return out


def _dir_encode(v: Mapping[str, Any]) -> bytes:
    items = [(0x4F, bytes(v["aid"]))]
    if "label" in v:
        items.append((0x50, str(v["label"]).encode("utf-8")))
    if "discretionary" in v:
        items.append((0x73, bytes(v["discretionary"])))
    return T.tlv(0x61, T.build_tlv(items))


DIR_RECORD = Codec(
    "EF.DIR record",
    Fn(_dir_decode, _dir_encode, required=("aid",), optional=("label", "discretionary")),
    empty_is_filler=True,
    vectors=(
        Vector(
            "6129 4F10A0000000871002FFFFFFFF8907090000 50055553696D31 730EA00C80011781025F608203454150",
            {
                "aid": bytes.fromhex("a0000000871002ffffffff8907090000"),
                "label": "USim1",
                "discretionary": bytes.fromhex("a00c80011781025f608203454150"),
            },
            "specfacts §3.1 (pySim test record)",
        ),
        Vector("61184F10A0000000871002FFFFFFFF8907090000 50045553494D FFFF",
               {"aid": bytes.fromhex("a0000000871002ffffffff8907090000"), "label": "USIM"}, "our emulator's record"),
        Vector("61194F10A0000000871004FFFFFFFF8907090000 50054953696D31 FFFF",
               {"aid": bytes.fromhex("a0000000871004ffffffff8907090000"), "label": "ISim1"},
               "a sysmoISIM-SJA2's ISIM record (pySim card-sanitizer backup)"),
    ),
)


class LanguageCode(Adapter):
    """An ISO 639 code of 2 letters in the GSM 7-bit alphabet (EF.LI / EF.PL, TS 102 221 §13.5)."""

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        text = bytes(obj).decode("latin-1")
        if not (text.isascii() and text.isalpha()):
            raise DecodeError(f"language code {bytes(obj).hex().upper()} is not two letters")
        return text

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        if not isinstance(obj, str) or len(obj) != 2 or not obj.isascii() or not obj.isalpha():
            raise EncodeError(f"language must be a 2-letter ISO 639 code, got {obj!r}")
        return obj.encode("ascii")


LANGUAGES = Codec(
    "EF.LI / EF.PL",
    Entries(LanguageCode(Bytes(2)), 2, b"\xff\xff"),
    vectors=(Vector("656EFFFF", ["en"], "specfacts §3.2 EF.LI"), Vector("7A68656E", ["zh", "en"]),
             Vector("FFFF656E", [None, "en"], "an unused entry before a used one keeps its place")),
)

# --- EF.ARR access rules (TS 102 221 §9.2.4, ISO/IEC 7816-4 expanded format) -------------------

KEYREF_NAMES = {0x01: "pin1", 0x81: "pin2", 0x0A: "adm1", 0x11: "universal_pin"}
KEYREF_BY_NAME = {v: k for k, v in KEYREF_NAMES.items()}
AM_BITS = {"read": 0x01, "update": 0x02, "write": 0x04, "deactivate": 0x08, "activate": 0x10,
           "terminate": 0x20, "delete": 0x40}
# Access-mode data objects '81'..'8F' (ISO/IEC 7816-4 §7.4.3, table 20; TS 102 221 §9.5.1): a command
# header description; the tag's b4..b1 say which of CLA, INS, P1, P2 follow ('84' = INS only, e.g. D4).
HEADER_PARTS = (("cla", 0x08), ("ins", 0x04), ("p1", 0x02), ("p2", 0x01))
_HEADER_KEY = re.compile(r"^(?:(cla|ins|p1|p2)_([0-9a-f]{2})_?)+$")


def _header_name(tag: int, value: bytes) -> str:
    parts = [name for name, bit in HEADER_PARTS if tag & bit]
    if len(parts) != len(value):
        raise DecodeError(f"command header DO {tag:02X} holds {len(value)} bytes, its tag says {len(parts)}")
    return "_".join(f"{p}_{b:02x}" for p, b in zip(parts, value, strict=True))


def _header_do(name: str) -> tuple[int, bytes] | None:
    if not _HEADER_KEY.match(name):
        return None
    pairs = re.findall(r"(cla|ins|p1|p2)_([0-9a-f]{2})", name)
    order = [p for p, _ in HEADER_PARTS]
    names = [p for p, _ in pairs]
    if names != sorted(set(names), key=order.index):
        return None
    tag = 0x80 | sum(bit for p, bit in HEADER_PARTS if p in names)
    return tag, bytes(int(h, 16) for _, h in pairs)


def _keyref_name(ref: int) -> str:
    return KEYREF_NAMES.get(ref, f"keyref_{ref:02x}")


def _keyref(name: str) -> int:
    if name in KEYREF_BY_NAME:
        return KEYREF_BY_NAME[name]
    m = re.fullmatch(r"keyref_([0-9a-f]{2})", name)
    if m is None:
        raise EncodeError(f"unknown access condition {name!r}")
    return int(m.group(1), 16)


def _sc_decode(tag: int, value: bytes) -> list[str]:
    if tag == 0x90:
        return ["always"]
    if tag == 0x97:
        return ["never"]
    if tag == 0xA4:
        ref = T.first(T.parse_tlv(value, stop_at_padding=False), 0x83)
        if ref is None or len(ref) != 1:
            raise DecodeError("user-authentication template without key reference")
        return [_keyref_name(ref[0])]
    if tag == 0xA0:  # OR template: any of the conditions inside
        conds: list[str] = []
        for t, v in T.parse_tlv(value, stop_at_padding=False):
            conds += _sc_decode(t, v)
        return conds
    raise DecodeError(f"unsupported security condition tag {tag:02X}")


def _sc_encode(conds: list[str]) -> bytes:
    if conds == ["always"]:
        return T.tlv(0x90, b"")
    if conds == ["never"]:
        return T.tlv(0x97, b"")
    parts = [T.tlv(0xA4, T.tlv(0x83, bytes([_keyref(c)])) + T.tlv(0x95, b"\x08")) for c in conds]
    if not parts:
        raise EncodeError("an access rule needs a condition")
    return parts[0] if len(parts) == 1 else T.tlv(0xA0, b"".join(parts))


def _arr_decode(data: bytes) -> dict[str, list[str]]:
    items = T.parse_tlv(data)
    if not items or len(items) % 2:
        raise DecodeError("access rules come as (access mode, security condition) pairs")
    out: dict[str, list[str]] = {}
    for i in range(0, len(items) - 1, 2):
        (am_tag, am), (sc_tag, sc) = items[i], items[i + 1]
        conds = _sc_decode(sc_tag, sc)
        if 0x81 <= am_tag <= 0x8F:  # a command header (TS 102 221 §9.5.1, ISO/IEC 7816-4 table 20)
            out[_header_name(am_tag, am)] = conds
            continue
        if am_tag != 0x80 or len(am) != 1:
            raise DecodeError(f"access-mode data object expected, got tag {am_tag:02X}")
        if not am[0] & 0x7F or am[0] & 0x80:  # 00, or b8 (a proprietary meaning of the other bits)
            raise DecodeError(f"access mode byte {am[0]:02X} names no standard operation")
        for op, bit in AM_BITS.items():
            if am[0] & bit:
                out[op] = conds
    return out


def _arr_encode(rule: Mapping[str, list[str]]) -> bytes:
    groups: dict[tuple[str, ...], int] = {}
    headers: list[bytes] = []
    for op, conds in rule.items():
        if not isinstance(conds, list | tuple) or not all(isinstance(c, str) for c in conds):
            raise EncodeError(f"{op}: expected a list of conditions")
        header = _header_do(op)
        if header is not None:
            headers.append(T.tlv(*header) + _sc_encode(list(conds)))
            continue
        if op not in AM_BITS:
            raise EncodeError(f"unknown access mode {op!r}")
        groups[tuple(conds)] = groups.get(tuple(conds), 0) | AM_BITS[op]
    return b"".join(T.tlv(0x80, bytes([am])) + _sc_encode(list(c)) for c, am in groups.items()) + b"".join(headers)


ARR_RECORD = Codec(
    "EF.ARR record",
    Fn(_arr_decode, _arr_encode),
    empty_is_filler=True,
    vectors=(
        Vector("8001019000 800102A406830101950108",
               {"read": ["always"], "update": ["pin1"]}, "TS 102 221 expanded format"),
        Vector("800101A010A406830101950108A40683010A950108 800102A40683010A950108",
               {"read": ["pin1", "adm1"], "update": ["adm1"]}, "our 'any of' rule"),
        Vector("800101a40683010a950108800106900080016097008401d4a40683010a950108",
               {"read": ["adm1"], "update": ["always"], "write": ["always"], "terminate": ["never"],
                "delete": ["never"], "ins_d4": ["adm1"]},
               "pySim EF.ARR vector: '84 01 D4' = command header INS D4 (ISO/IEC 7816-4 table 20)"),
        Vector("80010190008001029700800118a40683010a9501088401d4a40683010a950108",
               {"read": ["always"], "update": ["never"], "deactivate": ["adm1"], "activate": ["adm1"],
                "ins_d4": ["adm1"]}, "pySim EF.ARR vector"),
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

# EF.AD (TS 31.102 §4.2.18, TS 51.011 §10.3.18): byte 1 UE operation mode; bytes 2-3 additional
# information (b1 of byte 3: ciphering indicator, the rest RFU); byte 4 b4..b1 the MNC length (absent
# in a 3-byte DF.GSM EF.AD of a phase 1/2 SIM), b8..b5 RFU; further bytes RFU.
AD = Codec(
    "EF.AD",
    Flat(Record(
        "ue_operation_mode" / Enum(Int8ub, **UE_MODES_BY_NAME),
        "info" / BitRecord("rfu_info" / Default(BitsInteger(15), 0), "ciphering_indicator" / Flag),
        "mnc" / IfThenElse(lambda ctx: (ctx._params.size or 4) >= 4,
                           BitRecord("rfu_mnc" / Default(Nibble, 0), "mnc_length" / Nibble),
                           Nothing("a 3-byte EF.AD holds no MNC length")),
        "rfu_tail" / Default(Tail(), b""),
    ), ("info", "mnc")),
    size=4,
    vectors=(
        Vector("00000002", {"ue_operation_mode": "normal", "ciphering_indicator": False, "mnc_length": 2},
               "specfacts §3.3"),
        Vector("00000003", {"ue_operation_mode": "normal", "ciphering_indicator": False, "mnc_length": 3}),
        Vector("01000102", {"ue_operation_mode": "normal_specific", "ciphering_indicator": True,
                            "mnc_length": 2}, "pySim vector"),
        Vector("000000", {"ue_operation_mode": "normal", "ciphering_indicator": False},
               "TS 51.011 §10.3.18: a 3-byte DF.GSM EF.AD, no MNC length"),
    ),
)

SPN = Codec(
    "EF.SPN",
    Flat(Record(
        "display" / BitRecord("rfu" / Default(BitsInteger(6), 0), "hide_in_oplmn" / Flag, "show_in_hplmn" / Flag),
        "name" / Alpha(Bytes(this._params.size - 1)),
    ), ("display",)),
    size=17,
    vectors=(
        Vector("0147534D2D52204348FFFFFFFFFFFFFFFF",
               {"show_in_hplmn": True, "hide_in_oplmn": False, "name": "GSM-R CH"}, "pySim vector"),
        Vector("0054657374FFFFFFFFFFFFFFFFFFFFFFFF",
               {"show_in_hplmn": False, "hide_in_oplmn": False, "name": "Test"}, "specfacts §3.3"),
        Vector("02804E2D56FDFFFFFFFFFFFFFFFFFFFFFF",
               {"show_in_hplmn": False, "hide_in_oplmn": True, "name": "中国"}, "UCS2 0x80 form"),
    ),
)


class ClassList(Adapter):
    """EF.ACC: access classes 0..15 as the numbers of the set bits (TS 31.102 §4.2.15)."""

    def _decode(self, obj: int, context: Any, path: str) -> list[int]:
        return [n for n in range(16) if obj >> n & 1]

    def _encode(self, obj: list[int], context: Any, path: str) -> int:
        return sum(1 << n for n in set(obj))

    def problems(self, obj: Any) -> list[str]:
        if not isinstance(obj, list | tuple):
            return [f"expected a list of access classes, got {type(obj).__name__}"]
        return [f"access class {n!r} out of range 0..15" for n in obj
                if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 15]


ACC = Codec(
    "EF.ACC",
    ClassList(Int16ub),
    vectors=(Vector("0200", [9], "specfacts §3.3 (IMSI …9)"), Vector("0001", [0]), Vector("0080", [7])),
)


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


class ApnName(Adapter):
    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return apn_decode(bytes(obj))

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        return apn_encode(obj)


# EF.ACL (TS 31.102 §4.2.48): a count byte, then one TLV 'DD' per APN (short length form), FF after.
ACL = Codec(
    "EF.ACL",
    FocusedSeq("apns",
               "apns" / PrefixedArray(Int8ub, FocusedSeq("apn", Const(b"\xdd"),
                                                         "apn" / Prefixed(Check(Int8ub, lambda n: n < 0x80,
                                                                                "a short BER length"),
                                                                          ApnName(GreedyBytes)))),
               Filler()),
    empty_is_filler=True,
    vectors=(
        Vector("03DD0908696E7465726E6574DD1003696D73076578616D706C6503636F6DDD00FFFF",
               ["internet", "ims.example.com", ""], "specfacts §3.3 (\"\" = network-provided APN)"),
        Vector("00FFFF", [], "no APN"),
    ),
)

# --- PLMN lists with access technology (TS 31.102 §4.2.5) ----------------------------------------
# Byte 4: b8 UTRAN; b7..b5 E-UTRAN per table 4.2.5.1: 100 or 111 = WB-S1 and NB-S1, 110 = WB-S1 only,
# 101 = NB-S1 only (b7 = 0: no E-UTRAN); b4 NG-RAN; b3..b1 RFU. Byte 5: b8 GSM with b4/b3 per table
# 4.2.5.2: 1-00 or 1-11 = GSM and EC-GSM-IoT, 1-01 = GSM only, 1-10 = EC-GSM-IoT only; b7 GSM COMPACT,
# b6 cdma2000 HRPD, b5 cdma2000 1xRTT; b2..b1 RFU.
ACT_NAMES = ("utran", "eutran_wb", "eutran_nb", "ngran", "gsm", "ec_gsm_iot", "gsm_compact", "cdma2000_hrpd",
             "cdma2000_1xrtt")
_ACT_SINGLE = {"utran": 0x8000, "ngran": 0x0800, "gsm_compact": 0x0040, "cdma2000_hrpd": 0x0020,
               "cdma2000_1xrtt": 0x0010}
_EUTRAN = {0x4000: ("eutran_wb", "eutran_nb"), 0x7000: ("eutran_wb", "eutran_nb"), 0x6000: ("eutran_wb",),
           0x5000: ("eutran_nb",)}
_GSM = {0x0080: ("gsm", "ec_gsm_iot"), 0x008C: ("gsm", "ec_gsm_iot"), 0x0084: ("gsm",), 0x0088: ("ec_gsm_iot",)}
_EUTRAN_CODE = {("eutran_wb", "eutran_nb"): 0x4000, ("eutran_wb",): 0x6000, ("eutran_nb",): 0x5000}
_GSM_CODE = {("gsm", "ec_gsm_iot"): 0x0080, ("gsm",): 0x0084, ("ec_gsm_iot",): 0x0088}


def act_decode(bits: int) -> tuple[list[str], int]:
    """(names, bits beyond their canonical coding): 7000 reads as WB+NB with 3000 over 4000."""
    names = {n for n, b in _ACT_SINGLE.items() if bits & b}
    names.update(_EUTRAN.get(bits & 0x7000, ()))
    names.update(_GSM.get(bits & 0x008C, ()))
    ordered = [n for n in ACT_NAMES if n in names]
    return ordered, bits & ~act_encode(ordered) & 0xFFFF


def act_encode(names: list[str], other: int = 0) -> int:
    unknown = [n for n in names if n not in ACT_NAMES]
    if unknown:
        raise EncodeError(f"unknown access technology {unknown[0]!r}")
    bits = sum(b for n, b in _ACT_SINGLE.items() if n in names)
    bits |= _EUTRAN_CODE.get(tuple(n for n in ("eutran_wb", "eutran_nb") if n in names), 0)
    bits |= _GSM_CODE.get(tuple(n for n in ("gsm", "ec_gsm_iot") if n in names), 0)
    return bits | other


def _act_entry_value(raw: Any) -> dict[str, Any]:
    plmn = plmn_decode(raw["plmn"], strict=True)
    names, other = act_decode(raw["act"])
    out: dict[str, Any] = {"mcc": plmn["mcc"] if plmn else None, "mnc": plmn["mnc"] if plmn else None,
                           "act": names}
    if other:
        out["act_other_bits"] = other
    return out


def _act_entry_raw(v: Mapping[str, Any]) -> dict[str, Any]:
    other = int(v.get("act_other_bits", 0))
    bits = act_encode(list(v["act"]), other)
    if act_decode(bits) != (list(dict.fromkeys(n for n in ACT_NAMES if n in v["act"])), other):
        raise EncodeError(f"act_other_bits {other:04X} change what {v['act']} mean")
    plmn = None if v["mcc"] is None and v["mnc"] is None else {"mcc": v["mcc"], "mnc": v["mnc"]}
    return {"plmn": plmn_encode(plmn), "act": bits}


def _act_entry_problems(v: Any) -> list[str]:
    out = keys_problems(v, ("mcc", "mnc", "act"), ("act_other_bits",))
    if not out and (not isinstance(v["act"], list | tuple) or any(n not in ACT_NAMES for n in v["act"])):
        out.append(f"act: unknown access technology in {v['act']!r} (one of {', '.join(ACT_NAMES)})")
    return out


PLMN_ACT_ENTRY = Map(Struct("plmn" / Bytes(3), "act" / Int16ub), _act_entry_value, _act_entry_raw,
                     _act_entry_problems)
PLMN_ACT_UNUSED = bytes.fromhex("FFFFFF0000")


def _plmn_act_list(name: str, vectors: tuple[Vector, ...] = ()) -> Codec:
    return Codec(name, Entries(PLMN_ACT_ENTRY, 5, PLMN_ACT_UNUSED), filler=PLMN_ACT_UNUSED, vectors=vectors)


PLMN_ACT_VECTORS = (
    Vector("00F110C080 FFFFFF0000",
           [{"mcc": "001", "mnc": "01", "act": ["utran", "eutran_wb", "eutran_nb", "gsm", "ec_gsm_iot"]}],
           "specfacts §3.3: C080 = UTRAN, E-UTRAN (b7 alone: WB-S1 and NB-S1), GSM (b8 alone: with EC-GSM-IoT)"),
    Vector("62F220488C", [{"mcc": "262", "mnc": "02", "act": ["eutran_wb", "eutran_nb", "ngran", "gsm", "ec_gsm_iot"],
                           "act_other_bits": 0x000C}],
           "pySim vector: 488C, GSM with b4 b3 = 11 (table 4.2.5.2: GSM and EC-GSM-IoT)"),
    Vector("1300144800 00F1100084", [{"mcc": "310", "mnc": "410", "act": ["eutran_wb", "eutran_nb", "ngran"]},
                                      {"mcc": "001", "mnc": "01", "act": ["gsm"]}],
           "3-digit MNC; 0084 = GSM without EC-GSM-IoT (table 4.2.5.2)"),
    Vector("62F2106000 62F2105088", [{"mcc": "262", "mnc": "01", "act": ["eutran_wb"]},
                                      {"mcc": "262", "mnc": "01", "act": ["eutran_nb", "ec_gsm_iot"]}],
           "TS 31.102 tables 4.2.5.1/4.2.5.2: 110 = WB-S1 only, 101 = NB-S1 only, 1-10 = EC-GSM-IoT only"),
)
PLMNWACT = _plmn_act_list("EF.PLMNwAcT", PLMN_ACT_VECTORS)
OPLMNWACT = _plmn_act_list("EF.OPLMNwACT", PLMN_ACT_VECTORS)
HPLMNWACT = _plmn_act_list("EF.HPLMNwAcT", PLMN_ACT_VECTORS)


def _plmn_list(name: str, vectors: tuple[Vector, ...]) -> Codec:
    return Codec(name, Entries(Plmn(Bytes(3)), 3, b"\xff\xff\xff"), vectors=vectors)


FPLMN = _plmn_list("EF.FPLMN", (
    Vector("42F618FFFFFFFFFFFFFFFFFF", [{"mcc": "246", "mnc": "81"}], "TS 31.102 example (specfacts §3.3)"),
    Vector("00F11000110022F860", [{"mcc": "001", "mnc": "01"}, {"mcc": "001", "mnc": "001"},
                                  {"mcc": "228", "mnc": "06"}], "specfacts §3.3 PLMN examples"),
    Vector("FFFFFF42F618FFFFFF", [None, {"mcc": "246", "mnc": "81"}], "an entry deleted before a kept one"),
))
EHPLMN = _plmn_list("EF.EHPLMN", (Vector("130014 330420", [{"mcc": "310", "mnc": "410"},
                                                            {"mcc": "334", "mnc": "020"}], "specfacts §3.3"),))


class SearchPeriod(Adapter):
    """EF.HPPLMN (TS 31.102 §4.2.6): the byte × 6 minutes."""

    def _decode(self, obj: int, context: Any, path: str) -> int:
        return obj * 6

    def _encode(self, obj: int, context: Any, path: str) -> int:
        if isinstance(obj, bool) or not isinstance(obj, int) or obj % 6 or not 0 <= obj <= 255 * 6:
            raise EncodeError(f"search period must be a multiple of 6 minutes (0..1530), got {obj!r}")
        return obj // 6


HPPLMN = Codec(
    "EF.HPPLMN",
    SearchPeriod(Int8ub),
    vectors=(Vector("0A", 60, "TS 31.102 §4.2.6: value × 6 min"), Vector("00", 0)),
)

# Update status bytes: b3..b1 the status, b8..b4 RFU (any other byte value decodes as its number).
_LU_STATUS = {"updated": 0, "not_updated": 1, "plmn_not_allowed": 2, "la_not_allowed": 3}
_RAU_STATUS = {"updated": 0, "not_updated": 1, "plmn_not_allowed": 2, "ra_not_allowed": 3}
_EPS_STATUS = {"updated": 0, "not_updated": 1, "roaming_not_allowed": 2}

# EF.LOCI (TS 31.102 §4.2.17): TMSI(4) LAI(5: PLMN, LAC) RFU(1) update status(1). The RFU byte is kept
# as read (a card may hold '1E' there; it is written back unchanged), FF when a value leaves it out.
LOCI = Codec(
    "EF.LOCI",
    Record("tmsi" / _bytes_of(4), "plmn" / Plmn(Bytes(3)), "lac" / _bytes_of(2), "rfu" / Default(Int8ub, 0xFF),
           "status" / Enum(Int8ub, **_LU_STATUS)),
    vectors=(
        Vector("FFFFFFFF FFFFFF 0000 FF 01",
               {"tmsi": b"\xff" * 4, "plmn": None, "lac": b"\x00\x00", "status": "not_updated"},
               "TS 31.102 §4.2.17, blank card"),
        Vector("12345678 02F480 1A2B FF 00",
               {"tmsi": bytes.fromhex("12345678"), "plmn": {"mcc": "204", "mnc": "08"}, "lac": bytes.fromhex("1a2b"),
                "status": "updated"}),
        Vector("FFFFFFFF 62F210 FFFE 1E 01",
               {"tmsi": b"\xff" * 4, "plmn": {"mcc": "262", "mnc": "01"}, "lac": bytes.fromhex("fffe"), "rfu": 0x1E,
                "status": "not_updated"}, "pySim vector: RFU byte 1E kept"),
    ),
)

PSLOCI = Codec(
    "EF.PSLOCI",
    Record("ptmsi" / _bytes_of(4), "ptmsi_signature" / _bytes_of(3), "plmn" / Plmn(Bytes(3)), "lac" / _bytes_of(2),
           "rac" / Int8ub, "status" / Enum(Int8ub, **_RAU_STATUS)),
    vectors=(
        Vector("FFFFFFFF FFFFFF FFFFFF 0000 FF 01",
               {"ptmsi": b"\xff" * 4, "ptmsi_signature": b"\xff" * 3, "plmn": None, "lac": b"\x00\x00", "rac": 255,
                "status": "not_updated"}, "TS 31.102 §4.2.23, blank card"),
    ),
)

EPSLOCI = Codec(
    "EF.EPSLOCI",
    Record("guti" / _bytes_of(12), "tai_plmn" / Plmn(Bytes(3)), "tac" / _bytes_of(2),
           "status" / Enum(Int8ub, **_EPS_STATUS)),
    vectors=(
        Vector("FF" * 12 + "FFFFFF 0000 01",
               {"guti": b"\xff" * 12, "tai_plmn": None, "tac": b"\x00\x00", "status": "not_updated"},
               "TS 31.102 §4.2.91, blank card"),
    ),
)

# EF.KEYS / EF.KEYSPS (TS 31.102 §4.2.9): KSI in b3..b1 of byte 1 (b8..b4 RFU), CK(16), IK(16).
KEYS = Codec(
    "EF.KEYS / EF.KEYSPS",
    Flat(Record("ksi_byte" / BitRecord("rfu" / Default(BitsInteger(5), 0), "ksi" / BitsInteger(3)),
                "ck" / _bytes_of(16), "ik" / _bytes_of(16)), ("ksi_byte",)),
    vectors=(Vector("07" + "FF" * 32, {"ksi": 7, "ck": b"\xff" * 16, "ik": b"\xff" * 16},
                    "TS 31.102 §4.2.9: initial value, KSI 7 = no key"),),
)

# --- dialling numbers: MSISDN, SMSP addresses -----------------------------------------------------


def number_decode(ton_npi: int, bcd: bytes) -> str:
    digits = bcd_strict_decode(bcd)
    return ("+" if (ton_npi & 0x70) == 0x10 else "") + digits


def number_encode(number: str) -> tuple[int, bytes]:
    if not isinstance(number, str):
        raise EncodeError(f"expected a number, got {type(number).__name__}")
    intl = number.startswith("+")
    digits = number[1:] if intl else number
    if len(digits) > 20:
        raise EncodeError(f"number must have at most 20 digits, got {len(digits)}")
    return (0x91 if intl else 0x81), bcd_swapped_encode(digits)


def _digits_of(bcd: bytes, nbytes: int) -> str:
    """The digits in the first `nbytes` of a 10-byte BCD field, the rest FF; DecodeError otherwise."""
    if not 0 <= nbytes <= 10 or any(b != 0xFF for b in bcd[nbytes:]):
        raise DecodeError("dialling number: length byte and digits disagree")
    digits = bcd_strict_decode(bcd[:nbytes])
    if (len(digits) + 1) // 2 != nbytes:
        raise DecodeError("dialling number: an F digit before its end")
    return digits


# EF.MSISDN record (TS 31.102 §4.2.26, TS 51.011 §10.5.1): alpha (X = record - 14), length of BCD
# number + TON/NPI (1), TON/NPI (1), number (10), CCP2 id (1), EXT5 id (1).
_MSISDN_RAW = Record(
    "alpha" / Alpha(Bytes(this._params.size - 14)),
    "length" / Int8ub,
    "ton_npi" / Int8ub,
    "bcd" / Bytes(10),
    "ccp2_id" / Default(Int8ub, 0xFF),
    "ext5_id" / Default(Int8ub, 0xFF),
)


def _msisdn_value(raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"alpha": raw["alpha"]}
    n, ton = raw["length"], raw["ton_npi"]
    if n == 0xFF:
        if ton != 0xFF or raw["bcd"] != b"\xff" * 10:
            raise DecodeError("no number (length FF), but a TON/NPI or digits")
        out["number"] = None
    else:
        if not 1 <= n <= 11:
            raise DecodeError(f"number length byte {n:02X} is not 1..11")
        out["number"] = number_decode(ton, raw["bcd"][:0]) + _digits_of(raw["bcd"], n - 1)
        if ton != (0x91 if out["number"].startswith("+") else 0x81):
            out["ton_npi"] = ton
    out.update({k: raw[k] for k in ("ccp2_id", "ext5_id") if k in raw})
    return out


def _msisdn_raw(v: Mapping[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {"alpha": v["alpha"], **{k: v[k] for k in ("ccp2_id", "ext5_id") if k in v}}
    if v["number"] is None:
        return {**raw, "length": 0xFF, "ton_npi": 0xFF, "bcd": b"\xff" * 10}
    ton, bcd = number_encode(v["number"])
    if len(bcd) > 10:
        raise EncodeError("number longer than 20 digits")
    ton = int(v.get("ton_npi", ton))
    if (ton & 0x70 == 0x10) != v["number"].startswith("+"):
        raise EncodeError(f"ton_npi {ton:02X} and the '+' of {v['number']!r} disagree")
    return {**raw, "length": len(bcd) + 1, "ton_npi": ton, "bcd": bcd + b"\xff" * (10 - len(bcd))}


MSISDN_RECORD = Codec(
    "EF.MSISDN record",
    Map(_MSISDN_RAW, _msisdn_value, _msisdn_raw,
        lambda v: keys_problems(v, ("alpha", "number"), ("ton_npi", "ccp2_id", "ext5_id"))),
    empty_is_filler=True,
    size=28,
    vectors=(
        Vector("0891947172199181F3FFFFFFFFFF", {"alpha": "", "number": "+4917279119183"}, "specfacts §3.3"),
        Vector("4D79206E756D626572FFFFFF 04B12143F5FFFFFFFFFFFFFFFFFF",
               {"alpha": "My number", "number": "12345", "ton_npi": 0xB1}, "pySim-style vector, TON/NPI B1"),
    ),
)


def _address_value(field: bytes, digits_len: bool) -> str:
    """A TS 23.040 address (12 bytes): "" for an all-FF field (present but empty), else the number."""
    if field == b"\xff" * 12:
        return ""
    n, ton = field[0], field[1]
    if ton not in (0x81, 0x91):
        raise DecodeError(f"address TON/NPI {ton:02X}: simtool keeps 81 and 91 only")
    nbytes = (n + 1) // 2 if digits_len else n - 1
    digits = _digits_of(field[2:], nbytes)
    if digits_len and len(digits) != n or not digits:
        raise DecodeError("address length byte and digits disagree")
    return ("+" if ton == 0x91 else "") + digits


def _address_raw(number: str, digits_len: bool) -> bytes:
    if number == "":
        return b"\xff" * 12
    ton, bcd = number_encode(number)
    if len(bcd) > 10 or not number.lstrip("+"):
        raise EncodeError("an address has 1..20 digits")
    ndigits = len(number.lstrip("+"))
    return bytes([ndigits if digits_len else len(bcd) + 1, ton]) + bcd + b"\xff" * (10 - len(bcd))


# EF.SMSP record (TS 31.102 §4.2.27, TS 51.011 §10.5.6): alpha (Y = record - 28), parameter indicators
# (b1..b5 = 1: TP-Destination, TS-SC address, PID, DCS, VP absent; b8..b6 RFU, 1), the five parameters.
_SMSP_PARAMS = ("tp_destination", "sc_address", "pid", "dcs", "validity")
_SMSP_RAW = Record(
    "alpha" / Alpha(Bytes(this._params.size - 28)),
    "indicators" / BitRecord("rfu" / Default(BitsInteger(3), 0b111), "absent" / BitsInteger(5)),
    "tp_destination" / Bytes(12),
    "sc_address" / Bytes(12),
    "pid" / Int8ub,
    "dcs" / Int8ub,
    "validity" / Int8ub,
)
_FF12 = b"\xff" * 12


def _smsp_value(raw: Any) -> dict[str, Any]:
    """A parameter is None when absent with FF content; one that is absent but holds content (a VP of A7
    behind an 'absent' bit) is decoded and named in `absent`; present and all FF, it is "" or 255."""
    out: dict[str, Any] = {"alpha": raw["alpha"]}
    absent_bits = raw["indicators"]["absent"]
    absent = []
    for i, key in enumerate(_SMSP_PARAMS):
        content = raw[key]
        blank = content == (_FF12 if i < 2 else 0xFF)
        if absent_bits >> i & 1 and blank:
            out[key] = None
            continue
        out[key] = _address_value(content, digits_len=(i == 0)) if i < 2 else content
        if absent_bits >> i & 1:
            absent.append(key)
    if absent:
        out["absent"] = absent
    if "rfu" in raw["indicators"]:
        out["rfu"] = raw["indicators"]["rfu"]
    return out


def _smsp_raw(v: Mapping[str, Any]) -> dict[str, Any]:
    absent = set(v.get("absent", ()))
    bits = 0
    raw: dict[str, Any] = {"alpha": v["alpha"]}
    for i, key in enumerate(_SMSP_PARAMS):
        value = v[key]
        if value is None or key in absent:
            bits |= 1 << i
        if value is None:
            raw[key] = _FF12 if i < 2 else 0xFF
        elif i < 2:
            raw[key] = _address_raw(value, digits_len=(i == 0))
        else:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
                raise EncodeError(f"{key} must be a byte (0..255)")
            raw[key] = value
    raw["indicators"] = {"absent": bits, **({"rfu": v["rfu"]} if "rfu" in v else {})}
    return raw


def _smsp_problems(v: Any) -> list[str]:
    out = keys_problems(v, ("alpha", *_SMSP_PARAMS), ("absent", "rfu"))
    if not out and any(a not in _SMSP_PARAMS for a in v.get("absent", ())):
        out.append(f"absent: names a parameter that is not one of {', '.join(_SMSP_PARAMS)}")
    return out


SMSP_RECORD = Codec(
    "EF.SMSP record",
    Map(_SMSP_RAW, _smsp_value, _smsp_raw, _smsp_problems),
    empty_is_filler=True,
    size=40,
    vectors=(
        Vector("E1" + "FF" * 12 + "0791947101670000FFFFFFFF 000000",
               {"alpha": "", "tp_destination": None, "sc_address": "+491710760000", "pid": 0, "dcs": 0,
                "validity": 0}, "specfacts §3.3 (pySim-prog record)"),
        Vector("534D5343FFFFFFFFFFFFFFFFE1" + "FF" * 12 + "0891945197109099F9FFFFFF 0000A9",
               {"alpha": "SMSC", "tp_destination": None, "sc_address": "+4915790109999", "pid": 0, "dcs": 0,
                "validity": 0xA9}, "pySim vector with alpha"),
        Vector("454e6574776f726b73fffffffffffffff1" + "FF" * 24 + "0000a7",
               {"alpha": "ENetworks", "tp_destination": None, "sc_address": "", "pid": 0, "dcs": 0,
                "validity": 0xA7, "absent": ["validity"]},
               "pySim vector: SC address present but empty, VP A7 behind an 'absent' bit; both kept"),
        Vector("FF" * 12 + "FC0B919403214365F7FFFFFFFF07919403214365F7FFFFFFFFFFFFFF",
               {"alpha": "", "tp_destination": "+49301234567", "sc_address": "+49301234567", "pid": None,
                "dcs": None, "validity": None}, "pySim vector: TP-Destination in digits, SC address in bytes"),
    ),
)

# EF.ECC record (TS 31.102 §4.2.21): code (3, BCD), alpha (X = record - 4), service category: bit values
# per TS 24.008 table 10.5.135d (police 01, ambulance 02, fire brigade 04, marine guard 08, mountain
# rescue 10, manual eCall 20, automatic eCall 40; b8 spare).
ECC_CATEGORIES = ("police", "ambulance", "fire_brigade", "marine_guard", "mountain_rescue", "manual_ecall",
                  "automatic_ecall")
_CATEGORIES = NamedBits(Int8ub, dict(enumerate(ECC_CATEGORIES)), lambda n: f"b{n + 1}",
                        lambda s: int(s[1:]) - 1 if re.fullmatch(r"b[1-8]", s) else None, "emergency category")

ECC_RECORD = Codec(
    "EF.ECC record (USIM)",
    Record("number" / SwappedBcd(Bytes(3), 3), "alpha" / Alpha(Bytes(this._params.size - 4)),
           "categories" / _CATEGORIES),
    empty_is_filler=True,
    size=4,
    vectors=(
        Vector("19F1FF01", {"number": "911", "alpha": "", "categories": ["police"]}, "specfacts §3.3"),
        Vector("11F2FF 456D657267656E6379FFFFFF 1F",
               {"number": "112", "alpha": "Emergency",
                "categories": ["police", "ambulance", "fire_brigade", "marine_guard", "mountain_rescue"]}),
    ),
)

ECC_GSM = Codec(
    "EF.ECC (DF.GSM)",
    Entries(SwappedBcd(Bytes(3), 3), 3, b"\xff\xff\xff"),
    vectors=(Vector("11F2FF19F1FFFFFFFF", ["112", "911"], "TS 51.011 §10.3.27"),),
)

# EF.LP (DF.GSM, TS 51.011 §10.3.2): one byte per language, the CB data coding scheme of TS 23.038 §5:
# group 0000 (00..0F) and group 0010 (20..24). Any other code is kept as `cb_XX`, never dropped.
CB_LANGUAGES = {"de": 0x00, "en": 0x01, "it": 0x02, "fr": 0x03, "es": 0x04, "nl": 0x05, "sv": 0x06, "da": 0x07,
                "pt": 0x08, "fi": 0x09, "no": 0x0A, "el": 0x0B, "tr": 0x0C, "hu": 0x0D, "pl": 0x0E,
                "unspecified": 0x0F, "cs": 0x20, "he": 0x21, "ar": 0x22, "ru": 0x23, "is": 0x24}
CB_BY_CODE = {v: k for k, v in CB_LANGUAGES.items()}


class CbLanguage(Adapter):
    def _decode(self, obj: int, context: Any, path: str) -> str:
        return CB_BY_CODE.get(obj, f"cb_{obj:02x}")

    def _encode(self, obj: str, context: Any, path: str) -> int:
        if obj in CB_LANGUAGES:
            return CB_LANGUAGES[obj]
        m = re.fullmatch(r"cb_([0-9a-f]{2})", obj) if isinstance(obj, str) else None
        if m is None or int(m.group(1), 16) == 0xFF:
            raise EncodeError(f"language {obj!r} has no cell-broadcast code (TS 23.038 §5)")
        return int(m.group(1), 16)


LP = Codec("EF.LP (DF.GSM)", Entries(CbLanguage(Int8ub), 1, b"\xff"),
           vectors=(Vector("0105FFFF", ["en", "nl"], "TS 23.038 §5 language codes"),
                    Vector("2401FF", ["is", "en"], "TS 23.038 §5 group 0010: 24 = Icelandic, kept"),
                    Vector("3001", ["cb_30", "en"], "a code no table names is kept as it is")))

# --- proprietary files: the plan DF (applet_spec/files.md) --------------------------------------

# Plan definition: BER-TLV inside a constructed tag A0 (see applet_spec/files.md).


def _plan_decode(data: bytes) -> dict[str, Any]:
    body = T.first(T.parse_tlv(data), 0xA0)
    if body is None:
        raise DecodeError("no plan template (tag A0)")
    items = T.parse_tlv(body, stop_at_padding=False)

    def get(tag: int) -> bytes:
        v = T.first(items, tag)
        if v is None:
            raise DecodeError(f"plan tag {tag:02X} missing")
        return v

    names = {}
    for t, v in items:
        if t == 0xA5:
            inner = T.parse_tlv(v, stop_at_padding=False)
            names[(T.first(inner, 0x80) or b"").decode("ascii")] = alpha_decode_strict(T.first(inner, 0x81) or b"")
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


def _plan_encode(v: Mapping[str, Any]) -> bytes:
    price = v["price"]
    if set(price) != {"amount_minor", "currency"}:
        raise EncodeError("price: needs exactly amount_minor and currency")
    items = [
        (0x80, v["plan_id"].encode("ascii")),
        (0x81, int(v["data_limit_bytes"]).to_bytes(8, "big")),
        (0x82, int(v["validity_days"]).to_bytes(2, "big")),
        (0x83, int(price["amount_minor"]).to_bytes(4, "big")),
        (0x84, price["currency"].encode("ascii")),
    ]
    for lang, name in v["names"].items():
        items.append((0xA5, T.tlv(0x80, lang.encode("ascii")) + T.tlv(0x81, alpha_encode(name))))
    if v.get("topup_url") is not None:
        items.append((0x85, v["topup_url"].encode("ascii")))
    return T.tlv(0xA0, T.build_tlv(items))


PLAN_DEFINITION = Codec(
    "EF.PLAN_DEF",
    Fn(_plan_decode, _plan_encode, required=("plan_id", "data_limit_bytes", "validity_days", "price", "names"),
       optional=("topup_url",)),
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

BALANCE = Codec(
    "EF.BALANCE",
    Record("remaining_bytes" / Int64ub, "total_bytes" / Int64ub),
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


_VALIDITY_RAW = Struct(
    "state" / Enum(Int8ub, **PLAN_STATE_IDS),
    "activated" / Int32ub, "tz_act" / Int8sb, "activation_plmn" / Plmn(Bytes(3)),
    "expires" / Int32ub, "extra_days" / Int16ub, "last_seen" / Int32ub, "tz_seen" / Int8sb,
)


def _validity_value(raw: Any) -> dict[str, Any]:
    # Times show in the zone recorded with them; the expiry in the activation's (UTC before an activation).
    if not isinstance(raw["state"], str):
        raise DecodeError(f"unknown plan state {int(raw['state']):02X}")
    for utc, tz in (("activated", "tz_act"), ("last_seen", "tz_seen")):
        if not -64 <= raw[tz] <= 63 or raw[utc] == 0 and raw[tz] != 0:
            raise DecodeError(f"{tz} {raw[tz]} is not a zone simtool keeps with {utc} {raw[utc]}")
    return {
        "state": str(raw["state"]),
        "activated": plan_time_decode(raw["activated"], raw["tz_act"]),
        "activation_plmn": raw["activation_plmn"],
        "expires": plan_time_decode(raw["expires"], raw["tz_act"]),
        "extra_days": raw["extra_days"],
        "last_seen": plan_time_decode(raw["last_seen"], raw["tz_seen"]),
    }


def _validity_raw(v: Mapping[str, Any]) -> dict[str, Any]:
    act, tz_act = plan_time_encode(v["activated"])
    exp, _ = plan_time_encode(v["expires"])
    seen, tz_seen = plan_time_encode(v["last_seen"])
    return {"state": v["state"], "activated": act, "tz_act": tz_act, "activation_plmn": v["activation_plmn"],
            "expires": exp, "extra_days": v["extra_days"], "last_seen": seen, "tz_seen": tz_seen}


def _validity_problems(v: Any) -> list[str]:
    out = keys_problems(v, ("state", "activated", "activation_plmn", "expires", "extra_days", "last_seen"))
    if not out and v["state"] not in PLAN_STATE_IDS:
        out.append(f"state: unknown plan state {v['state']!r}")
    if not out:
        out += [f"activation_plmn.{p}" for p in plmn_problems(v["activation_plmn"])]
    return out


VALIDITY = Codec(
    "EF.VALIDITY",
    Map(_VALIDITY_RAW, _validity_value, _validity_raw, _validity_problems),
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

OTA_COUNTER = Codec(
    "EF.OTA_CNTR",
    Check(BytesInteger(5), lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= OTA_COUNTER_MAX,
          "the OTA counter is 0 .. 2^40-1"),
    vectors=(Vector("0000000001", 1, "applet_spec/files.md"),),
)


def _key_bytes(*sizes: int) -> Any:
    return Check(Prefixed(Int8ub, GreedyBytes), lambda v: isinstance(v, bytes | bytearray) and len(v) in sizes,
                 f"a key of {' or '.join(map(str, sizes))} bytes")


OTA_KEYS = Codec(
    "EF.OTA_KEYS",
    Record("kvn" / Check(Int8ub, lambda n: isinstance(n, int) and 1 <= n <= 15,
                         "the key version number (KVN) is 1..15"),
           "kic" / _key_bytes(16, 24, 32), "kid" / _key_bytes(16, 24, 32), Filler()),
    empty_is_filler=True,
    vectors=(
        Vector("01 10 000102030405060708090A0B0C0D0E0F 10 101112131415161718191A1B1C1D1E1F FF",
               {"kvn": 1, "kic": bytes(range(16)), "kid": bytes(range(16, 32))},
               "applet_spec/files.md (the test keys of specfacts §8.2.1)"),
    ),
)

# --- proprietary files of our card model: key file and PIN file (applet_spec/files.md) ----------

ALGORITHMS = {1: "milenage", 2: "tuak", 3: "xor"}
ALGORITHM_IDS = {v: k for k, v in ALGORITHMS.items()}

AUTH_KEY = Codec(
    "EF.AUTH_KEY",
    Record("algorithm" / Enum(Int8ub, **ALGORITHM_IDS), "k" / _key_bytes(16, 32), "opc" / _key_bytes(0, 16, 32),
           Filler()),
    empty_is_filler=True,
    vectors=(
        Vector("0110000102030405060708090A0B0C0D0E0F100F0E0D0C0B0A09080706050403020100FFFF",
               {"algorithm": "milenage", "k": bytes(range(16)), "opc": bytes(range(15, -1, -1))},
               "applet_spec/files.md"),
    ),
)

PIN_NAMES = ("pin1", "puk1", "pin2", "puk2")


def pin_encode(pin: str) -> bytes:
    """PIN value: ASCII digits, FF padded to 8 bytes (TS 102 221 §9.5.1)."""
    if not isinstance(pin, str) or not pin.isdigit() or not pin.isascii() or not 4 <= len(pin) <= 8:
        raise EncodeError("PIN/PUK must be 4..8 digits")
    return pin.encode("ascii") + b"\xff" * (8 - len(pin))


def pin_decode(data: bytes) -> str:
    return data.split(b"\xff", 1)[0].decode("ascii", errors="replace")


class SecretValue(Adapter):
    """An 8-byte PIN/PUK/ADM value as the card compares it (bytes); a digit string encodes as TS 102 221
    §9.5.1 has it (ASCII, FF padded)."""

    def __init__(self) -> None:
        super().__init__(Bytes(8))

    def _decode(self, obj: bytes, context: Any, path: str) -> bytes:
        return bytes(obj)

    def _encode(self, obj: bytes | str, context: Any, path: str) -> bytes:
        if isinstance(obj, str):
            digits = obj
            if not digits.isdigit() or not digits.isascii() or not 1 <= len(digits) <= 8:
                raise EncodeError("a PIN/PUK/ADM value is 1..8 digits or 8 bytes")
            return digits.encode("ascii") + b"\xff" * (8 - len(digits))
        if not isinstance(obj, bytes | bytearray) or len(obj) != 8:
            raise EncodeError("a PIN/PUK/ADM value is 8 bytes")
        return bytes(obj)


PINS = Codec(
    "EF.PINS",
    Flat(Record(*(n / SecretValue() for n in PIN_NAMES),
                "flags" / BitRecord("rfu" / Default(BitsInteger(6), 0), "pin2_enabled" / Flag, "pin1_enabled" / Flag)),
         ("flags",)),
    vectors=(
        Vector("31323334FFFFFFFF 3132333435363738 30303030FFFFFFFF 3837363534333231 02",
               {"pin1": b"1234\xff\xff\xff\xff", "puk1": b"12345678", "pin2": b"0000\xff\xff\xff\xff",
                "puk2": b"87654321", "pin1_enabled": False, "pin2_enabled": True}, "applet_spec/files.md"),
    ),
)


# --- proprietary files of the sysmocom sysmoISIM-SJA2 family (DF.SYSTEM A515, ADF.USIM AF20/AF30) ------
# Facts from sysmocom's public documentation of the card as pySim decodes it (codings only; our own code).

SJA2_PIN_STATE = (("valid", 0x80), ("change_able", 0x40), ("unblock_able", 0x20), ("disable_able", 0x10),
                  ("not_initialised", 0x02), ("disabled", 0x01))
_SJA2_COUNTERS = ("attempts_remaining" / Int8ub, "maximum_attempts" / Int8ub)

# PIN file: state (b8 valid, b7 change-able, b6 unblock-able, b5 disable-able, b4 b3 RFU, b2 not
# initialised, b1 disabled), tries left, tries max, value (8); CHV1/CHV2 then the PUK: tries, max, value.
SJA2_PIN = Codec(
    "EF.CHV1 / EF.CHV2 / EF.ADM1 (sysmoISIM-SJA2)",
    Record(
        "state" / BitRecord("valid" / Flag, "change_able" / Flag, "unblock_able" / Flag, "disable_able" / Flag,
                            "rfu" / Default(BitsInteger(2), 0), "not_initialised" / Flag, "disabled" / Flag),
        *_SJA2_COUNTERS,
        "pin" / SecretValue(),
        "puk" / IfThenElse(lambda ctx: (ctx._params.size or 11) >= 21,
                           Record(*_SJA2_COUNTERS, "puk" / SecretValue()),
                           Nothing("this PIN file holds no PUK")),
        Filler(),
    ),
    vectors=(
        Vector("f1030331323334ffffffff0a0a3132333435363738",
               {"state": {"valid": True, "change_able": True, "unblock_able": True, "disable_able": True,
                          "not_initialised": False, "disabled": True},
                "attempts_remaining": 3, "maximum_attempts": 3, "pin": b"1234\xff\xff\xff\xff",
                "puk": {"attempts_remaining": 10, "maximum_attempts": 10, "puk": b"12345678"}},
               "sysmoISIM-SJA2 DF.SYSTEM PIN file (pySim vector): PIN1 1234 disabled, PUK 12345678"),
        Vector("f003039999999999999999",
               {"state": {"valid": True, "change_able": True, "unblock_able": True, "disable_able": True,
                          "not_initialised": False, "disabled": False},
                "attempts_remaining": 3, "maximum_attempts": 3, "pin": bytes.fromhex("9999999999999999"),
                "puk": None},
               "sysmoISIM-SJA2 PIN file without PUK (pySim vector)"),
    ),
)

# Algorithm nibble (b4..b1) of the key files' configuration byte.
SJA2_ALGORITHMS = {4: "milenage", 5: "sha1_aka", 6: "tuak", 15: "xor"}
SJA2_2G_ALGORITHMS = {1: "comp128v1", 2: "comp128v2", 3: "comp128v3", 4: "milenage", 14: "xor"}
SJA2_TUAK_MAC_BITS = {0: 64, 1: 128, 2: 256}
SJA2_TUAK_RES_BITS = {0: 32, 1: 64, 2: 128, 3: 256}


def _code_of(table: Mapping[int, Any], value: Any, what: str) -> int:
    for code, v in table.items():
        if v == value:
            return code
    if isinstance(value, str) and re.fullmatch(r"alg_([0-9]|1[0-5])", value):
        return int(value[4:])
    raise EncodeError(f"unknown {what} {value!r}")


def _sja2_key_codec(name: str, algorithms: dict[int, str], vectors: tuple[Vector, ...]) -> Codec:
    """cfg(1: b8 RFU, b7 only 4-byte RES in 3G, b6 SRES function 2, b5 OPc (not OP), b4..b1 algorithm) K(16)
    OP/OPc(16); TUAK (algorithm 6): cfg(1: b7 = 256-bit K) tuak-cfg(1: b8 RFU, b7 CK/IK 256, b6..b4 MAC,
    b3..b1 RES) iterations(1) TOP/TOPc(32) K(16/32)."""
    tuak = next((c for c, n in algorithms.items() if n == "tuak"), -1)
    raw = Struct(
        "cfg" / BitRecord("rfu" / Default(Flag, False), "b7" / Flag, "sres2" / Flag, "opc" / Flag, "alg" / Nibble),
        "body" / IfThenElse(this.cfg.alg == tuak,
                            Struct("t" / BitRecord("rfu" / Default(Flag, False), "ck_ik_256" / Flag,
                                                   "mac" / BitsInteger(3), "res" / BitsInteger(3)),
                                   "iterations" / Int8ub, "op" / Bytes(32),
                                   "k" / Bytes(lambda ctx: 32 if ctx._.cfg.b7 else 16)),
                            Struct("k" / Bytes(16), "op" / Bytes(16))),
        Filler(),
    )

    def value(r: Any) -> dict[str, Any]:
        cfg, body = r["cfg"], r["body"]
        alg = algorithms.get(cfg["alg"], f"alg_{cfg['alg']}")
        out: dict[str, Any] = {"algorithm": alg, "sres_function": 2 if cfg["sres2"] else 1}
        if "rfu" in cfg:
            out["rfu"] = cfg["rfu"]
        op_key = "opc" if cfg["opc"] else "op"
        if alg == "tuak":
            t = body["t"]
            if t["mac"] not in SJA2_TUAK_MAC_BITS or t["res"] not in SJA2_TUAK_RES_BITS or "rfu" in t:
                raise DecodeError("TUAK configuration byte names no MAC/RES size")
            if body["iterations"] == 0:
                raise DecodeError("TUAK with 0 Keccak iterations")
            out.update(ck_ik_bits=256 if t["ck_ik_256"] else 128, mac_bits=SJA2_TUAK_MAC_BITS[t["mac"]],
                       res_bits=SJA2_TUAK_RES_BITS[t["res"]], iterations=body["iterations"])
        else:
            out["only_4byte_res"] = bool(cfg["b7"])
        out["k"], out[op_key] = bytes(body["k"]), bytes(body["op"])
        return out

    def to_raw(v: Mapping[str, Any]) -> dict[str, Any]:
        alg = _code_of(algorithms, v["algorithm"], "algorithm")
        if v["sres_function"] not in (1, 2):
            raise EncodeError("sres_function must be 1 or 2")
        k = bytes(v["k"])
        op = bytes(v["opc"] if "opc" in v else v["op"])
        cfg: dict[str, Any] = {"sres2": v["sres_function"] == 2, "opc": "opc" in v, "alg": alg}
        if "rfu" in v:
            cfg["rfu"] = v["rfu"]
        if alg == tuak:
            if len(k) not in (16, 32) or len(op) != 32:
                raise EncodeError("TUAK needs K of 16 or 32 bytes and TOP/TOPc of 32")
            iterations = v["iterations"]
            if isinstance(iterations, bool) or not isinstance(iterations, int) or not 1 <= iterations <= 255:
                raise EncodeError("iterations must be 1..255")
            if v["ck_ik_bits"] not in (128, 256):
                raise EncodeError("ck_ik_bits must be 128 or 256")
            t = {"ck_ik_256": v["ck_ik_bits"] == 256, "mac": _code_of(SJA2_TUAK_MAC_BITS, v["mac_bits"], "mac_bits"),
                 "res": _code_of(SJA2_TUAK_RES_BITS, v["res_bits"], "res_bits")}
            return {"cfg": {**cfg, "b7": len(k) == 32}, "body": {"t": t, "iterations": iterations, "op": op, "k": k}}
        if len(k) != 16 or len(op) != 16:
            raise EncodeError("K and OP/OPc must be 16 bytes")
        return {"cfg": {**cfg, "b7": bool(v["only_4byte_res"])}, "body": {"k": k, "op": op}}

    def check(v: Any) -> list[str]:
        if not isinstance(v, Mapping):
            return [f"expected a mapping, got {type(v).__name__}"]
        common = ("algorithm", "sres_function", "k", "opc" if "opc" in v or "op" not in v else "op")
        if v.get("algorithm") == "tuak":
            return keys_problems(v, (*common, "ck_ik_bits", "mac_bits", "res_bits", "iterations"), ("rfu",))
        return keys_problems(v, (*common, "only_4byte_res"), ("rfu",))

    return Codec(name, Map(raw, value, to_raw, check), empty_is_filler=True, vectors=vectors)


SJA2_USIM_AUTH_KEY = _sja2_key_codec(
    "EF.USIM_AUTH_KEY (sysmoISIM-SJA2)",
    SJA2_ALGORITHMS,
    (
        Vector("141898d827f70120d33b3e7462ee5fd6fe6ca53d7a0a804561646816d7b0c702fb",
               {"algorithm": "milenage", "sres_function": 1, "only_4byte_res": False,
                "k": bytes.fromhex("1898d827f70120d33b3e7462ee5fd6fe"),
                "opc": bytes.fromhex("6ca53d7a0a804561646816d7b0c702fb")},
               "sysmoISIM-SJA2 EF.USIM_AUTH_KEY, Milenage with OPc (pySim vector)"),
        Vector("160a04101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
               "000102030405060708090a0b0c0d0e0f",
               {"algorithm": "tuak", "sres_function": 1, "ck_ik_bits": 128, "mac_bits": 128, "res_bits": 128,
                "iterations": 4, "opc": bytes(range(16, 48)), "k": bytes(range(16))},
               "sysmoISIM-SJA2 EF.USIM_AUTH_KEY, TUAK layout (pySim vector)"),
        Vector("0f000102030405060708090a0b0c0d0e0fffffffffffffffffffffffffffffffff",
               {"algorithm": "xor", "sres_function": 1, "only_4byte_res": False,
                "k": bytes(range(16)), "op": b"\xff" * 16},
               "algorithm 15 = XOR test algorithm; OP unused"),
    ),
)

SJA2_SIM_AUTH_KEY = _sja2_key_codec(
    "EF.SIM_AUTH_KEY (sysmoISIM-SJA2, 2G)",
    SJA2_2G_ALGORITHMS,
    (
        Vector("14000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
               {"algorithm": "milenage", "sres_function": 1, "only_4byte_res": False,
                "k": bytes(range(16)), "opc": bytes(range(16, 32))},
               "sysmoISIM-SJA2 DF.SYSTEM EF.SIM_AUTH_KEY (pySim vector)"),
        Vector("01000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
               {"algorithm": "comp128v1", "sres_function": 1, "only_4byte_res": False,
                "k": bytes(range(16)), "op": bytes(range(16, 32))},
               "algorithm 1 = COMP128v1 (OP field unused)"),
    ),
)

# EF.USIM_SQN (AF30): flags(1: b8 skip next SQN check, b7 delta-max check, b6 age-limit check, b5 SQN
# check, b4..b1 IND length), flags(1: b8..b4 RFU, b3 do not clear AMF for MAC-S, b2 AUTS concealed, b1
# AUTN concealed), delta max(6), age limit(6), then 6-byte freshness slots to the end of the file.
SJA2_USIM_SQN = Codec(
    "EF.USIM_SQN (sysmoISIM-SJA2)",
    Flat(Record(
        "f1" / BitRecord("skip_next_sqn_check" / Flag, "delta_max_check" / Flag, "age_limit_check" / Flag,
                         "sqn_check" / Flag, "ind_len" / Nibble),
        "f2" / BitRecord("rfu" / Default(BitsInteger(5), 0), "dont_clear_amf_for_macs" / Flag,
                         "auts_concealed" / Flag, "autn_concealed" / Flag),
        "delta_max" / BytesInteger(6), "age_limit" / BytesInteger(6),
        "freshness" / GreedyRange(BytesInteger(6)),
        Filler(b"\x00"),
    ), ("f1", "f2")),
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
    from simtool.encoding import (
        efs_5gs,  # DF.5GS (TS 31.102 §4.4.11)
        efs_gsm,  # DF.GSM's own files (TS 51.011 §10.3)
        efs_isim,  # ADF.ISIM (TS 31.103)
        efs_usim_extra,  # the files the conformance table added, declared apart
    )

    return ([v for v in globals().values() if isinstance(v, Codec)] + efs_usim_extra.all_codecs()
            + efs_5gs.all_codecs() + efs_isim.all_codecs() + efs_gsm.all_codecs())

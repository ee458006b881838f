"""The coding of every elementary file simtool writes or reads, each with its spec vectors beside it.

Sources: TS 102 221 §13 (MF files), TS 31.102 §4.2 (ADF.USIM), TS 51.011 §10 (DF.GSM), and our own
proprietary files (`applet_spec/files.md`). Values decode to plain dicts and lists with readable
names; `Codec.encode` pads to the size the card model gives.
"""

from __future__ import annotations

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
        if am[0] == 0:
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
    return {
        "alpha": alpha_decode(alpha),
        "tp_destination": None if ind & 0x01 else _address_decode(p[1:13], digits_len=True),
        "sc_address": None if ind & 0x02 else _address_decode(p[13:25], digits_len=False),
        "pid": None if ind & 0x04 else p[25],
        "dcs": None if ind & 0x08 else p[26],
        "validity": None if ind & 0x10 else p[27],
    }


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
    return {
        "plan_id": get(0x80).decode("ascii"),
        "data_limit_bytes": _u(get(0x81)),
        "validity_days": _u(get(0x82)),
        "price": {"amount_minor": _u(get(0x83)), "currency": get(0x84).decode("ascii")},
        "names": names,
    }


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


def all_codecs() -> list[Codec]:
    return [v for v in globals().values() if isinstance(v, Codec)]

"""Codings of DF.5GS (5FC0, under ADF.USIM), TS 31.102 §4.4.11: the 5G location and NAS security context
files, the 5G authentication keys, UAC access identities, the SUCI calculation information, the 5GS
operator PLMN list and the routing indicator.

Declared in the style of `simtool.encoding.efs` (`Record`, `BitRecord`, `Flat`; hand code only for the TLV
files 5GAUTHKEYS and SUCI_Calc_Info). Vectors: the spec's layouts, the TS 31.121 §4.9.4 SUCI test file as
pySim's tutorial encodes it, and a sysmoISIM-SJA2's DF.5GS as shipped (pySim's card-sanitizer backup of
one, ATR ...4c753034054ba9: specfacts-network-esim.md §13.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, Bytes, Const, Default, Enum, Flag, Int8ub, Int32ub

from simtool.encoding import tlv as T
from simtool.encoding.blocks import BitRecord, Fn, Record, Tail
from simtool.encoding.blocks import bytes_of as _bytes_of
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.types import Check, DecodeError, EncodeError, Flat, Plmn, SwappedBcd

# --- EF.5GS3GPPLOCI (4F01), EF.5GSN3GPPLOCI (4F02): §4.4.11.2, §4.4.11.3 -----------------------------------
# 5G-GUTI (13 bytes: the 5GS mobile identity IE of TS 24.501 §9.11.3.4 without its IEI), the last visited
# registered TAI (PLMN, 3-byte TAC), the 5GS update status (b3..b1; TS 24.501 §5.1.3.2.2).

LOCI_5GS = Codec(
    "EF.5GS3GPPLOCI / EF.5GSN3GPPLOCI",
    Record("guti" / _bytes_of(13), "tai_plmn" / Plmn(Bytes(3)), "tac" / _bytes_of(3),
           "status" / Enum(Int8ub, updated=0, not_updated=1, roaming_not_allowed=2)),
    vectors=(
        Vector("FF" * 19 + "01", {"guti": b"\xff" * 13, "tai_plmn": None, "tac": b"\xff" * 3, "status": "not_updated"},
               "a sysmoISIM-SJA2 as shipped (pySim card-sanitizer backup): no GUTI, not updated"),
        Vector("000BF202F480CA01C012345678 02F480 000101 00",
               {"guti": bytes.fromhex("000BF202F480CA01C012345678"), "tai_plmn": {"mcc": "204", "mnc": "08"},
                "tac": bytes.fromhex("000101"), "status": "updated"},
               "TS 31.102 §4.4.11.2: a 5G-GUTI of 204/08 (length 000B, type F2), TAI 204/08 TAC 000101"),
    ),
)

# --- EF.5GS3GPPNSC (4F03), EF.5GSN3GPPNSC (4F04): §4.4.11.4, §4.4.11.5, records of X >= 57 bytes -----------

NSC_5GS_RECORD = Codec(
    "EF.5GS3GPPNSC / EF.5GSN3GPPNSC record",
    Flat(Record(
        Const(b"\xa0\x37"),  # 5GS NAS security context tag, 55 bytes of TLVs in this release
        Const(b"\x80\x01"),
        "ngksi_byte" / BitRecord("rfu_ngksi" / Default(BitsInteger(5), 0), "ngksi" / BitsInteger(3)),  # 7: no key
        Const(b"\x81\x20"), "k_amf" / _bytes_of(32),
        Const(b"\x82\x04"), "uplink_nas_count" / Int32ub,
        Const(b"\x83\x04"), "downlink_nas_count" / Int32ub,
        Const(b"\x84\x01"), "nas_algorithms" / Int8ub,  # selected 5G NAS ciphering / integrity (TS 24.501 §9.11.3.34)
        Const(b"\x85\x01"), "eps_algorithms" / Int8ub,  # selected EPS NAS algorithms (TS 24.301 §9.9.3.23)
        "rfu_tail" / Default(Tail(), b""),  # X > 57: the rest of the record, FF
    ), ("ngksi_byte",)),
    empty_is_filler=True,
    vectors=(
        Vector("FF" * 64, None, "a sysmoISIM-SJA2 as shipped: one 64-byte record, FF"),
        Vector("A037 800107 8120" + "00" * 32 + "8204 00000000 8304 00000000 840100 850100" + "FF" * 7,
               {"ngksi": 7, "k_amf": b"\x00" * 32, "uplink_nas_count": 0, "downlink_nas_count": 0,
                "nas_algorithms": 0, "eps_algorithms": 0},
               "TS 31.102 §4.4.11.4: ngKSI 07 = no key available"),
        Vector("A037 800102 8120" + "11" * 32 + "8204 00000005 8304 00000003 840122 850112",
               {"ngksi": 2, "k_amf": b"\x11" * 32, "uplink_nas_count": 5, "downlink_nas_count": 3,
                "nas_algorithms": 0x22, "eps_algorithms": 0x12},
               "TS 31.102 §4.4.11.4: a stored context (ngKSI 2, counts 5 / 3, 128-NEA2 + 128-NIA2)"),
    ),
)

# --- EF.5GAUTHKEYS (4F05): §4.4.11.6, K_AUSF (tag 80) and K_SEAF (tag 81), 32 bytes each (TS 33.501) --------

_AUTH_TAGS = {0x80: "k_ausf", 0x81: "k_seaf"}


def _authkeys_decode(data: bytes) -> dict[str, Any]:
    items = T.parse_tlv(data)
    if [t for t, _ in items] != list(_AUTH_TAGS):
        raise DecodeError("expected K_AUSF (tag 80) then K_SEAF (tag 81)")
    return {_AUTH_TAGS[t]: v for t, v in items}


def _authkeys_encode(v: Mapping[str, Any]) -> bytes:
    for name in _AUTH_TAGS.values():
        if not isinstance(v[name], bytes | bytearray):
            raise EncodeError(f"{name}: must be bytes")
    return T.build_tlv((t, bytes(v[n])) for t, n in _AUTH_TAGS.items())


AUTH_KEYS_5G = Codec(
    "EF.5GAUTHKEYS",
    Fn(_authkeys_decode, _authkeys_encode, required=("k_ausf", "k_seaf")),
    empty_is_filler=True,
    vectors=(
        Vector("FF" * 68, None, "a sysmoISIM-SJA2 as shipped: 68 bytes, FF (no keys)"),
        Vector("8020" + "A1" * 32 + "8120" + "B2" * 32, {"k_ausf": b"\xa1" * 32, "k_seaf": b"\xb2" * 32},
               "TS 31.102 §4.4.11.6: K_AUSF and K_SEAF, 32 bytes each"),
    ),
)

# --- EF.UAC_AIC (4F06): §4.4.11.7, byte 1 b1 = access identity 1 (MPS), b2 = 2 (MCS); bytes 2..4 RFU -------

UAC_AIC = Codec(
    "EF.UAC_AIC",
    Flat(Record(
        "identities" / BitRecord("rfu" / Default(BitsInteger(6), 0), "mission_critical_service" / Flag,
                                 "multimedia_priority_service" / Flag),
        "rfu_tail" / Default(Tail(), b""),
    ), ("identities",)),
    vectors=(
        Vector("00FFFFFF", {"mission_critical_service": False, "multimedia_priority_service": False},
               "TS 31.102 §4.4.11.7: a subscriber of neither MPS nor MCS"),
        Vector("03FFFFFF", {"mission_critical_service": True, "multimedia_priority_service": True},
               "a sysmoISIM-SJA2 as shipped (pySim vector 03: both access identities configured)"),
    ),
)

# --- EF.SUCI_Calc_Info (4F07): §4.4.11.8 ---------------------------------------------------------------------
# A0: (protection scheme id, key index) pairs, highest priority first; A1: repeated 80 01 key id, 81 L key.
# Key index 0 goes with the null scheme; others are 1-based positions in the A1 list.

SCHEME_NAMES = {0: "null_scheme", 1: "profile_a", 2: "profile_b"}  # TS 33.501 Annex C.1 (3..B reserved)
SCHEME_IDS = {v: k for k, v in SCHEME_NAMES.items()}


def _scheme_id(name: Any) -> int:
    if isinstance(name, int) and not isinstance(name, bool) and 0 <= name <= 15:
        return name
    if isinstance(name, str) and name in SCHEME_IDS:
        return SCHEME_IDS[name]
    raise EncodeError(f"scheme: {name!r} is not null_scheme, profile_a, profile_b or 0..15")


def _suci_decode(data: bytes) -> dict[str, Any]:
    items = T.parse_tlv(data)
    tags = [t for t, _ in items]
    if tags not in ([0xA0], [0xA0, 0xA1]):
        raise DecodeError("expected the protection scheme list (A0) and the key list (A1)")
    pairs = items[0][1]
    if len(pairs) % 2:
        raise DecodeError("the protection scheme list holds (scheme, key index) pairs")
    out: dict[str, Any] = {"schemes": [{"scheme": SCHEME_NAMES.get(pairs[i], pairs[i]), "key_index": pairs[i + 1]}
                                       for i in range(0, len(pairs), 2)]}
    if len(items) == 2:
        keys = T.parse_tlv(items[1][1], stop_at_padding=False)
        if len(keys) % 2:
            raise DecodeError("the key list holds pairs of key id (80) and public key (81)")
        pairs_of = list(zip(keys[::2], keys[1::2], strict=True))
        if any((a[0], b[0]) != (0x80, 0x81) or len(a[1]) != 1 for a, b in pairs_of):
            raise DecodeError("the key list holds pairs of key id (80, 1 byte) and public key (81)")
        out["keys"] = [{"id": a[1][0], "public_key": b[1]} for a, b in pairs_of]
    return out


def _suci_encode(v: Mapping[str, Any]) -> bytes:
    pairs = b""
    for s in v["schemes"]:
        index = s["key_index"]
        if not isinstance(index, int) or not 0 <= index <= 255:
            raise EncodeError(f"key_index: one byte, got {index!r}")
        pairs += bytes([_scheme_id(s["scheme"]), index])
    out = T.tlv(0xA0, pairs)
    if "keys" in v:
        body = b""
        for k in v["keys"]:
            if not isinstance(k["id"], int) or not 0 <= k["id"] <= 255:
                raise EncodeError(f"keys: id is one byte, got {k['id']!r}")
            body += T.tlv(0x80, bytes([k["id"]])) + T.tlv(0x81, bytes(k["public_key"]))
        out += T.tlv(0xA1, body)
    return out


SUCI_CALC_INFO = Codec(
    "EF.SUCI_Calc_Info",
    Fn(_suci_decode, _suci_encode, required=("schemes",), optional=("keys",)),
    empty_is_filler=True,
    vectors=(
        Vector("FF" * 100, None, "a sysmoISIM-SJA2 as shipped: 100 bytes, FF"),
        Vector("A006 020101020000 A16B 80011B 8141"
               "0472DA71976234CE833A6907425867B82E074D44EF907DFB4B3E21C1C2256EBCD1"
               "5A7DED52FCBB097A4ED250E036C7B9C8C7004C4EEDC4F068CD7BF8D3F900E3B4"
               "80011E 8120 5A8D38864820197C3394B92613B20B91633CBD897119273BF8E4A6F4EEC0A650",
               {"schemes": [{"scheme": "profile_b", "key_index": 1}, {"scheme": "profile_a", "key_index": 2},
                            {"scheme": "null_scheme", "key_index": 0}],
                "keys": [{"id": 27, "public_key": bytes.fromhex(
                    "0472DA71976234CE833A6907425867B82E074D44EF907DFB4B3E21C1C2256EBCD1"
                    "5A7DED52FCBB097A4ED250E036C7B9C8C7004C4EEDC4F068CD7BF8D3F900E3B4")},
                         {"id": 30, "public_key": bytes.fromhex(
                             "5A8D38864820197C3394B92613B20B91633CBD897119273BF8E4A6F4EEC0A650")}]},
               "TS 31.121 §4.9.4 test file as pySim's suci-tutorial encodes it (TS 33.501 C.4 keys)"),
        Vector("A00401010000 A14A 80010A 8120 4E858C4D49D1343E6181284C47CA721730C98742CB7C6182D2E8126E08088D36"
               "80010B 8120 D1BC365F4997D17CE4374E72181431CBFEBA9E1B98D7618F79D48561B144672A",
               {"schemes": [{"scheme": "profile_a", "key_index": 1}, {"scheme": "null_scheme", "key_index": 0}],
                "keys": [{"id": 10, "public_key": bytes.fromhex(
                    "4E858C4D49D1343E6181284C47CA721730C98742CB7C6182D2E8126E08088D36")},
                         {"id": 11, "public_key": bytes.fromhex(
                             "D1BC365F4997D17CE4374E72181431CBFEBA9E1B98D7618F79D48561B144672A")}]},
               "pySim EF_SUCI_Calc_Info test vector: profile A first, then the null scheme"),
        Vector("A0020000 A100" + "FF" * 4, {"schemes": [{"scheme": "null_scheme", "key_index": 0}], "keys": []},
               "TS 31.102 §4.4.11.8: the null scheme only, an empty key list"),
    ),
)

# --- EF.OPL5G (4F08): §4.4.11.9, records of 10 bytes: TAI range (PLMN, TAC min, TAC max), PNN record --------

OPL5G_RECORD = Codec(
    "EF.OPL5G record",
    Record("plmn" / Plmn(Bytes(3)), "tac_min" / _bytes_of(3), "tac_max" / _bytes_of(3), "pnn_record" / Int8ub),
    empty_is_filler=True,
    vectors=(
        Vector("FF" * 10, None, "a sysmoISIM-SJA2 as shipped: 10 records of FF"),
        Vector("02F480 000000 FFFFFE 01",
               {"plmn": {"mcc": "204", "mnc": "08"}, "tac_min": b"\x00" * 3, "tac_max": bytes.fromhex("FFFFFE"),
                "pnn_record": 1},
               "TS 31.102 §4.4.11.9: every TAC of 204/08 named by EF.PNN record 1"),
    ),
)

# --- EF.Routing_Indicator (4F0A): §4.4.11.11, 1..4 BCD digits in bytes 1-2 (F padded), bytes 3-4 RFU -------


def _ri_ok(v: Any) -> bool:
    return isinstance(v, str) and v.isascii() and v.isdigit() and 1 <= len(v) <= 4


ROUTING_INDICATOR = Codec(
    "EF.Routing_Indicator",
    Record("routing_indicator" / Check(SwappedBcd(Bytes(2), 2), _ri_ok, "1 to 4 digits (TS 24.501 §9.11.3.4)"),
           "rfu" / Default(Bytes(2), b"\xff\xff")),
    empty_is_filler=True,
    vectors=(
        Vector("FFFFFFFF", None, "a sysmoISIM-SJA2 as shipped (all FF: no routing indicator)"),
        Vector("F0FFFFFF", {"routing_indicator": "0"}, "specfacts §13.3: '0'"),
        Vector("17FFFFFF", {"routing_indicator": "71"}, "pySim suci-tutorial: '71'"),
        Vector("2143FFFF", {"routing_indicator": "1234"}, "specfacts §13.3: '1234', digit 1 in the low nibble"),
        Vector("0000FFFF", {"routing_indicator": "0000"}, "specfacts §13.3: '0000'"),
    ),
)


def all_codecs() -> list[Codec]:
    return [v for v in globals().values() if isinstance(v, Codec)]

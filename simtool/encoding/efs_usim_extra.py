"""Codings of the ADF.USIM files the conformance table (simtool.fs.conformance) added: SMS storage, the
key-lifetime files, the EPS NAS security context, network parameters and DF.GSM-ACCESS.

Declared in the style of `simtool.encoding.efs` (`Record`, `BitRecord`, `Flat`): binary fields are `bytes`,
RFU / unused bits are `Default` fields, optional on encode and left out of a decoded value while they hold
their spec value (kept, so written back, when a card holds something else), so `encode(decode(b)) == b`.
Initial values are TS 31.102 Annex E's "suggested contents at pre-personalization" (they match the SAIP
USIM templates and a sysmoISIM-SJA2 read out by pySim's card sanitizer).
"""

from __future__ import annotations

from typing import Any

from construct import BitsInteger, Const, Default, Enum, Flag, GreedyBytes, Int8ub, Int32ub, Nibble

from simtool.encoding.blocks import BitRecord, Record, Tail
from simtool.encoding.blocks import bytes_of as _bytes_of
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.types import Filler, Flat

# --- EF.SMS (6F3C), EF.SMSS (6F43): TS 31.102 §4.2.25, §4.2.28 (TS 51.011 §10.5.3, §10.5.7) -------------

# Status byte of an SMS record, §4.2.25: b1 used/free, b3..b2 direction and read state, b5..b4 the status
# report state of a sent message, b8..b6 RFU. A code not listed (e.g. a free record with X bits set)
# decodes as its number and is written back as read.
SMS_STATUS = Enum(
    Int8ub,
    free=0x00,
    read=0x01,
    to_be_read=0x03,
    to_be_sent=0x07,
    sent_no_report_requested=0x05,
    sent_report_not_received=0x0D,
    sent_report_not_stored=0x15,
    sent_report_stored=0x1D,
)

SMS_RECORD = Codec(
    "EF.SMS record",
    # data: TS-Service-Centre-Address and TPDU (TS 24.011, TS 23.040), FF padded; 176-byte records (§4.2.25)
    Record("status" / SMS_STATUS, "data" / _bytes_of(175)),
    vectors=(
        Vector("00" + "FF" * 175, {"status": "free", "data": b"\xff" * 175},
               "TS 31.102 Annex E / SAIP template: an empty record is 00 FF..FF (b1 = 0: free space)"),
        Vector("03 07911356131313F3 0400" + "FF" * 165,
               {"status": "to_be_read", "data": bytes.fromhex("07911356131313F30400") + b"\xff" * 165},
               "TS 31.102 §4.2.25: status 03 = received, to be read; the data starts with the TS-SCA"),
        Vector("1D" + "FF" * 175, {"status": "sent_report_stored", "data": b"\xff" * 175},
               "TS 51.011 §10.5.3: 1D = sent, status report requested, received and stored in EF.SMSR"),
    ),
)
SMS_EMPTY_RECORD = SMS_RECORD.vectors[0].data

# Byte 2, "SMS Memory Capacity Exceeded Notification Flag": b1 = 1 flag unset (memory capacity available),
# b1 = 0 flag set; b8..b2 reserved, set to 1. Any bytes after byte 2 are RFU.
SMSS = Codec(
    "EF.SMSS",
    Flat(Record(
        "last_tp_mr" / Int8ub,
        "memory" / BitRecord("rfu_memory" / Default(BitsInteger(7), 0x7F), "capacity_available" / Flag),
        "rfu_tail" / Default(Tail(), b""),
    ), ("memory",)),
    vectors=(
        Vector("FFFF", {"last_tp_mr": 255, "capacity_available": True}, "TS 31.102 §4.2.28, Annex E: FFFF"),
        Vector("2AFE", {"last_tp_mr": 42, "capacity_available": False},
               "TS 31.102 §4.2.28: b1 = 0, memory capacity exceeded"),
        Vector("0001", {"last_tp_mr": 0, "rfu_memory": 0, "capacity_available": True},
               "TS 31.102 §4.2.28: reserved bits not 1 are kept as read"),
    ),
)

# --- EF.START-HFN (6F5B), EF.THRESHOLD (6F5C): TS 31.102 §4.2.51, §4.2.52 ----------------------------------


def _start(rfu: str, name: str) -> Any:
    """A START value, §4.2.51: 20 bits, its LSB in b1 of the third byte, the unused high nibble set to F."""
    return BitRecord(rfu / Default(Nibble, 0xF), name / BitsInteger(20))


START_HFN = Codec(
    "EF.START-HFN",
    Flat(Record("cs" / _start("rfu_cs", "start_cs"), "ps" / _start("rfu_ps", "start_ps"), Filler()), ("cs", "ps")),
    vectors=(
        Vector("F00000F00000", {"start_cs": 0, "start_ps": 0}, "TS 31.102 Annex E: F00000F00000"),
        Vector("F01234F0ABCD", {"start_cs": 0x01234, "start_ps": 0x0ABCD},
               "TS 31.102 §4.2.51: LSB of START-CS in b1 of byte 3, of START-PS in b1 of byte 6"),
        Vector("001234F0ABCD", {"rfu_cs": 0, "start_cs": 0x01234, "start_ps": 0x0ABCD},
               "TS 31.102 §4.2.51: an unused nibble not F is kept as read"),
    ),
)

THRESHOLD = Codec(
    "EF.THRESHOLD",
    Flat(Record("max" / _start("rfu", "max_start"), Filler()), ("max",)),
    vectors=(
        Vector("FFFFFF", {"max_start": 0xFFFFF}, "TS 31.102 Annex E: FFFFFF (the largest START)"),
        Vector("F00100", {"max_start": 0x100}, "TS 31.102 §4.2.52: coded as START-CS (§4.2.51)"),
    ),
)

# --- EF.EPSNSC (6FE4): TS 31.102 §4.2.92, one record of X >= 54 bytes -------------------------------------

EPSNSC_RECORD = Codec(
    "EF.EPSNSC record",
    Flat(Record(
        Const(b"\xa0\x34"),  # EPS NAS security context tag, 52 bytes of TLVs in this release
        Const(b"\x80\x01"),
        "ksi" / BitRecord("rfu_ksi" / Default(BitsInteger(5), 0), "ksi_asme" / BitsInteger(3)),  # 07 = no key
        Const(b"\x81\x20"), "k_asme" / _bytes_of(32),
        Const(b"\x82\x04"), "uplink_nas_count" / Int32ub,
        Const(b"\x83\x04"), "downlink_nas_count" / Int32ub,
        Const(b"\x84\x01"), "algorithms" / Int8ub,  # selected NAS integrity (b1..b4) and ciphering (b5..b8)
        "rfu_tail" / Default(Tail(), b""),  # X > 54: the rest of the record, FF
    ), ("ksi",)),
    empty_is_filler=True,
    vectors=(
        Vector("FF" * 54, None, "SAIP USIM template / a sysmoISIM-SJA2: the record as shipped, FF"),
        Vector("A034 800107 8120" + "00" * 32 + "8204 00000000 8304 00000000 840100",
               {"ksi_asme": 7, "k_asme": b"\x00" * 32, "uplink_nas_count": 0, "downlink_nas_count": 0,
                "algorithms": 0},
               "TS 31.102 §4.2.92: KSI 07 = no key available"),
        Vector("A034 800102 8120" + "11" * 32 + "8204 00000005 8304 00000003 840112",
               {"ksi_asme": 2, "k_asme": b"\x11" * 32, "uplink_nas_count": 5, "downlink_nas_count": 3,
                "algorithms": 0x12},
               "TS 31.102 §4.2.92: a stored context (KSI 2, counts 5 / 3, EEA1 + EIA2)"),
    ),
)

# --- EF.NETPAR (6FC4): TS 31.102 §4.2.57, cell frequencies the terminal keeps -----------------------------

NETPAR = Codec(
    "EF.NETPAR",
    Record("cell_information" / GreedyBytes),  # the terminal's own TLV objects (A0 GSM, A1 FDD, A2 TDD)
    empty_is_filler=True,
    vectors=(
        Vector("FF" * 46, None, "TS 31.102 Annex E: FF..FF"),
        Vector("A00400010002" + "FF" * 40, {"cell_information": bytes.fromhex("A00400010002") + b"\xff" * 40},
               "TS 31.102 §4.2.57: a GSM cell information object"),
    ),
)

# --- DF.GSM-ACCESS (5F3B): EF.Kc (4F20), EF.KcGPRS (4F52), TS 31.102 §4.4.3.1, §4.4.3.2 --------------------

# Byte 9: the ciphering key sequence number n in b3..b1, b8..b4 "not used, set to 0" (TS 51.011 §10.3.1).
KC = Codec(
    "EF.Kc / EF.KcGPRS",
    Flat(Record("kc" / _bytes_of(8),
                "cksn_byte" / BitRecord("rfu" / Default(BitsInteger(5), 0), "cksn" / BitsInteger(3)),
                Filler()), ("cksn_byte",)),
    vectors=(
        Vector("FFFFFFFFFFFFFFFF07", {"kc": b"\xff" * 8, "cksn": 7},
               "TS 31.102 §4.4.3.1 note / TS 51.011 §10.3.1: '07' (n = 111, no key) after the administrative phase"),
        Vector("EAE4BE823AF9A08B02", {"kc": bytes.fromhex("EAE4BE823AF9A08B"), "cksn": 2},
               "specfacts §1: Kc of TS 35.208 set 1, sequence number 2"),
        Vector("FFFFFFFFFFFFFFFFFF", {"kc": b"\xff" * 8, "rfu": 0x1F, "cksn": 7},
               "TS 51.011 §10.3.1: a byte 9 of FF (unused bits set) is kept as read"),
    ),
)


def all_codecs() -> list[Codec]:
    return [v for v in globals().values() if isinstance(v, Codec)]

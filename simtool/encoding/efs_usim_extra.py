"""Codings of the ADF.USIM files the conformance table (simtool.fs.conformance) added: SMS storage, the
key-lifetime files, the EPS NAS security context, network parameters and DF.GSM-ACCESS.

Declared as construct structures, binary fields as `bytes`, every byte kept (RFU bits and padding decode to
fields of their own), so that `encode(decode(b)) == b` for any body that decodes. Initial values are
TS 31.102 Annex E's "suggested contents at pre-personalization" (they match the SAIP USIM templates and a
sysmoISIM-SJA2 read out by pySim's card sanitizer).
"""

from __future__ import annotations

from construct import (
    BitsInteger,
    BitStruct,
    Bytes,
    Const,
    Default,
    Enum,
    Flag,
    GreedyBytes,
    Int8ub,
    Int32ub,
    Nibble,
    Struct,
)

from simtool.encoding.codec import Codec, Vector

# --- EF.SMS (6F3C), EF.SMSS (6F43): TS 31.102 §4.2.25, §4.2.28 --------------------------------------------

# Status byte of an SMS record, §4.2.25: b1 used/free, b2..b3 direction and read state, b3..b5 report state.
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
    Struct("status" / SMS_STATUS, "remainder" / GreedyBytes),  # remainder: TS-SCA + TPDU (TS 24.011, 23.040)
    vectors=(
        Vector("00" + "FF" * 175, {"status": "free", "remainder": b"\xff" * 175},
               "TS 31.102 Annex E / SAIP template: an empty record is 00 FF..FF (b1 = 0: free space)"),
        Vector("03 07911356131313F3 0400" + "FF" * 165,
               {"status": "to_be_read", "remainder": bytes.fromhex("07911356131313F30400") + b"\xff" * 165},
               "TS 31.102 §4.2.25: status 03 = received, to be read; remainder starts with the TS-SCA"),
    ),
)
SMS_EMPTY_RECORD = SMS_RECORD.vectors[0].data

SMSS = Codec(
    "EF.SMSS",
    Struct(
        "last_tp_mr" / Int8ub,
        # b1 = 1: memory capacity available (flag unset); b2..b8 reserved, set to 1.
        "memory" / BitStruct("reserved" / Default(BitsInteger(7), 0x7F), "capacity_available" / Flag),
        "rfu" / GreedyBytes,
    ),
    vectors=(
        Vector("FFFF", {"last_tp_mr": 255, "memory": {"reserved": 127, "capacity_available": True}, "rfu": b""},
               "TS 31.102 §4.2.28, Annex E: FFFF"),
        Vector("2AFE", {"last_tp_mr": 42, "memory": {"reserved": 127, "capacity_available": False}, "rfu": b""},
               "TS 31.102 §4.2.28: b1 = 0, memory capacity exceeded"),
    ),
)

# --- EF.START-HFN (6F5B), EF.THRESHOLD (6F5C): TS 31.102 §4.2.51, §4.2.52 ----------------------------------

# A START value: 20 bits, the LSB in bit 1 of the third byte, the unused high nibble set to F.
_START = BitStruct("unused" / Default(Nibble, 0xF), "value" / BitsInteger(20))

START_HFN = Codec(
    "EF.START-HFN",
    Struct("start_cs" / _START, "start_ps" / _START),
    vectors=(
        Vector("F00000F00000", {"start_cs": {"unused": 15, "value": 0}, "start_ps": {"unused": 15, "value": 0}},
               "TS 31.102 Annex E: F00000F00000"),
        Vector("F01234F0ABCD", {"start_cs": {"unused": 15, "value": 0x01234},
                                "start_ps": {"unused": 15, "value": 0x0ABCD}}, "TS 31.102 §4.2.51 coding"),
    ),
)

THRESHOLD = Codec(
    "EF.THRESHOLD",
    _START,
    vectors=(Vector("FFFFFF", {"unused": 15, "value": 0xFFFFF}, "TS 31.102 Annex E: FFFFFF (the largest START)"),),
)

# --- EF.EPSNSC (6FE4): TS 31.102 §4.2.92, one record of X >= 54 bytes -------------------------------------

EPSNSC_RECORD = Codec(
    "EF.EPSNSC record",
    Struct(
        Const(b"\xa0\x34"),  # EPS NAS security context tag, 52 bytes of TLVs in this release
        Const(b"\x80\x01"), "ksi_asme" / Int8ub,  # b4..b8 coded 0; 07 = no key
        Const(b"\x81\x20"), "k_asme" / Bytes(32),
        Const(b"\x82\x04"), "uplink_nas_count" / Int32ub,
        Const(b"\x83\x04"), "downlink_nas_count" / Int32ub,
        Const(b"\x84\x01"), "algorithms" / Int8ub,  # selected NAS integrity (b1..b4) and ciphering (b5..b8)
        "padding" / GreedyBytes,  # X > 54: the rest of the record, FF
    ),
    empty_is_filler=True,
    vectors=(
        Vector("FF" * 54, None, "SAIP USIM template / a sysmoISIM-SJA2: the record as shipped, FF"),
        Vector("A034 800107 8120" + "00" * 32 + "8204 00000000 8304 00000000 840100",
               {"ksi_asme": 7, "k_asme": b"\x00" * 32, "uplink_nas_count": 0, "downlink_nas_count": 0,
                "algorithms": 0, "padding": b""},
               "TS 31.102 §4.2.92: KSI 07 = no key available"),
    ),
)

# --- EF.NETPAR (6FC4): TS 31.102 §4.2.57, cell frequencies the terminal keeps -----------------------------

NETPAR = Codec(
    "EF.NETPAR",
    Struct("cell_information" / GreedyBytes),  # the terminal's own TLV objects (A0 GSM, A1 FDD, A2 TDD)
    empty_is_filler=True,
    vectors=(
        Vector("FF" * 46, None, "TS 31.102 Annex E: FF..FF"),
        Vector("A00400010002" + "FF" * 40, {"cell_information": bytes.fromhex("A00400010002") + b"\xff" * 40},
               "TS 31.102 §4.2.57: a GSM cell information object"),
    ),
)

# --- DF.GSM-ACCESS (5F3B): EF.Kc (4F20), EF.KcGPRS (4F52), TS 31.102 §4.4.3.1, §4.4.3.2 --------------------

KC = Codec(
    "EF.Kc / EF.KcGPRS",
    Struct("kc" / Bytes(8), "cksn" / BitStruct("rfu" / Default(BitsInteger(5), 0), "n" / BitsInteger(3))),
    vectors=(
        Vector("FFFFFFFFFFFFFFFF07", {"kc": b"\xff" * 8, "cksn": {"rfu": 0, "n": 7}},
               "TS 31.102 §4.4.3.1 note: '07' = key not available after the administrative phase"),
        Vector("EAE4BE823AF9A08B02", {"kc": bytes.fromhex("EAE4BE823AF9A08B"), "cksn": {"rfu": 0, "n": 2}},
               "specfacts §1: Kc of TS 35.208 set 1, sequence number 2"),
    ),
)


def all_codecs() -> list[Codec]:
    return [v for v in globals().values() if isinstance(v, Codec)]

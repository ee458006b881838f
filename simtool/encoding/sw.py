"""Status words as one enum (TS 102 221 §10.2.1, TS 31.102 §7.3, TS 102 223 for 91xx/9300): the coding both
sides share. The card (`simtool.emulator`) answers them; the terminal (`simtool.commands.sw`) names their
meaning and raises for them. Only the numbers are shared: what each side does with them stays its own.

    SW.SECURITY == 0x6982;  SW.SECURITY.raw == b"\\x69\\x82";  SW(0x6982) is SW.SECURITY

`SW1` holds the first bytes whose second byte is a count (61xx, 6Cxx, 91xx, 9Fxx) or the tries left (63Cx).
"""

from __future__ import annotations

from enum import IntEnum
from functools import cached_property


class SW(IntEnum):
    """Exact status words, by what they say."""

    OK = 0x9000
    TOOLKIT_BUSY = 0x9300
    WARNING = 0x6200
    DATA_CORRUPTED = 0x6281
    END_REACHED = 0x6282
    FILE_INVALIDATED = 0x6283
    FILE_TERMINATED = 0x6285
    MORE_DATA = 0x62F1
    MORE_DATA_PROACTIVE = 0x62F2
    RESPONSE_DATA = 0x62F3
    MORE_DATA_EXPECTED = 0x63F1
    MORE_DATA_EXPECTED_PROACTIVE = 0x63F2
    VERIFY_FAILED = 0x63C0  # 63Cx: x tries left
    EXECUTION_ERROR = 0x6400
    EXECUTION_ERROR_CHANGED = 0x6500
    MEMORY = 0x6581
    WRONG_LENGTH = 0x6700
    CLA_FUNCTION = 0x6800
    NO_CHANNEL = 0x6881
    SM_NOT_SUPPORTED = 0x6882
    CHAINING_NOT_SUPPORTED = 0x6884
    NOT_ALLOWED = 0x6900
    WRONG_STRUCTURE = 0x6981
    SECURITY = 0x6982
    BLOCKED = 0x6983
    INVALIDATED = 0x6984
    CONDITIONS = 0x6985
    NO_EF = 0x6986
    WRONG_PARAMETERS = 0x6A00
    WRONG_DATA = 0x6A80
    FUNC_NOT_SUPPORTED = 0x6A81
    NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    NOT_ENOUGH_MEMORY = 0x6A84
    BAD_P1P2 = 0x6A86
    LC_INCONSISTENT = 0x6A87
    REF_NOT_FOUND = 0x6A88
    WRONG_OFFSET = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    TECHNICAL = 0x6F00
    SECURITY_MANAGEMENT = 0x9800
    AUTH_MAC = 0x9862
    CONTEXT_NOT_SUPPORTED = 0x9864
    KEY_FRESHNESS = 0x9865
    AUTH_NO_MEMORY = 0x9866
    AUTH_NO_MEMORY_MUK = 0x9867

    @cached_property
    def raw(self) -> bytes:
        """SW1 SW2 as the wire carries them (computed once per member)."""
        return self.to_bytes(2, "big")


class SW1(IntEnum):
    """First bytes whose second byte is a number."""

    RESPONSE_AVAILABLE = 0x61  # 61xx: xx bytes wait for GET RESPONSE
    VERIFY_FAILED = 0x63  # 63Cx: x tries left
    WRONG_LE = 0x6C  # 6Cxx: re-send with Le = xx
    PROACTIVE = 0x91  # 91xx: a proactive command of xx bytes waits for FETCH
    DATA_TRANSFER = 0x92  # 92xx: data-transfer information
    GSM_RESPONSE_AVAILABLE = 0x9F  # 9Fxx: (GSM SIM) xx response bytes


def counted(sw1: SW1, sw2: int) -> bytes:
    """SW1 with a count or tries left in SW2 (taken modulo 256: 256 bytes are `00`)."""
    return bytes([sw1, sw2 & 0xFF])


# --- the classic SIM's status words (TS 51.011 §9.4; specfacts-network-esim §15.3) ------------------------


class GsmSW(IntEnum):
    """Exact status words of the TS 51.011 command set (CLA A0). Counted ones (9Fxx, 67xx) use `counted`."""

    OK = 0x9000
    SAT_BUSY = 0x9300
    MEMORY = 0x9240  # memory problem
    NO_EF = 0x9400  # no EF selected
    OUT_OF_RANGE = 0x9402  # out of range (invalid address)
    NOT_FOUND = 0x9404  # file ID or pattern not found
    INCONSISTENT = 0x9408  # file inconsistent with the command
    NO_CHV = 0x9802  # no CHV initialised
    ACCESS = 0x9804  # access condition not fulfilled / CHV wrong / authentication failed
    CHV_STATUS = 0x9808  # in contradiction with CHV status
    INVALIDATION = 0x9810  # in contradiction with invalidation status
    CHV_BLOCKED = 0x9840  # CHV or UNBLOCK CHV blocked (no attempt left)
    INCREASE_MAX = 0x9850
    WRONG_P3 = 0x6700  # 67xx: incorrect P3 (xx: the length the card expects, where it knows one)
    BAD_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    TECHNICAL = 0x6F00

    @cached_property
    def raw(self) -> bytes:
        return self.to_bytes(2, "big")


class GsmSW1(IntEnum):
    RESPONSE_AVAILABLE = 0x9F  # 9Fxx: xx bytes wait for GET RESPONSE
    WRONG_P3 = 0x67  # 67xx: P3 should be xx
    RETRIES = 0x92  # 920x: done after x internal retries

"""The plan applet's contract from the operator's side (applet_spec/behaviour.md), sans I/O.

The applet's TAR and the SPI the operator uses, its OTA commands (top-up, set balance) as the secured
data of a TS 102 225 packet, and its answer inside the proof of receipt, decoded. Quantities as people
write them: "1GB" (10^9 bytes), "734MB", "7d". The packet's security is `simtool.crypto.ota`, the SMS and
ENVELOPE around it `simtool.commands.cat`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from simtool.errors import InputError

TAR = bytes.fromhex("BFFF4A")  # the applet's TAR (proprietary range BFFF00-BFFFFF)
# SPI1 16: CC, ciphering, process only if the counter is higher. SPI2 09: PoR required, with a CC, not
# ciphered (its status is readable without keys; the CC proves it came from the card).
SPI = bytes.fromhex("1609")
DEFAULT_ORIGINATOR = "+3197000000001"  # the OTA server's address in the SMS-DELIVER (a placeholder)

CMD_TOPUP = 0xA1
CMD_SET_BALANCE = 0xA2

UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
         "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
PLAN_STATES = {0x00: "inactive", 0x01: "active", 0x02: "expired"}
APPLET_SW = {0x9000: "applied", 0x6A80: "malformed or invalid command: nothing applied",
             0x6985: "no plan on the card: nothing applied"}


def parse_bytes(text: str) -> int:
    """"1GB" → 10^9, "734MB", "1.5 GB", "2GiB" → 2^31, "100" → 100 (DESIGN.md §5 units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in UNITS:
        raise InputError(f"{text!r}: a data size such as 1GB, 734MB or 2GiB (1 GB = 10^9 bytes)")
    number, unit = m.group(1), UNITS[m.group(2).lower()]
    whole, _, frac = number.partition(".")
    value = int(whole) * unit + (int(frac) * unit) // 10 ** len(frac) if frac else int(whole) * unit
    if value >= 2**64:
        raise InputError(f"{text!r}: too large for the card (8 bytes)")
    return value


def parse_days(text: str) -> int:
    """"7d", "7 days", "7" → 7."""
    m = re.fullmatch(r"\s*(\d+)\s*(d|day|days)?\s*", text, re.IGNORECASE)
    if not m or int(m.group(1)) > 0xFFFF:
        raise InputError(f"{text!r}: a number of days such as 7d")
    return int(m.group(1))


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag, len(value)]) + value


def topup(add_bytes: int = 0, extend_days: int = 0) -> bytes:
    """TOP UP: `A1 { 81 08 bytes to add, 82 02 days to add }`."""
    return _tlv(CMD_TOPUP, _tlv(0x81, add_bytes.to_bytes(8, "big")) + _tlv(0x82, extend_days.to_bytes(2, "big")))


def set_balance(remaining: int) -> bytes:
    """SET BALANCE (the network's usage count): `A2 { 81 08 bytes remaining }`."""
    return _tlv(CMD_SET_BALANCE, _tlv(0x81, remaining.to_bytes(8, "big")))


def applet_answer(por_status: int, por_data: bytes) -> dict[str, Any] | None:
    """The applet's part of a PoR (its additional data): SW1 SW2, then on success
    A0 {81 remaining, 82 total, 83 state, 84 expiry (UTC seconds), 85 validity days}. None when the
    packet never reached the applet (a security status other than 00)."""
    if por_status != 0x00 or len(por_data) < 2:
        return None
    sw = int.from_bytes(por_data[:2], "big")
    out: dict[str, Any] = {"sw": f"{sw:04X}", "result": APPLET_SW.get(sw, "refused: nothing applied")}
    data = por_data[2:]
    if sw != 0x9000 or len(data) < 2 or data[0] != 0xA0:
        return out
    fields, i, body = {}, 0, data[2 : 2 + data[1]]
    while i + 2 <= len(body):
        fields[body[i]] = body[i + 2 : i + 2 + body[i + 1]]
        i += 2 + body[i + 1]
    plan: dict[str, Any] = {}
    if 0x81 in fields:
        plan["remaining_bytes"] = int.from_bytes(fields[0x81], "big")
    if 0x82 in fields:
        plan["total_bytes"] = int.from_bytes(fields[0x82], "big")
    if 0x83 in fields and fields[0x83]:
        plan["state"] = PLAN_STATES.get(fields[0x83][0], f"{fields[0x83][0]:02X}")
    if 0x84 in fields:
        exp = int.from_bytes(fields[0x84], "big")
        plan["expires"] = datetime.fromtimestamp(exp, UTC).isoformat() if exp else None
    if 0x85 in fields:
        plan["validity_days"] = int.from_bytes(fields[0x85], "big")
    out["plan"] = plan
    return out

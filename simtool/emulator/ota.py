"""The receiving entity of TS 102 225 / TS 31.115 on the card: SMS-PP data download in, PoR out.

From the facts alone (specfacts §8.1-§8.2, applet_spec/behaviour.md "OTA"): unwrap the ENVELOPE's
SMS-DELIVER, take the command packet after the `70` UDH element, and check it in this order:

1. header readable (CPL, CHL, SPI, KIc, KID, TAR; reserved SPI bits clear; a CC or none) ....... else 06
2. TAR known ......................................................................................... else 09
3. SPI at least the TAR's minimum security level (MSL: CC, ciphering, counter) ................... else 0A
4. key set installed and named by KIc / KID (KVN, AES) ............................... else 06 / 05 / 01
5. ciphered part whole AES blocks, PCNTR within the data ................................... else 05
6. CC (AES-CMAC, first 8 bytes) over the header, counter, PCNTR and data .................... else 01
7. counter: not blocked (04), higher than the stored one (02), or exactly one higher (02 / 03) per SPI1

Only a packet that passes all seven reaches the application; the counter is stored with the
application's changes, in one durable write, so a packet that is refused changes nothing. A PoR for a
refused packet goes out unsecured (RHL 0A, counter zero); a PoR for an accepted one with the security
SPI2 asks for (CC, ciphering). The ciphering primitives come from `simtool.crypto.ota`; everything
about the packet layout is written here, independently of the sender's code.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from simtool.crypto import ota as sec
from simtool.encoding.ctlv import CtlvError, parse_ctlv
from simtool.encoding.sw import SW

RPI = b"\x02\x71\x00"
BLOCK = 16
CC_LEN = 8

OK = 0x00
CC_FAILED = 0x01
COUNTER_LOW = 0x02
COUNTER_HIGH = 0x03
COUNTER_BLOCKED = 0x04
CIPHERING_ERROR = 0x05
UNIDENTIFIED = 0x06
TAR_UNKNOWN = 0x09
INSUFFICIENT_SECURITY = 0x0A

COUNTER_MAX = 2**40 - 1


class SmsError(ValueError):
    """An ENVELOPE (SMS-PP download) that carries no readable TS 102 225 command: the card answers 6A80."""


@dataclass(frozen=True)
class KeySet:
    kvn: int
    kic: bytes
    kid: bytes


@dataclass(frozen=True)
class TarPolicy:
    """What the card knows about one TAR: its minimum security level, keys and stored counter."""

    msl: int  # SPI1 coding (b2b1 integrity, b3 ciphering, b5b4 counter)
    keys: KeySet | None
    counter: int


@dataclass
class Packet:
    """A command packet as far as it has been checked. `status` 00 = may be processed."""

    status: int
    tar: bytes = b"\x00\x00\x00"
    spi2: int | None = None  # None: the header could not be read, answer with a PoR anyway
    counter: int = 0
    data: bytes = b""
    keys: KeySet | None = None


# --- SMS-PP download: ENVELOPE value -> SMS-DELIVER -> user data -------------------------------------------


def sms_user_data(value: bytes) -> bytes:
    """The user data (UDH included) of the SMS-DELIVER inside an SMS-PP download's value (after D1 L)."""
    try:
        items = parse_ctlv(value)
    except CtlvError as e:
        raise SmsError(str(e)) from None
    tpdu = next((v for t, v in items if t == 0x0B), None)
    if tpdu is None:
        raise SmsError("no SMS TPDU")
    if len(tpdu) < 2 or tpdu[0] & 0x03 != 0x00:
        raise SmsError("not an SMS-DELIVER")
    if not tpdu[0] & 0x40:
        raise SmsError("no user data header")
    digits = tpdu[1]
    i = 3 + (digits + 1) // 2  # first octet, address length, TON/NPI, address
    if i + 3 + 7 > len(tpdu):
        raise SmsError("truncated SMS-DELIVER")
    pid, dcs = tpdu[i], tpdu[i + 1]
    i += 2 + 7  # PID, DCS, SCTS
    if pid != 0x7F:
        raise SmsError("not a (U)SIM data download (PID 7F)")
    eight_bit = (dcs & 0xF4) == 0xF4 or (dcs & 0xCC) == 0x04
    if not eight_bit:
        raise SmsError("the data coding is not 8-bit")
    udl = tpdu[i]
    ud = tpdu[i + 1 :]
    if udl != len(ud):
        raise SmsError("UDL does not match the user data")
    return ud


def command_packet(ud: bytes) -> bytes:
    """The packet after a user data header whose only element is the command packet identifier 70."""
    if not ud:
        raise SmsError("empty user data")
    udhl = ud[0]
    header = ud[1 : 1 + udhl]
    if len(header) != udhl:
        raise SmsError("truncated user data header")
    i, cpi = 0, False
    while i < len(header):
        if i + 2 > len(header) or i + 2 + header[i + 1] > len(header):
            raise SmsError("bad user data header")
        iei, n = header[i], header[i + 1]
        if iei == 0x70 and n == 0:
            cpi = True
        elif iei in (0x00, 0x08):  # concatenated SMS: not supported by this applet
            raise SmsError("concatenated command packets are not supported")
        i += 2 + n
    if not cpi:
        raise SmsError("no command packet identifier (UDH element 70)")
    return ud[1 + udhl :]


# --- the seven checks -----------------------------------------------------------------------------------


def _meets(spi1: int, msl: int) -> bool:
    return ((spi1 & 0x03) >= (msl & 0x03) and (spi1 & 0x04) >= (msl & 0x04)
            and (spi1 & 0x18) >= (msl & 0x18))


def check(packet: bytes, policy_for: dict[bytes, TarPolicy]) -> Packet:
    """Run checks 1-7 on a command packet (CPL … end). Never raises on any bytes."""
    if len(packet) < 10:
        return Packet(UNIDENTIFIED)
    cpl = int.from_bytes(packet[0:2], "big")
    chl = packet[2]
    spi1, spi2, kic_b, kid_b = packet[3], packet[4], packet[5], packet[6]
    tar = bytes(packet[7:10])
    if cpl != len(packet) - 2 or chl not in (13, 13 + CC_LEN) or 3 + chl > len(packet):
        return Packet(UNIDENTIFIED, tar)
    cc_len = chl - 13
    integrity = spi1 & 0x03
    if (spi1 & 0xE0 or spi2 & 0xC0 or spi2 & 0x0C in (0x04, 0x0C) or spi2 & 0x03 == 0x03
            or integrity in (0x01, 0x03) or (integrity == 0x02) != (cc_len == CC_LEN)):
        return Packet(UNIDENTIFIED, tar)  # reserved bits, RC/DS, or a CHL that does not fit the SPI
    policy = policy_for.get(tar)
    if policy is None:
        return Packet(TAR_UNKNOWN, tar, spi2)
    if not _meets(spi1, policy.msl):
        return Packet(INSUFFICIENT_SECURITY, tar, spi2)
    keys = policy.keys
    if keys is None:
        return Packet(UNIDENTIFIED, tar, spi2)
    expect = (keys.kvn << 4) | 0x02  # KVN, AES, CBC (KIc) / CMAC (KID)
    if spi1 & 0x04 and kic_b != expect:
        return Packet(CIPHERING_ERROR, tar, spi2)
    if integrity and kid_b != expect:
        return Packet(CC_FAILED, tar, spi2)
    secured = bytes(packet[10:])
    if spi1 & 0x04:
        if not secured or len(secured) % BLOCK:
            return Packet(CIPHERING_ERROR, tar, spi2)
        secured = sec.cbc_decrypt(keys.kic, secured)
    if len(secured) < 6 + cc_len:
        return Packet(UNIDENTIFIED, tar, spi2)
    counter = int.from_bytes(secured[0:5], "big")
    pcntr = secured[5]
    checksum = secured[6 : 6 + cc_len]
    body = secured[6 + cc_len :]
    if cc_len and not hmac.compare_digest(sec.cc(keys.kid, packet[0:10] + secured[0:6] + body), checksum):
        return Packet(CC_FAILED, tar, spi2)
    if pcntr > len(body) or (pcntr and not spi1 & 0x04):
        return Packet(CIPHERING_ERROR, tar, spi2)
    mode = spi1 & 0x18
    if mode:
        if policy.counter >= COUNTER_MAX:
            return Packet(COUNTER_BLOCKED, tar, spi2)
        if counter <= policy.counter:
            return Packet(COUNTER_LOW, tar, spi2)
        if mode == 0x18 and counter != policy.counter + 1:
            return Packet(COUNTER_HIGH, tar, spi2)
    data = body[: len(body) - pcntr]
    return Packet(OK, tar, spi2, counter, data, keys)


# --- proof of receipt -----------------------------------------------------------------------------------


def por(packet: Packet, status: int, data: bytes = b"") -> bytes | None:
    """The response packet (SMS user data from `027100`) for `packet`, or None when SPI2 wants no PoR.

    status 00 is secured as SPI2 asks (CC with the KID, ciphering with the KIc) and echoes the counter;
    any other status goes out unsecured with a zero counter (its sender may not hold the keys)."""
    spi2 = packet.spi2
    if spi2 is not None:
        wanted = spi2 & 0x03
        if wanted == 0x00 or (wanted == 0x02 and status == OK and data[:2] in (b"", SW.OK.raw)):
            return None
    secure = status == OK and packet.keys is not None and spi2 is not None
    cc_len = CC_LEN if secure and spi2 & 0x08 else 0  # type: ignore[operator]
    cipher = secure and bool(spi2 & 0x10)  # type: ignore[operator]
    counter = packet.counter if secure else 0
    pad = (-(5 + 1 + 1 + cc_len + len(data)) % BLOCK) if cipher else 0
    rhl = 10 + cc_len
    rpl = 1 + 3 + 5 + 1 + 1 + cc_len + len(data) + pad
    head = RPI + rpl.to_bytes(2, "big") + bytes([rhl]) + packet.tar
    fields = counter.to_bytes(5, "big") + bytes([pad, status])
    body = bytes(data) + bytes(pad)
    checksum = sec.cc(packet.keys.kid, head + fields + body) if cc_len else b""  # type: ignore[union-attr]
    secured = fields + checksum + body
    if cipher:
        secured = sec.cbc_encrypt(packet.keys.kic, secured)  # type: ignore[union-attr]
    return head + secured

"""OTA security for SMS-PP (TS 102 225 / TS 31.115, "SCP80"), AES only: the sending entity's side.

Facts: specfacts §8.1-§8.2 (command and response packets, SPI, KIc/KID, counters, padding, PoR status
codes) with the worked example of §8.2.1 as the test vector below. What this module does:

* the primitives both ends use: AES-CBC with a zero IV (ciphering), AES-CMAC truncated to 8 bytes (the
  cryptographic checksum, CC), block padding;
* `OtaKeys`: one card's KIc/KID key set, with its key version number (KVN), kept in a 0600 JSON file;
* `command_packet(...)`: a secured command packet (CPL … end) as an OTA server sends it, and
  `decode_por(...)`: the proof of receipt a card sends back, checked and deciphered when keys are given.

The card's side (parsing, checks, counters, building the PoR) is written separately in
`simtool.emulator.ota`, from the same facts: the two ends share these primitives and nothing else.
Errors never carry key bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from simtool.crypto._util import BytesLike, need
from simtool.crypto.secrets import kcv, write_secret_file
from simtool.crypto.vector import Vector
from simtool.errors import InputError
from simtool.inputs import MAX_SECRET_FILE, read_bounded

__all__ = [
    "BLOCK",
    "CC_LENGTH",
    "KEY_FILE_FORMAT",
    "POR_STATUS",
    "VECTORS",
    "OtaKeys",
    "Por",
    "cbc_decrypt",
    "cbc_encrypt",
    "cc",
    "command_packet",
    "decode_por",
    "read_ota_keys",
    "run_vector",
    "write_ota_keys",
]

BLOCK = 16  # AES block
CC_LENGTH = 8  # AES-CMAC truncated to its first 8 bytes (specfacts §8.1.4)
HEADER_FIXED = 13  # CHL counts SPI(2) KIc KID TAR(3) CNTR(5) PCNTR: 13 bytes + the CC
KEY_SIZES = (16, 24, 32)
KEY_FILE_FORMAT = "simtool-ota-keys"
CPI = b"\x02\x70\x00"  # command UDH: UDHL 02, IEI 70 (command packet identifier), IEIDL 00
RPI = b"\x02\x71\x00"  # response UDH: IEI 71

# SPI1 (TS 102 225 §5.1.1)
SPI1_CC = 0x02
SPI1_CIPHER = 0x04
SPI1_COUNTER_HIGHER = 0x10  # process only if CNTR > the card's value
SPI1_COUNTER_NEXT = 0x18  # process only if CNTR = the card's value + 1
# SPI2
SPI2_POR = 0x01  # PoR required
SPI2_POR_ON_ERROR = 0x02
SPI2_POR_CC = 0x08
SPI2_POR_CIPHERED = 0x10

# PoR status codes (TS 102 225 §5.2 table, TS 31.115 §7; specfacts §8.1.6).
POR_STATUS: dict[int, str] = {
    0x00: "PoR OK",
    0x01: "RC/CC/DS failed",
    0x02: "counter low",
    0x03: "counter high",
    0x04: "counter blocked",
    0x05: "ciphering error",
    0x06: "unidentified security error",
    0x07: "insufficient memory",
    0x08: "more time needed",
    0x09: "TAR unknown",
    0x0A: "insufficient security level",
    0x0B: "response data in an SMS-SUBMIT",
    0x0C: "response data in a USSD request",
}


# --- primitives -----------------------------------------------------------------------------------------


def cbc_encrypt(key: BytesLike, data: BytesLike) -> bytes:
    """AES-CBC with a zero IV over block-aligned `data` (the sender pads first)."""
    k = need("KIc", key, KEY_SIZES)
    d = bytes(data)
    if len(d) % BLOCK:
        raise ValueError(f"ciphering needs whole {BLOCK}-byte blocks, got {len(d)} bytes")
    enc = Cipher(algorithms.AES(k), modes.CBC(bytes(BLOCK))).encryptor()
    return enc.update(d) + enc.finalize()


def cbc_decrypt(key: BytesLike, data: BytesLike) -> bytes:
    k = need("KIc", key, KEY_SIZES)
    d = bytes(data)
    if len(d) % BLOCK:
        raise ValueError(f"deciphering needs whole {BLOCK}-byte blocks, got {len(d)} bytes")
    dec = Cipher(algorithms.AES(k), modes.CBC(bytes(BLOCK))).decryptor()
    return dec.update(d) + dec.finalize()


def cc(key: BytesLike, data: BytesLike) -> bytes:
    """The cryptographic checksum: AES-CMAC (SP 800-38B) over the unpadded input, first 8 bytes."""
    c = CMAC(algorithms.AES(need("KID", key, KEY_SIZES)))
    c.update(bytes(data))
    return c.finalize()[:CC_LENGTH]


def padding_for(n: int) -> int:
    """Bytes of padding that bring `n` bytes to whole AES blocks."""
    return -n % BLOCK


# --- key sets -------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class OtaKeys:
    """One card's OTA key set: KIc (AES-CBC) and KID (AES-CMAC) with their key version number."""

    kic: bytes
    kid: bytes
    kvn: int = 1
    iccid: str | None = None  # the card these keys were made for, when known

    def __post_init__(self) -> None:
        need("KIc", self.kic, KEY_SIZES)
        need("KID", self.kid, KEY_SIZES)
        if isinstance(self.kvn, bool) or not isinstance(self.kvn, int) or not 1 <= self.kvn <= 15:
            raise ValueError(f"the key version number (KVN) is 1..15, got {self.kvn!r}")

    @classmethod
    def generate(cls, kvn: int = 1, size: int = 16, iccid: str | None = None) -> OtaKeys:
        """A fresh pair from the OS CSPRNG (AES-128 by default)."""
        if size not in KEY_SIZES:
            raise ValueError(f"AES keys are 16, 24 or 32 bytes, not {size}")
        return cls(os.urandom(size), os.urandom(size), kvn, iccid)

    @property
    def kic_byte(self) -> int:
        """The KIc header byte: KVN in b8..b5, AES (10) in b2b1, CBC (00) in b4b3."""
        return (self.kvn << 4) | 0x02

    @property
    def kid_byte(self) -> int:
        """The KID header byte: KVN, AES, CMAC."""
        return (self.kvn << 4) | 0x02

    def kcvs(self) -> dict[str, str]:
        """Key check values that name the keys without revealing them (DESIGN.md §4)."""
        return {"kic_kcv": kcv(self.kic), "kid_kcv": kcv(self.kid)}

    def card_file_value(self) -> dict[str, Any]:
        """The decoded value of the card's EF.OTA_KEYS (simtool.encoding.efs.OTA_KEYS)."""
        return {"kvn": self.kvn, "kic": bytes(self.kic), "kid": bytes(self.kid)}

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": KEY_FILE_FORMAT, "version": 1, "algorithm": "aes",
                               "kvn": self.kvn, "kic": self.kic.hex(), "kid": self.kid.hex(), **self.kcvs()}
        if self.iccid:
            doc["iccid"] = self.iccid
        return doc

    def __repr__(self) -> str:
        return f"OtaKeys(kvn={self.kvn}, kic=<secret {kcv(self.kic)}>, kid=<secret {kcv(self.kid)}>)"

    __str__ = __repr__


def write_ota_keys(path: str | os.PathLike[str], keys: OtaKeys, *, overwrite: bool = False) -> None:
    """Write the key set as JSON, mode 0600, atomically; an existing file is never replaced unless asked."""
    write_secret_file(path, (json.dumps(keys.to_json(), indent=1) + "\n").encode(), overwrite=overwrite)


def read_ota_keys(path: str | os.PathLike[str]) -> OtaKeys:
    """Read a key file written by `write_ota_keys`; errors name the file and the problem, never a key."""
    source = Path(path)
    raw = read_bounded(source, MAX_SECRET_FILE, f"{source}", hint=" for an OTA key file", kind="OTA key file")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InputError(f"{source}: not an OTA key file (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
        raise InputError(f"{source}: not an OTA key file ('format' is not {KEY_FILE_FORMAT!r})")
    try:
        keys = OtaKeys(bytes.fromhex(doc["kic"]), bytes.fromhex(doc["kid"]), int(doc.get("kvn", 1)),
                       doc.get("iccid"))
    except (KeyError, TypeError, ValueError) as e:
        what = f"{e} missing" if isinstance(e, KeyError) else "kic/kid must be hex AES keys, kvn 1..15"
        raise InputError(f"{source}: broken OTA key file: {what}") from None
    for name in ("kic", "kid"):
        stated = doc.get(f"{name}_kcv")
        if stated is not None and stated != kcv(getattr(keys, name)):
            raise InputError(f"{source}: {name.upper()} does not match its key check value {stated}")
    return keys


# --- command packet (sender) ----------------------------------------------------------------------------


def command_packet(keys: OtaKeys, *, spi: bytes, tar: bytes, counter: int, data: bytes,
                   kic_byte: int | None = None, kid_byte: int | None = None) -> bytes:
    """The secured command packet CPL ‖ CHL ‖ SPI ‖ KIc ‖ KID ‖ TAR ‖ (CNTR ‖ PCNTR ‖ CC ‖ data ‖ padding),
    the part in brackets ciphered when SPI1 asks for it (specfacts §8.1.1). CC: AES-CMAC over
    CPL…PCNTR ‖ data ‖ padding, computed before ciphering. Only AES and an 8-byte CC (or none)."""
    if len(spi) != 2 or len(tar) != 3:
        raise ValueError("SPI is 2 bytes and TAR 3 bytes")
    if not 0 <= counter < 2**40:
        raise ValueError("the counter is 5 bytes (0 .. 2^40-1)")
    spi1 = spi[0]
    integrity = spi1 & 0x03
    if integrity not in (0x00, SPI1_CC):
        raise ValueError("only no integrity or a cryptographic checksum (CC) is supported")
    cc_len = CC_LENGTH if integrity == SPI1_CC else 0
    ciphered = bool(spi1 & SPI1_CIPHER)
    pad = padding_for(5 + 1 + cc_len + len(data)) if ciphered else 0
    kic_b = keys.kic_byte if kic_byte is None else kic_byte
    kid_b = keys.kid_byte if kid_byte is None else kid_byte
    chl = HEADER_FIXED + cc_len
    cpl = 1 + chl + len(data) + pad
    head = cpl.to_bytes(2, "big") + bytes([chl]) + bytes(spi) + bytes([kic_b, kid_b]) + bytes(tar)
    cntr = counter.to_bytes(5, "big") + bytes([pad])
    body = bytes(data) + bytes(pad)
    checksum = cc(keys.kid, head + cntr + body) if cc_len else b""
    secured = cntr + checksum + body
    if ciphered:
        secured = cbc_encrypt(keys.kic, secured)
    return head + secured


# --- proof of receipt (sender reads it) -----------------------------------------------------------------


@dataclass(frozen=True)
class Por:
    """A decoded response packet. `cc_ok` is None when it carries no CC or no keys were given."""

    tar: bytes
    counter: int | None
    status: int
    data: bytes
    cc_ok: bool | None
    ciphered: bool
    raw: bytes
    has_cc: bool = False

    @property
    def status_name(self) -> str:
        name = POR_STATUS.get(self.status)
        if name is not None:
            return name
        return "proprietary" if 0xC0 <= self.status <= 0xFE else "reserved"

    @property
    def ok(self) -> bool:
        return self.status == 0x00 and self.cc_ok is not False

    def as_dict(self) -> dict[str, Any]:
        return {"tar": self.tar.hex().upper(), "counter": self.counter, "status": f"{self.status:02X}",
                "status_name": self.status_name, "secured": self.has_cc, "cc_verified": self.cc_ok,
                "ciphered": self.ciphered, "data": self.data.hex().upper()}


class PorError(ValueError):
    """Bytes that are not a response packet."""


def decode_por(ud: bytes, keys: OtaKeys | None = None, *, ciphered: bool | None = None) -> Por:
    """Read a PoR (the SMS user data starting `027100`, specfacts §8.1.6).

    With `keys` the CC is checked (`cc_ok`), and a ciphered PoR deciphered. Whether a PoR is ciphered
    follows from the SPI2 the sender asked for: pass `ciphered` when known. With None, a PoR that carries
    a CC and whole AES blocks is tried deciphered first (kept if its CC verifies), then as plain text."""
    ud = bytes(ud)
    if len(ud) < 3 + 2 + 1 + 3 or ud[:3] != RPI:
        raise PorError("not a response packet (no 027100 header)")
    rpl = int.from_bytes(ud[3:5], "big")
    if rpl != len(ud) - 5:
        raise PorError(f"RPL {rpl} does not match the {len(ud) - 5} bytes that follow it")
    rhl = ud[5]
    if rhl < 10 or 6 + rhl > len(ud):
        raise PorError(f"RHL {rhl} is not a response header length")
    cc_len = rhl - 10
    tar = ud[6:9]
    rest = ud[9:]

    def parse(plain: bytes, was_ciphered: bool) -> Por | None:
        if len(plain) < 7 + cc_len:
            return None
        counter = int.from_bytes(plain[0:5], "big")
        pcntr, status = plain[5], plain[6]
        checksum = plain[7 : 7 + cc_len]
        body = plain[7 + cc_len :]
        if pcntr > len(body):
            return None
        cc_ok = None
        if cc_len and keys is not None:
            cc_ok = cc(keys.kid, ud[:9] + plain[0:7] + body) == checksum
        data = body[: len(body) - pcntr] if pcntr else body
        return Por(tar, counter, status, data, cc_ok, was_ciphered, ud, bool(cc_len))

    if ciphered is None:
        ciphered = bool(keys is not None and cc_len and len(rest) % BLOCK == 0)
        if ciphered:
            por = parse(cbc_decrypt(keys.kic, rest), True) if keys else None
            if por is not None and por.cc_ok:
                return por
            ciphered = False
    if ciphered:
        if keys is None:
            raise PorError("the PoR is ciphered: its status needs the KIc (--ota-keys)")
        if len(rest) % BLOCK:
            raise PorError("a ciphered PoR is whole AES blocks")
        por = parse(cbc_decrypt(keys.kic, rest), True)
    else:
        por = parse(rest, False)
    if por is None:
        raise PorError("the PoR's header and length do not fit together")
    return por


# --- vectors (specfacts §8.2.1, pySim test_ota.py and an independent rebuild agree) ----------------------

VECTORS = [
    Vector(
        name="specfacts-8.2.1-aes-command",
        inputs={"kic": "000102030405060708090a0b0c0d0e0f", "kid": "101112131415161718191a1b1c1d1e1f",
                "spi": "1619", "tar": "b00010", "counter": "0000000001",
                "data": "00a4000c026f3700d6000003000100"},
        outputs={"cc": "4cedc4f5c1c563cb",
                 "packet": "002815161912" "12b00010bed4a21ef98e17fe81c5601cb3c4e38a34e90a81c7b45f493ec471d8602c5330"},
        params={"kvn": 1},
    ),
    Vector(
        name="specfacts-8.2.1-aes-por-cc",
        inputs={"kid": "101112131415161718191a1b1c1d1e1f",
                "cc_input": "0271000024" "12b00010" "0000000001" "0e00" "029000" + "00" * 14},
        outputs={"cc": "5ff97548a6c14d85"},
    ),
]


def run_vector(v: Vector) -> dict[str, bytes]:
    if "cc_input" in v.inputs:
        return {"cc": cc(v.input("kid"), v.input("cc_input"))}
    keys = OtaKeys(v.input("kic"), v.input("kid"), int(v.params.get("kvn", 1)))
    counter = int.from_bytes(v.input("counter"), "big")
    packet = command_packet(keys, spi=v.input("spi"), tar=v.input("tar"), counter=counter, data=v.input("data"))
    pad = padding_for(5 + 1 + CC_LENGTH + len(v.input("data")))
    head = packet[:10]
    cc_input = head + v.input("counter") + bytes([pad]) + v.input("data") + bytes(pad)
    return {"cc": cc(keys.kid, cc_input), "packet": packet}

"""Codings of the ADF.ISIM files (TS 31.103 §4.2): IMPI, DOMAIN, IMPU, IST and P-CSCF, and the TS 23.003
names a card's IMS identities are derived from.

Each identity file holds one BER-TLV with tag '80' (TS 31.103 §4.2.2-4.2.4, §4.2.8), FF after it; the
length is the shortest BER form (one byte below 128, `81 xx` up to 255), as a card writes it, so every
body that decodes encodes back to the same bytes. The text is UTF-8. EF.AD and EF.ARR of the ISIM share
their codings with the USIM's (`simtool.encoding.efs`). Sources: specfacts-network-esim.md §14 (pySim
`ts_31_103.py` vectors, a sysmoISIM-SJA2 read out by pySim's card sanitizer, TS 23.003 §13).

    ims_domain("204", "08")      # 'ims.mnc008.mcc204.3gppnetwork.org'
    IMPI.encode(impi("204080000000001", "ims.mnc008.mcc204.3gppnetwork.org"), 128)
"""

from __future__ import annotations

import ipaddress
from typing import Any

from construct import (
    Adapter,
    Const,
    Construct,
    Enum,
    Error,
    FocusedSeq,
    GreedyBytes,
    Int8ub,
    Prefixed,
    Struct,
    Switch,
    this,
)
from construct.core import stream_read, stream_write

from simtool.encoding.blocks import service_table
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.services import IST_BY_NAME, IST_SERVICES
from simtool.encoding.types import DecodeError, EncodeError, Filler

# --- TS 23.003 names --------------------------------------------------------------------------------------


def ims_domain(mcc: str, mnc: str) -> str:
    """The home network domain, TS 23.003 §13.2: a 2-digit MNC gets a leading 0 (`mnc008`)."""
    return f"ims.mnc{mnc.zfill(3)}.mcc{mcc}.3gppnetwork.org"


def impi(imsi: str, domain: str) -> str:
    """The private user identity derived from the IMSI, TS 23.003 §13.3: `<IMSI>@<domain>`."""
    return f"{imsi}@{domain}"


def impu(imsi: str, domain: str) -> str:
    """The temporary public user identity, `sip:<IMSI>@<domain>` (TS 23.003; as TS.48's IMPU record 1)."""
    return f"sip:{imsi}@{domain}"


# --- building blocks -------------------------------------------------------------------------------------


class BerLength(Construct):
    """A BER-TLV length in its shortest form: 00..7F, or 81 80..81 FF. Longer or redundant forms (`81 05`)
    are not what a card writes and do not decode, so decode and encode stay each other's inverse."""

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        first = stream_read(stream, 1, path)[0]
        if first < 0x80:
            return int(first)
        if first != 0x81:
            raise DecodeError(f"BER length form {first:02X} (only 00..7F and 81 xx)")
        n = int(stream_read(stream, 1, path)[0])
        if n < 0x80:
            raise DecodeError(f"BER length 81 {n:02X} is not the shortest form")
        return n

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> int:
        n = int(obj)
        if not 0 <= n <= 0xFF:
            raise EncodeError(f"a TLV of {n} bytes (at most 255 here)")
        stream_write(stream, bytes([n]) if n < 0x80 else bytes([0x81, n]), 1 if n < 0x80 else 2, path)
        return n


class Utf8(Adapter):
    """UTF-8 text (strict both ways)."""

    def __init__(self) -> None:
        super().__init__(GreedyBytes)

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return bytes(obj).decode("utf-8")

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        return obj.encode("utf-8")

    def problems(self, obj: Any) -> list[str]:
        return [] if isinstance(obj, str) else [f"expected text, got {type(obj).__name__}"]


def tag80(name: str, inner: Any) -> Any:
    """`80 L <inner>` then the file's FF padding: the one TLV an ISIM identity file (or record) holds."""
    return FocusedSeq(name, Const(b"\x80"), name / Prefixed(BerLength(), inner), Filler())


# --- EF.IMPI (6F02), EF.DOMAIN (6F03), EF.IMPU (6F04): TS 31.103 §4.2.2-4.2.4 -------------------------------

IMPI = Codec(
    "EF.IMPI",
    tag80("nai", Utf8()),
    empty_is_filler=True,
    vectors=(
        Vector("8031" + b"738006000000101@ims.mnc000.mcc738.3gppnetwork.org".hex(),
               "738006000000101@ims.mnc000.mcc738.3gppnetwork.org", "pySim ts_31_103 vector"),
        Vector("8031" + b"204080000000001@ims.mnc008.mcc204.3gppnetwork.org".hex() + "FFFF",
               "204080000000001@ims.mnc008.mcc204.3gppnetwork.org",
               "TS 23.003 §13.3 for IMSI 204080000000001 (MNC 08 written mnc008), FF padded"),
        Vector("FF" * 8, None, "a sysmoISIM-SJA2 as shipped: erased"),
    ),
)

DOMAIN = Codec(
    "EF.DOMAIN",
    tag80("domain", Utf8()),
    empty_is_filler=True,
    vectors=(
        Vector("8021" + b"ims.mnc000.mcc738.3gppnetwork.org".hex(), "ims.mnc000.mcc738.3gppnetwork.org",
               "pySim ts_31_103 vector"),
        Vector("8021" + b"ims.mnc008.mcc204.3gppnetwork.org".hex() + "FF" * 4,
               "ims.mnc008.mcc204.3gppnetwork.org", "TS 23.003 §13.2 for MCC 204 MNC 08, FF padded"),
    ),
)

IMPU_RECORD = Codec(
    "EF.IMPU record",
    tag80("uri", Utf8()),
    empty_is_filler=True,
    vectors=(
        Vector("8035" + b"sip:738006000000101@ims.mnc000.mcc738.3gppnetwork.org".hex(),
               "sip:738006000000101@ims.mnc000.mcc738.3gppnetwork.org", "pySim ts_31_103 vector"),
        Vector("800F" + b"tel:+3165312345".hex() + "FFFF", "tel:+3165312345",
               "TS 31.103 §4.2.4: a TEL URI (RFC 3966)"),
        Vector("8000" + "FF" * 6, "", "a sysmoISIM-SJA2 as shipped: records 2-8 hold an empty TLV"),
    ),
)

# --- EF.P-CSCF (6F09): TS 31.103 §4.2.8, `80 L <type> <address>` ---------------------------------------------


class IpAddress(Adapter):
    """An IPv4 (4 bytes) or IPv6 (16 bytes) address as its canonical text."""

    def __init__(self, version: int) -> None:
        super().__init__(GreedyBytes)
        self.version = version
        self.cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        try:
            return str(self.cls(bytes(obj)))
        except ipaddress.AddressValueError as e:
            raise DecodeError(f"IPv{self.version} address: {e}") from None

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        try:
            return self.cls(obj).packed
        except (ipaddress.AddressValueError, ValueError) as e:
            raise EncodeError(f"not an IPv{self.version} address: {obj!r} ({e})") from None

    def problems(self, obj: Any) -> list[str]:
        return [] if isinstance(obj, str) else [f"expected an address as text, got {type(obj).__name__}"]


PCSCF_TYPES = {"fqdn": 0x00, "ipv4": 0x01, "ipv6": 0x02}

PCSCF_RECORD = Codec(
    "EF.P-CSCF record",
    tag80("pcscf", Struct(
        "type" / Enum(Int8ub, **PCSCF_TYPES),
        "address" / Switch(this.type, {"fqdn": Utf8(), "ipv4": IpAddress(4), "ipv6": IpAddress(6)}, default=Error),
    )),
    empty_is_filler=True,
    vectors=(
        Vector("802C00" + b"pcscf.ims.mnc000.mcc738.pub.3gppnetwork.org".hex(),
               {"type": "fqdn", "address": "pcscf.ims.mnc000.mcc738.pub.3gppnetwork.org"}, "pySim ts_31_103 vector"),
        Vector("800501C0A80C22", {"type": "ipv4", "address": "192.168.12.34"}, "pySim ts_31_103 vector"),
        Vector("801102FE800000000000000042D7FFFE530335FF",
               {"type": "ipv6", "address": "fe80::42:d7ff:fe53:335"}, "pySim ts_31_103 vector, FF padded"),
    ),
)


def pcscf_value(address: str) -> dict[str, str]:
    """A P-CSCF as a profile writes it (an FQDN or an IP address) → the record's value, its type inferred."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return {"type": "fqdn", "address": address}
    return {"type": f"ipv{ip.version}", "address": str(ip)}


# --- EF.IST (6F07): TS 31.103 §4.2.7, a bit map like the UST ------------------------------------------------

IST = Codec(
    "EF.IST",
    service_table(IST_SERVICES, IST_BY_NAME, "IST"),
    filler=b"\x00",
    vectors=(
        Vector("190200", ["pcscf_address", "gba_local_key_establishment", "pcscf_discovery_local_breakout",
                          "uicc_access_to_ims"], "a sysmoISIM-SJA2 as shipped (pySim card-sanitizer backup)"),
        Vector("000000", [], "no service"),
        Vector("810000", ["pcscf_address", "sm_over_ip"], "TS 31.103 §4.2.7: service n = bit (n-1)%8 of byte (n-1)//8"),
    ),
)


def all_codecs() -> list[Codec]:
    return [v for v in globals().values() if isinstance(v, Codec)]

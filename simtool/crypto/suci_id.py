"""The SUCI as a string and the home network key file: what `simtool suci` reads and writes.

String form (TS 23.003 §2.2B / §28.7.3, as TS 29.503 carries it): `suci-0-<MCC>-<MNC>-<routing indicator>-
<protection scheme id>-<home network public key id>-<scheme output>`; SUPI type 0 is an IMSI, the scheme
output is the MSIN's digits for the null scheme and lowercase hex otherwise. Example:
`suci-0-204-08-0-0-0-0000000001` (null scheme, no key).

The key file is JSON, 0600, refused over an existing file unless asked: the scheme, the key id and both
keys as hex. It holds the home network private key (the SIDF's secret): never printed, never in a profile.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from simtool.crypto import suci
from simtool.crypto.secrets import write_secret_file
from simtool.errors import InputError
from simtool.inputs import read_bounded

KEY_FILE_FORMAT = "simtool-suci-hn-key-1"
MAX_KEY_FILE = 4096
_SUCI = re.compile(r"^suci-(\d)-(\d{3})-(\d{2,3})-(\d{1,4})-(\d{1,2})-(\d{1,3})-([0-9A-Fa-f]+)$")


@dataclass(frozen=True)
class Suci:
    mcc: str
    mnc: str
    routing_indicator: str
    scheme_id: int
    key_id: int
    output: str  # the MSIN (null scheme) or the scheme output in hex

    def __str__(self) -> str:
        return (f"suci-0-{self.mcc}-{self.mnc}-{self.routing_indicator}-{self.scheme_id}-{self.key_id}-"
                f"{self.output}")


def check_routing_indicator(ri: str) -> str:
    if not (ri.isascii() and ri.isdigit()) or not 1 <= len(ri) <= 4:
        raise InputError(f"routing indicator: 1 to 4 digits (TS 24.501 §9.11.3.4), got {ri!r}")
    return ri


def check_key_id(key_id: int) -> int:
    if not 0 <= key_id <= 255:
        raise InputError(f"key id: 0 to 255 (one byte, TS 24.501 §9.11.3.4), got {key_id}")
    return key_id


def split_imsi(imsi: str, mnc_length: int) -> tuple[str, str, str]:
    if not (imsi.isascii() and imsi.isdigit()) or not 6 <= len(imsi) <= 15:
        raise InputError(f"--imsi: 6 to 15 digits, got {len(imsi)} characters")
    if mnc_length not in (2, 3):
        raise InputError(f"--mnc-length: 2 or 3, got {mnc_length}")
    return imsi[:3], imsi[3:3 + mnc_length], imsi[3 + mnc_length:]


def conceal_imsi(imsi: str, scheme: str, hn_public: bytes | None, key_id: int, routing_indicator: str = "0",
                 mnc_length: int = 2) -> Suci:
    """The SUCI of an IMSI. `scheme` is "null", "A" or "B"; the null scheme takes no key (key id 0)."""
    mcc, mnc, msin = split_imsi(imsi, mnc_length)
    check_routing_indicator(routing_indicator)
    if scheme == "null":
        return Suci(mcc, mnc, routing_indicator, 0, 0, msin)
    if hn_public is None:
        raise InputError(f"scheme {scheme}: --key-pub is required")
    try:
        out = suci.conceal(suci.msin_encode(msin), scheme, hn_public)
    except suci.SuciError as e:
        raise InputError(str(e)) from None
    return Suci(mcc, mnc, routing_indicator, suci.SCHEME_IDS[scheme], check_key_id(key_id), out.hex())


def parse(text: str) -> Suci:
    m = _SUCI.match(text.strip())
    if not m:
        raise InputError("SUCI: expected suci-0-MCC-MNC-RI-SCHEME-KEYID-OUTPUT (TS 23.003 §2.2B), "
                         f"got {text[:60]!r}")
    supi_type, mcc, mnc, ri, scheme_id, key_id, output = m.groups()
    if supi_type != "0":
        raise InputError(f"SUCI: SUPI type {supi_type} is not an IMSI (type 0); only IMSIs are handled")
    if int(scheme_id) not in suci.SCHEMES_BY_ID:
        raise InputError(f"SUCI: protection scheme {scheme_id} is not null (0), A (1) or B (2)")
    return Suci(mcc, mnc, ri, int(scheme_id), int(key_id), output)


@dataclass(frozen=True)
class HomeNetworkKey:
    scheme: str  # "A" or "B"
    key_id: int
    private: bytes
    public: bytes

    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> None:
        doc = {"format": KEY_FILE_FORMAT, "scheme": self.scheme, "key_id": self.key_id,
               "private_key": self.private.hex(), "public_key": self.public.hex()}
        write_secret_file(path, (json.dumps(doc, indent=2) + "\n").encode(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HomeNetworkKey:
        label = os.fspath(path)
        raw = read_bounded(path, MAX_KEY_FILE, label, hint=" for a SUCI key file", kind="key file")
        try:
            doc: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(f"{label}: not a SUCI key file (not JSON); make one with `simtool suci keygen`") from None
        if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
            raise InputError(f"{label}: not a SUCI key file (format {KEY_FILE_FORMAT!r} expected)")
        try:
            scheme, key_id = str(doc["scheme"]), doc["key_id"]
            private = bytes.fromhex(str(doc["private_key"]))
        except (KeyError, ValueError):
            raise InputError(f"{label}: damaged SUCI key file (scheme, key_id, private_key)") from None
        if not isinstance(key_id, int) or isinstance(key_id, bool):
            raise InputError(f"{label}: key_id must be a number")
        try:
            public = suci.public_key(scheme, private)
        except suci.SuciError as e:
            raise InputError(f"{label}: {e}") from None
        return cls(scheme, check_key_id(key_id), private, public)

    @classmethod
    def generate(cls, scheme: str, key_id: int = 1) -> HomeNetworkKey:
        pair = suci.generate(scheme)
        return cls(pair.scheme, check_key_id(key_id), pair.private, pair.public)

    def deconceal(self, s: Suci) -> str:
        """The IMSI inside `s`, which must be concealed under this key (scheme and key id)."""
        if s.scheme_id == 0:
            return s.mcc + s.mnc + _digits(s.output)
        scheme = suci.SCHEMES_BY_ID[s.scheme_id]
        if scheme != self.scheme:
            raise InputError(f"SUCI: concealed with profile {scheme}, the key file is a profile {self.scheme} key")
        if s.key_id != self.key_id:
            raise InputError(f"SUCI: concealed under key id {s.key_id}, the key file holds key id {self.key_id}")
        if len(s.output) % 2:
            raise InputError("SUCI: the scheme output has an odd number of hex digits")
        try:
            msin = suci.msin_decode(suci.deconceal(bytes.fromhex(s.output), scheme, self.private))
        except suci.SuciError as e:
            raise InputError(f"SUCI: {e}") from None
        return s.mcc + s.mnc + msin


def _digits(msin: str) -> str:
    if not msin.isdigit():
        raise InputError("SUCI: a null-scheme output is the MSIN's digits")
    return msin

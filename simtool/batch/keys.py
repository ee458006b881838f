"""Keys for batches: the operator's transport key, sealing under it, and per-card secrets from the CSPRNG.

Every per-card secret (Ki, OPc, ADM1, KIc, KID, PINs, PUKs) is kept in one fixed-layout blob, sealed with
AES-GCM under the transport key with the ICCID as associated data (DESIGN.md §4): one seal per card keeps a
million-card batch fast, and a blob moved to another card's row does not open. Nothing here puts a secret in
a message or a repr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from simtool.crypto.secrets import KEY_BYTES, NONCE_BYTES, kcv, new_transport_key, open_sealed, read_key_file
from simtool.crypto.secrets import write_secret_file as _write_secret_file
from simtool.errors import InputError

KEY_ENV = "SIMTOOL_TRANSPORT_KEY"
BLOB_VERSION = 1
# Export column order; also the order of `CardSecrets.as_dict`.
SECRET_FIELDS = ("pin1", "puk1", "pin2", "puk2", "ki", "opc", "adm1", "kic", "kid")
_KEY_FIELDS = {"ki": 16, "opc": 16, "adm1": 8, "kic": 16, "kid": 16}
_PIN_FIELDS = ("pin1", "puk1", "pin2", "puk2")
PIN_LENGTHS = {"pin1": 4, "puk1": 8, "pin2": 4, "puk2": 8}
BLOB_BYTES = 1 + sum(_KEY_FIELDS.values()) + 8 * len(_PIN_FIELDS)


def create_key_file(path: str | os.PathLike[str]) -> str:
    """A new 32-byte transport key in `path` (64 hex digits and a newline, mode 0600); returns its KCV.
    An existing file is never replaced: everything sealed under it would become unreadable."""
    key = new_transport_key()
    _write_secret_file(path, key.hex().encode() + b"\n")
    return kcv(key)


def load_transport_key(path: str | os.PathLike[str] | None, *, what: str = "--transport-key") -> bytes:
    """The transport key from `path`, or from $SIMTOOL_TRANSPORT_KEY (64 hex digits) when no path is given."""
    if path is not None:
        return read_key_file(path)
    text = os.environ.get(KEY_ENV, "").strip()
    if not text:
        raise InputError(f"{what}: give the transport key file (or set ${KEY_ENV})")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise InputError(f"${KEY_ENV}: not hex") from None
    if len(key) != KEY_BYTES:
        raise InputError(f"${KEY_ENV}: {len(key)} bytes; a transport key is {KEY_BYTES} bytes (64 hex digits)")
    return key


def check_kcv(key: bytes, expected: str, source: str) -> None:
    """Refuse a transport key that is not the batch's (exit 2), naming both KCVs and no key bytes."""
    got = kcv(key)
    if got != expected:
        raise InputError(f"{source}: transport key KCV {got} is not the batch's KCV {expected}")


class Sealer:
    """AES-GCM under one transport key, built once (sealing a million cards should not rebuild it each time).

    The output is `simtool.crypto.secrets.seal`'s format: nonce (12) || ciphertext || tag (16)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise InputError(f"transport key: {len(key)} bytes, expected {KEY_BYTES}")
        self._gcm = AESGCM(key)
        self._key = key
        self.kcv = kcv(key)

    def seal(self, plaintext: bytes, aad: str, nonce: bytes | None = None) -> bytes:
        """`nonce` lets bulk generation pass 12 bytes it drew from the CSPRNG with the rest of a card's bytes."""
        n = nonce if nonce is not None else os.urandom(NONCE_BYTES)
        return n + self._gcm.encrypt(n, plaintext, aad.encode("ascii"))

    def open(self, blob: bytes, aad: str) -> bytes:
        return open_sealed(self._key, blob, aad.encode("ascii"))

    def __repr__(self) -> str:
        return f"Sealer(kcv={self.kcv})"


@dataclass(frozen=True, repr=False)
class CardSecrets:
    """One card's secrets. Keys are bytes, PINs digit strings. `repr` shows none of them."""

    ki: bytes
    opc: bytes
    adm1: bytes
    kic: bytes
    kid: bytes
    pin1: str
    puk1: str
    pin2: str
    puk2: str

    def pack(self) -> bytes:
        """Version byte, the keys, then each PIN as ASCII padded with FF to 8 bytes."""
        return (bytes([BLOB_VERSION]) + self.ki + self.opc + self.adm1 + self.kic + self.kid
                + b"".join(getattr(self, p).encode("ascii").ljust(8, b"\xff") for p in _PIN_FIELDS))

    @classmethod
    def unpack(cls, blob: bytes) -> CardSecrets:
        if len(blob) != BLOB_BYTES or blob[0] != BLOB_VERSION:
            raise InputError(f"card secrets: unknown layout (version {blob[:1].hex()}, {len(blob)} bytes)")
        out: dict[str, object] = {}
        pos = 1
        for name, n in _KEY_FIELDS.items():
            out[name] = blob[pos : pos + n]
            pos += n
        for name in _PIN_FIELDS:
            out[name] = blob[pos : pos + 8].rstrip(b"\xff").decode("ascii")
            pos += 8
        return cls(**out)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, str]:
        """Every secret as text (keys as lowercase hex): for `batch decrypt` only, which asks for them."""
        return {f: (v.hex() if isinstance(v := getattr(self, f), bytes) else v) for f in SECRET_FIELDS}

    def field_bytes(self, name: str) -> bytes:
        """The value the export seals: key bytes, or a PIN's ASCII digits."""
        v = getattr(self, name)
        return v if isinstance(v, bytes) else v.encode("ascii")

    def __repr__(self) -> str:
        return "CardSecrets(" + ", ".join(f"{f.name}=<secret>" for f in fields(self)) + ")"


# Per card: Ki, KIc, KID (48), a random OPc (16, unused with an OP), nonce (12), four 8-byte PIN draws (32).
CARD_RANDOM_BYTES = 48 + 16 + NONCE_BYTES + 32


def _digits(raw: bytes, n: int) -> str:
    """n uniform decimal digits from 8 random bytes (bias below 1e-11 for n <= 8)."""
    return str(int.from_bytes(raw, "big") % 10**n).zfill(n)


def opc_from_op(ki: bytes, op: bytes) -> bytes:
    """OPc = AES-128(Ki, OP) XOR OP (TS 35.206 §4.1), as `simtool.crypto.milenage.opc` computes it."""
    e = Cipher(algorithms.AES(ki), modes.ECB()).encryptor().update(op)
    return (int.from_bytes(e, "big") ^ int.from_bytes(op, "big")).to_bytes(16, "big")


def new_card_secrets(adm1: bytes, op: bytes | None, raw: bytes | None = None) -> tuple[CardSecrets, bytes]:
    """Fresh secrets for one card from the OS CSPRNG (or from `raw`, CARD_RANDOM_BYTES of it), and the nonce
    to seal them with."""
    r = raw if raw is not None else os.urandom(CARD_RANDOM_BYTES)
    ki, kic, kid = r[0:16], r[16:32], r[32:48]
    opc = opc_from_op(ki, op) if op is not None else r[48:64]
    p = r[76:]
    secrets = CardSecrets(ki=ki, opc=opc, adm1=adm1, kic=kic, kid=kid,
                          pin1=_digits(p[0:8], 4), puk1=_digits(p[8:16], 8),
                          pin2=_digits(p[16:24], 4), puk2=_digits(p[24:32], 8))
    return secrets, r[64:76]


def read_hex_file(path: str | os.PathLike[str], what: str, nbytes: int) -> bytes:
    """A key of `nbytes` written as hex on the file's first line; errors name the file, never the content."""
    from simtool.crypto.secrets import read_secret_text

    line = read_secret_text(path, f"{what} {path}", f"{2 * nbytes} hex digits")
    if len(line) != 2 * nbytes or not all(c in "0123456789abcdefABCDEF" for c in line):
        raise InputError(f"{what} {path}: expected {2 * nbytes} hex digits ({nbytes} bytes) on the first line, "
                         f"found {len(line)} characters" + ("" if line.isalnum() or not line else " (not all hex)"))
    return bytes.fromhex(line)

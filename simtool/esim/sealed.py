"""A package sealed at rest: AES-GCM under the transport key with the ICCID as associated data, as every
secret simtool keeps (simtool.crypto.secrets). The ICCID stands in clear before the sealed bytes so the
right associated data is known before opening; a package moved to another ICCID's name does not open.

    MAGIC (12) || ICCID length (1) || ICCID (ASCII digits) || nonce (12) || ciphertext || tag (16)
"""

from __future__ import annotations

from simtool.crypto.secrets import open_sealed, seal
from simtool.errors import InputError

MAGIC = b"SIMTOOL-UPP\x01"


def is_sealed(data: bytes) -> bool:
    return data.startswith(MAGIC)


def seal_package(key: bytes, iccid: str, der: bytes) -> bytes:
    raw = iccid.encode("ascii")
    return MAGIC + bytes([len(raw)]) + raw + seal(key, der, raw)


def sealed_iccid(data: bytes) -> str:
    if not is_sealed(data) or len(data) < len(MAGIC) + 1:
        raise InputError("not a sealed simtool package (no SIMTOOL-UPP header)")
    n = data[len(MAGIC)]
    raw = data[len(MAGIC) + 1: len(MAGIC) + 1 + n]
    if len(raw) != n or not raw.isdigit():
        raise InputError("sealed package: damaged header (ICCID)")
    return raw.decode("ascii")


def unseal_package(key: bytes, data: bytes) -> tuple[str, bytes]:
    """(ICCID, DER). SecretError (naming no secret) for a wrong key, another ICCID or altered bytes."""
    iccid = sealed_iccid(data)
    start = len(MAGIC) + 1 + len(iccid)
    return iccid, open_sealed(key, data[start:], iccid.encode("ascii"))

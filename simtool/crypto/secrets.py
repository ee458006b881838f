"""Secrets at rest (DESIGN §4): the operator transport key, its KCV, AES-GCM sealing and 0600 key files.

Ledgers and exports seal every Ki/OPc/PIN with AES-GCM under a transport key, with the ICCID as associated
data so a sealed value cannot be moved to another card's row unnoticed. Errors here never carry key or
plaintext bytes, because they end up in logs and on factory screens.
"""

from __future__ import annotations

import contextlib
import os
import string
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from simtool.crypto._util import BytesLike, as_bytes, need
from simtool.errors import InputError, SimtoolError
from simtool.inputs import MAX_SECRET_FILE, read_bounded

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "TAG_BYTES",
    "SecretError",
    "kcv",
    "new_transport_key",
    "open_sealed",
    "read_key_file",
    "read_secret_text",
    "seal",
    "write_secret_file",
]

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_AES_KEY_SIZES = (16, 24, 32)


class SecretError(SimtoolError):
    """Sealed data could not be opened: wrong transport key, wrong associated data, or altered data."""


def new_transport_key() -> bytes:
    """32 bytes from the OS CSPRNG: a fresh AES-256 transport key."""
    return os.urandom(KEY_BYTES)


def kcv(key: BytesLike) -> str:
    """Key check value: the first 3 bytes of AES-ECB(key, 16 zero bytes), as 6 uppercase hex digits.

    It names a key in exports and on screen without revealing it, so operator and factory can confirm they
    hold the same key.
    """
    k = need("key", key, _AES_KEY_SIZES)
    block = Cipher(algorithms.AES(k), modes.ECB()).encryptor().update(bytes(16))
    return block[:3].hex().upper()


def seal(key: BytesLike, plaintext: BytesLike, aad: BytesLike) -> bytes:
    """AES-GCM with a random 12-byte nonce; returns nonce || ciphertext || tag (28 bytes of overhead)."""
    k = need("key", key, _AES_KEY_SIZES)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(k).encrypt(nonce, as_bytes("plaintext", plaintext), as_bytes("aad", aad))


def open_sealed(key: BytesLike, blob: BytesLike, aad: BytesLike) -> bytes:
    """Inverse of `seal`. Raises SecretError, naming no secret, if the blob does not authenticate."""
    k = need("key", key, _AES_KEY_SIZES)
    data = as_bytes("blob", blob)
    if len(data) < NONCE_BYTES + TAG_BYTES:
        raise SecretError(f"sealed data too short ({len(data)} bytes, at least {NONCE_BYTES + TAG_BYTES})")
    try:
        return AESGCM(k).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], as_bytes("aad", aad))
    except InvalidTag:
        raise SecretError(
            f"cannot open sealed data with transport key {kcv(k)}: wrong key, "
            "wrong associated data (e.g. another card's ICCID), or the data was altered"
        ) from None


def write_secret_file(path: str | os.PathLike[str], data: BytesLike, *, overwrite: bool = False,
                      before_move: Callable[[], None] | None = None) -> None:
    """Write `data` to `path` with mode 0600, atomically and durably.

    The bytes go to a 0600 temporary file in the same directory, are fsynced, and are then moved into
    place; the directory is fsynced too, so after a power cut the file is either absent/old or complete.
    Unless `overwrite` is true an existing file is left alone and InputError is raised: replacing a
    transport key by mistake would make everything sealed under it unreadable. `before_move` runs once the
    temp file is durable and before it takes its name (a hook for crash tests).
    """
    target = Path(path)
    payload = as_bytes("data", data)
    directory = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"{target}: cannot create a file in {directory}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if before_move is not None:
            before_move()
        if overwrite:
            os.replace(tmp, target)
        else:
            _move_no_replace(tmp, target)
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(directory)


def _move_no_replace(tmp: Path, target: Path) -> None:
    """Move tmp to target unless target exists; link() makes that atomic against a racing writer."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise InputError(f"{target}: file exists; refusing to overwrite it") from None
    except OSError:  # a file system without hard links: check, then rename (a small race remains)
        if target.exists():
            raise InputError(f"{target}: file exists; refusing to overwrite it") from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_HEX = frozenset(string.hexdigits.encode())


def read_secret_text(path: str | os.PathLike[str], label: str, expect: str) -> str:
    """The first line of a small secret file (a key as hex, a PIN), stripped. The file is read as bytes with a
    size limit; errors name `label` and what was expected (e.g. "32 hex digits"), never a byte of the content."""
    raw = read_bounded(path, MAX_SECRET_FILE, label, hint=f" for a secret file: expected {expect} on one line")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{label}: not text ({len(raw)} bytes, not UTF-8): expected {expect} on the first "
                         "line") from None
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """Read a 32-byte transport key stored raw (32 bytes) or as 64 hex digits with an optional newline.

    Errors name the file and what was found, never the content.
    """
    source = Path(path)
    raw = read_bounded(source, MAX_SECRET_FILE, f"{source}", hint=" for a key file (a transport key is 32 bytes)",
                       kind="key file")
    if not raw:
        raise InputError(f"{source}: key file is empty")
    text = raw.removesuffix(b"\n").removesuffix(b"\r")
    if len(raw) == KEY_BYTES and not all(b in _HEX for b in raw):
        return raw
    if all(b in _HEX for b in text):
        if len(text) == 2 * KEY_BYTES:
            return bytes.fromhex(text.decode("ascii"))
        raise InputError(
            f"{source}: holds {len(text)} hex digits; a transport key is {2 * KEY_BYTES} hex digits "
            f"({KEY_BYTES} bytes)"
        )
    raise InputError(
        f"{source}: not a transport key: expected {KEY_BYTES} raw bytes or {2 * KEY_BYTES} hex digits "
        f"and an optional newline, found {len(raw)} bytes"
    )

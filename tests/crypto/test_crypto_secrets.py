"""Secrets at rest: sealing, KCV, 0600 atomic files, key files; no secret in any error."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simtool.crypto import secrets
from simtool.crypto.secrets import (
    SecretError,
    kcv,
    new_transport_key,
    open_sealed,
    read_key_file,
    seal,
    write_secret_file,
)
from simtool.errors import InputError

KEY = bytes(range(32))
ICCID = b"8931080019000000017"


def test_new_transport_key() -> None:
    a, b = new_transport_key(), new_transport_key()
    assert len(a) == 32 and len(b) == 32 and a != b


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (bytes(16), "66E94B"),  # AES-128(0, 0) = 66e94bd4ef8a2c3b...
        (bytes(32), "DC95C0"),  # AES-256(0, 0) = dc95c078a2408989...
    ],
)
def test_kcv_known_values(key: bytes, expected: str) -> None:
    assert kcv(key) == expected


def test_kcv_is_uppercase_hex_of_three_bytes() -> None:
    value = kcv(new_transport_key())
    assert len(value) == 6 and value == value.upper() and bytes.fromhex(value)


@settings(max_examples=50, deadline=None, database=None)
@given(key=st.binary(min_size=32, max_size=32), plaintext=st.binary(max_size=200), aad=st.binary(max_size=40))
def test_seal_round_trip(key: bytes, plaintext: bytes, aad: bytes) -> None:
    blob = seal(key, plaintext, aad)
    assert len(blob) == len(plaintext) + 28
    assert open_sealed(key, blob, aad) == plaintext


@settings(max_examples=50, deadline=None, database=None)
@given(plaintext=st.binary(min_size=1, max_size=64), bit=st.integers(0, 8 * 92 - 1))
def test_any_bit_flip_is_detected(plaintext: bytes, bit: int) -> None:
    blob = bytearray(seal(KEY, plaintext, ICCID))
    bit %= 8 * len(blob)
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SecretError):
        open_sealed(KEY, bytes(blob), ICCID)


def test_wrong_aad_wrong_key_truncated() -> None:
    plaintext = b"Ki=000102030405060708090a0b0c0d0e0f"
    blob = seal(KEY, plaintext, ICCID)
    for key, aad, data in [
        (KEY, b"8931080019000000025", blob),  # another card's ICCID
        (KEY, b"", blob),
        (bytes(32), ICCID, blob),
        (KEY, ICCID, blob[:-1]),
        (KEY, ICCID, blob[:27]),
    ]:
        with pytest.raises(SecretError) as info:
            open_sealed(key, data, aad)
        message = str(info.value)
        assert KEY.hex() not in message and plaintext.decode() not in message
        assert "000102" not in message


def test_nonce_is_random() -> None:
    assert seal(KEY, b"same", ICCID)[:12] != seal(KEY, b"same", ICCID)[:12]


def test_secret_error_names_the_key_by_kcv_only() -> None:
    with pytest.raises(SecretError, match=kcv(bytes(32))):
        open_sealed(bytes(32), seal(KEY, b"x", ICCID), ICCID)


def test_key_length_checked_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="key must be 16 or 24 or 32 bytes long, got 31") as info:
        seal(KEY[:31], b"", b"")
    assert KEY[:31].hex() not in str(info.value)


# --- files ------------------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_secret_file_mode_and_content(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        target = tmp_path / "transport.key"
        write_secret_file(target, KEY)
    finally:
        os.umask(old)
    assert target.read_bytes() == KEY
    assert _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["transport.key"], "no temporary file left behind"


def test_write_secret_file_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "k"
    write_secret_file(target, b"first")
    with pytest.raises(InputError, match=f"{target}: file exists"):
        write_secret_file(target, b"second")
    assert target.read_bytes() == b"first"
    assert len(list(tmp_path.iterdir())) == 1


def test_write_secret_file_overwrite_replaces_and_tightens_mode(tmp_path: Path) -> None:
    target = tmp_path / "k"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_secret_file(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600


def test_write_secret_file_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "k"
    with pytest.raises(InputError, match=str(target)):
        write_secret_file(target, KEY)


def test_write_secret_file_accepts_str_path(tmp_path: Path) -> None:
    write_secret_file(str(tmp_path / "k"), KEY)
    assert read_key_file(str(tmp_path / "k")) == KEY


@pytest.mark.parametrize(
    "content",
    [
        KEY,
        KEY.hex().encode(),
        KEY.hex().upper().encode() + b"\n",
        KEY.hex().encode() + b"\r\n",
        bytes([0x0A]) * 32,  # raw bytes that happen to be newlines stay raw
    ],
    ids=["raw", "hex", "HEX-newline", "hex-crlf", "raw-0a"],
)
def test_read_key_file_formats(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)
    expected = content if len(content) == 32 else bytes.fromhex(content.decode().strip())
    assert read_key_file(path) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (KEY.hex().encode()[:32], "holds 32 hex digits; a transport key is 64"),
        (KEY.hex().encode() + b"\n\n", "not a transport key"),
        (KEY + b"\n", "found 33 bytes"),
        (b"zz" * 32, "not a transport key"),
        (KEY.hex().encode() + b"00", "holds 66 hex digits"),
    ],
)
def test_read_key_file_errors_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "operator.key"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_key_file(path)
    text = str(info.value)
    assert str(path) in text
    assert KEY.hex() not in text and KEY.hex()[:16] not in text


def test_read_key_file_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such key file"):
        read_key_file(tmp_path / "absent")
    with pytest.raises(InputError, match="is a directory"):
        read_key_file(tmp_path)


def test_module_constants() -> None:
    assert (secrets.KEY_BYTES, secrets.NONCE_BYTES, secrets.TAG_BYTES) == (32, 12, 16)


@pytest.mark.parametrize("bad", [5, "text"])
def test_seal_refuses_non_bytes(bad: object) -> None:
    with pytest.raises(TypeError, match="plaintext must be bytes"):
        seal(KEY, bad, ICCID)  # type: ignore[arg-type]

"""Keccak-f[1600] self-checks against hashlib: SHA3 is a sponge over the same permutation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simtool.crypto.keccak import STATE_BYTES, keccak_f1600


def _sponge(message: bytes, rate: int, out_len: int, pad: int) -> bytes:
    """Absorb/squeeze with our permutation (FIPS 202 multi-rate padding with domain byte `pad`)."""
    padded = bytearray(message) + bytes([pad])
    padded += bytes(-len(padded) % rate)
    padded[-1] |= 0x80
    state = bytes(STATE_BYTES)
    for i in range(0, len(padded), rate):
        block = bytes(padded[i : i + rate]) + bytes(STATE_BYTES - rate)
        state = keccak_f1600(bytes(a ^ b for a, b in zip(state, block, strict=True)))
    out = b""
    while len(out) < out_len:
        out += state[:rate]
        state = keccak_f1600(state)
    return out[:out_len]


def test_sha3_256_empty() -> None:
    assert _sponge(b"", 136, 32, 0x06) == hashlib.sha3_256(b"").digest()
    assert hashlib.sha3_256(b"").hexdigest().startswith("a7ffc6f8bf1ed766")


@pytest.mark.parametrize("length", [0, 1, 135, 136, 137, 300])
def test_sha3_256_block_boundaries(length: int) -> None:
    message = bytes(range(256)) * 2
    assert _sponge(message[:length], 136, 32, 0x06) == hashlib.sha3_256(message[:length]).digest()


def test_shake128_long_output() -> None:
    """Squeezing several blocks exercises the permutation on states that are not freshly absorbed."""
    assert _sponge(b"simtool", 168, 400, 0x1F) == hashlib.shake_128(b"simtool").digest(400)


@settings(max_examples=50, deadline=None, database=None)
@given(st.binary(max_size=400))
def test_sha3_512_matches_hashlib(message: bytes) -> None:
    assert _sponge(message, 72, 64, 0x06) == hashlib.sha3_512(message).digest()


def test_iterations_repeat_the_permutation() -> None:
    state = bytes(range(200))
    assert keccak_f1600(state, 3) == keccak_f1600(keccak_f1600(keccak_f1600(state)))


@pytest.mark.parametrize("bad", [0, -1, True, 1.0])
def test_iterations_must_be_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="iterations"):
        keccak_f1600(bytes(200), bad)  # type: ignore[arg-type]


def test_state_length_checked() -> None:
    with pytest.raises(ValueError, match="state must be 200 bytes"):
        keccak_f1600(bytes(199))

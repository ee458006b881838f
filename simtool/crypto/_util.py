"""Argument checks shared by the crypto modules.

Error messages name the argument and its length, never its value: the value may be a key (DESIGN §4).
"""

from __future__ import annotations

from collections.abc import Iterable

BytesLike = bytes | bytearray | memoryview


def _describe(options: tuple[int, ...], joiner: str) -> str:
    """Say "4..16" for a run of three or more consecutive values, else list them."""
    if len(options) > 2 and options == tuple(range(options[0], options[-1] + 1)):
        return f"{options[0]}..{options[-1]}"
    return joiner.join(str(n) for n in options)


def as_bytes(name: str, value: object) -> bytes:
    """`value` as bytes, refusing str and int (bytes(5) would silently be five zero bytes)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
    return bytes(value)


def need(name: str, value: object, sizes: int | Iterable[int]) -> bytes:
    """Return `value` as bytes if it is bytes-like and one of `sizes` long, else raise naming `name`."""
    allowed = (sizes,) if isinstance(sizes, int) else tuple(sizes)
    data = as_bytes(name, value)
    if len(data) not in allowed:
        raise ValueError(f"{name} must be {_describe(allowed, ' or ')} bytes long, got {len(data)}")
    return data


def need_choice(name: str, value: int, allowed: Iterable[int]) -> int:
    """Check an integer parameter (a length or a count) against the values the spec allows."""
    options = tuple(allowed)
    if isinstance(value, bool) or not isinstance(value, int) or value not in options:
        raise ValueError(f"{name} must be one of {_describe(options, ', ')}, got {value!r}")
    return value


def xor(a: bytes, b: bytes) -> bytes:
    """Bytewise XOR of two equal-length strings."""
    if len(a) != len(b):
        raise ValueError(f"xor of unequal lengths {len(a)} and {len(b)}")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")

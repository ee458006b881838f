"""BER-TLV (ISO/IEC 7816-4 / TS 101 220) as used in FCPs, EF.DIR, EF.ARR, EF.ACL and CAT.

Kept dependency-free and strict: malformed input raises `TlvError` so callers can map it to the
status word or decode error that fits their layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class TlvError(ValueError):
    """Malformed BER-TLV data."""


def _read_tag(data: bytes, i: int) -> tuple[int, int]:
    if i >= len(data):
        raise TlvError("truncated tag")
    tag = data[i]
    i += 1
    if tag & 0x1F == 0x1F:  # multi-byte tag
        while True:
            if i >= len(data):
                raise TlvError("truncated multi-byte tag")
            b = data[i]
            tag = (tag << 8) | b
            i += 1
            if not b & 0x80:
                break
    return tag, i


def _read_len(data: bytes, i: int) -> tuple[int, int]:
    if i >= len(data):
        raise TlvError("truncated length")
    first = data[i]
    i += 1
    if first < 0x80:
        return first, i
    n = first & 0x7F
    if n == 0 or n > 3:
        raise TlvError(f"unsupported length form 0x{first:02X}")
    if i + n > len(data):
        raise TlvError("truncated length")
    return int.from_bytes(data[i : i + n], "big"), i + n


def iter_tlv(data: bytes, *, stop_at_padding: bool = True) -> Iterator[tuple[int, bytes]]:
    """Yield (tag, value) pairs. Trailing 0xFF / 0x00 padding ends the walk when asked."""
    i = 0
    while i < len(data):
        if stop_at_padding and data[i] in (0xFF, 0x00) and data[i:] == bytes([data[i]]) * (len(data) - i):
            return
        tag, i = _read_tag(data, i)
        length, i = _read_len(data, i)
        if i + length > len(data):
            raise TlvError(f"value of tag {tag:02X} overruns the data ({length} > {len(data) - i})")
        yield tag, bytes(data[i : i + length])
        i += length


def parse_tlv(data: bytes, *, stop_at_padding: bool = True) -> list[tuple[int, bytes]]:
    return list(iter_tlv(data, stop_at_padding=stop_at_padding))


def encode_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    if n < 0x10000:
        return bytes([0x82]) + n.to_bytes(2, "big")
    raise TlvError(f"length {n} too large")


def encode_tag(tag: int) -> bytes:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def tlv(tag: int, value: bytes) -> bytes:
    return encode_tag(tag) + encode_len(len(value)) + bytes(value)


def build_tlv(items: Iterable[tuple[int, bytes]]) -> bytes:
    return b"".join(tlv(t, v) for t, v in items)


def first(items: Iterable[tuple[int, bytes]], tag: int) -> bytes | None:
    for t, v in items:
        if t == tag:
            return v
    return None

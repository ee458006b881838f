"""The building blocks the EF declarations share (`efs.py`, `efs_usim_extra.py`, `efs_isim.py`): construct
classes for records whose RFU fields may be left out, TLV-shaped files as one function per direction, RFU
tails, optional parts, friendlier views over declared layouts, service tables (UST, EST, IST). Kept apart
so every EF module can import them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from construct import Adapter, Bitwise, Bytes, Construct, Default, GreedyBytes, Struct
from construct.core import stream_read_entire, stream_write

from simtool.encoding.types import Check, CodecError, DecodeError, EncodeError, NamedBits


class Record(Struct):
    """A Struct whose `Default` fields (RFU bits, unused record numbers) may be left out of a value and
    are left out of a decoded one while they hold their default: values show what a file says."""

    def _parse(self, stream: Any, context: Any, path: str) -> Any:
        obj = super()._parse(stream, context, path)
        for sc in self.subcons:
            inner = getattr(sc, "subcon", None)
            if sc.name and isinstance(inner, Default) and not callable(inner.value) and obj.get(sc.name) == inner.value:
                del obj[sc.name]
        return obj


def BitRecord(*subcons: Any) -> Any:  # noqa: N802 (a construct macro, named like construct's)
    return Bitwise(Record(*subcons))


class Fn(Adapter):
    """Hand code for a TLV-shaped file: one function per direction. Decoding is checked to encode back to
    the same bytes (padded with FF), so a TLV form the pair does not keep is a `DecodeError`, not a loss."""

    def __init__(self, decode: Callable[[bytes], Any], encode: Callable[[Any], bytes],
                 required: tuple[str, ...] = (), optional: tuple[str, ...] = ()):
        super().__init__(GreedyBytes)
        self.dec, self.enc = decode, encode
        self.required, self.optional = required, optional

    def _decode(self, obj: bytes, context: Any, path: str) -> Any:
        data = bytes(obj)
        value = self.dec(data)
        try:
            again = self.enc(value)
        except (CodecError, ValueError, KeyError, TypeError):
            again = b""
        if (again + b"\xff" * len(data))[: len(data)] != data or len(again) > len(data):
            raise DecodeError("a TLV form simtool would not write back as read")
        return value

    def _encode(self, obj: Any, context: Any, path: str) -> bytes:
        try:
            return self.enc(obj)
        except (KeyError, TypeError, AttributeError) as e:
            raise EncodeError(f"bad value: {e}") from None

    def problems(self, obj: Any) -> list[str]:
        if not self.required and not self.optional:
            return []
        if not isinstance(obj, Mapping):
            return [f"expected a mapping, got {type(obj).__name__}"]
        known = self.required + self.optional
        return ([f"{k}: unknown key" for k in obj if k not in known]
                + [f"{k}: missing" for k in self.required if k not in obj])


class Tail(Construct):
    """RFU bytes at the end of a file: kept as read, trailing FF (the file's padding) left to the codec."""

    def __init__(self) -> None:
        super().__init__()
        self.flagbuildnone = True

    def _parse(self, stream: Any, context: Any, path: str) -> bytes:
        return bytes(stream_read_entire(stream, path)).rstrip(b"\xff")

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> bytes:
        data = bytes(obj or b"")
        stream_write(stream, data, len(data), path)
        return data


class Nothing(Construct):
    """An optional part a smaller file does not have (EF.AD of 3 bytes): parses as None, builds only None/{}."""

    def __init__(self, message: str):
        super().__init__()
        self.message = message
        self.flagbuildnone = True

    def _parse(self, stream: Any, context: Any, path: str) -> None:
        return None

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> None:
        if obj:
            raise EncodeError(self.message)
        return None


class Map(Adapter):
    """A declared layout shown as a friendlier value: `to_value(parsed)` and `to_raw(value)`, pure functions."""

    def __init__(self, subcon: Construct, to_value: Callable[[Any], Any], to_raw: Callable[[Any], Any],
                 check: Callable[[Any], list[str]] | None = None):
        super().__init__(subcon)
        self.to_value, self.to_raw, self.check = to_value, to_raw, check

    def _decode(self, obj: Any, context: Any, path: str) -> Any:
        return self.to_value(obj)

    def _encode(self, obj: Any, context: Any, path: str) -> Any:
        return self.to_raw(obj)

    def problems(self, obj: Any) -> list[str]:
        return self.check(obj) if self.check else []


def keys_problems(obj: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[str]:
    if not isinstance(obj, Mapping):
        return [f"expected a mapping, got {type(obj).__name__}"]
    known = required + optional
    return ([f"{k}: unknown key" for k in obj if k not in known]
            + [f"{k}: missing" for k in required if k not in obj])


def _u(data: bytes) -> int:
    return int.from_bytes(data, "big")


def bytes_of(n: int) -> Any:
    return Check(Bytes(n), lambda v: isinstance(v, bytes | bytearray) and len(v) == n, f"must be {n} bytes")


class LittleInt(Adapter):
    """The whole file as one little-endian bit string (service n = bit (n-1)%8 of byte (n-1)//8)."""

    def __init__(self) -> None:
        super().__init__(GreedyBytes)

    def _decode(self, obj: bytes, context: Any, path: str) -> int:
        return int.from_bytes(obj, "little")

    def _encode(self, obj: int, context: Any, path: str) -> bytes:
        return obj.to_bytes(max(1, (obj.bit_length() + 7) // 8), "little")


def service_table(table: dict[int, str], by_name: dict[str, int], label: str) -> NamedBits:
    def parse_other(name: str) -> int | None:
        m = re.fullmatch(r"service_([1-9][0-9]*)", name)
        return int(m.group(1)) - 1 if m else (by_name[name] - 1 if name in by_name else None)

    return NamedBits(LittleInt(), {n - 1: name for n, name in table.items()}, lambda n: f"service_{n + 1}",
                     parse_other, f"{label} service")

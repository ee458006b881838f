"""`Codec`: one EF's coding (a construct), its padding rule and its spec vectors, in one object.

The file-system model attaches a codec to each EF; the emulator, flasher, reader and the generic
vector test all go through `decode`/`encode` here, so a coding is written exactly once.

Values: `decode(bytes) -> value` gives plain dicts, lists, str, int, bool and `bytes` (binary fields;
hex only in `to_json`). `encode(value, size) -> bytes` takes the same shape: a value with an unknown or a
missing key, or a field it cannot hold, is refused with one `EncodeError` (a `CodecError`) naming the EF
and every problem, unknown keys first. RFU fields (named `rfu*`) may be left out and take their default.
Bytes that do not follow the coding make `decode` raise `DecodeError` (also a `CodecError`); whatever
decodes encodes back to the same bytes (`encode(decode(b), len(b)) == b`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from construct import Construct, ConstructError, Container, ListContainer

from simtool.encoding.strict import plain_json, problems, to_json
from simtool.encoding.types import CodecError, DecodeError, EncodeError

__all__ = ["Codec", "CodecError", "DecodeError", "EncodeError", "Vector", "pad", "plain"]


@dataclass(frozen=True)
class Vector:
    """An encoding fact from a spec or a real card: `hex` decodes to `value` and back."""

    hex: str
    value: Any
    source: str = ""

    @property
    def data(self) -> bytes:
        return bytes.fromhex(self.hex.replace(" ", ""))


def plain(obj: Any) -> Any:
    """construct containers → plain dicts/lists, without construct's private `_io`/`_...` keys."""
    if isinstance(obj, Container | dict):
        return {k: plain(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, ListContainer | list | tuple):
        return [plain(v) for v in obj]
    if type(obj).__name__ == "EnumIntegerString":
        return str(obj)
    if type(obj).__name__ == "EnumInteger":
        return int(obj)
    return obj


@dataclass(frozen=True)
class Codec:
    """How one EF body (transparent) or one record (linear fixed) is coded.

    `filler` repeats to pad an encoding to the file's size (`FF` for most files, `00` for service
    tables, `FFFFFF0000` for PLMN-with-AcT lists). A body made only of filler decodes to `empty` when
    `empty_is_filler`. `size` is the size to encode for when the caller gives none (layouts whose tail
    is sized by the record, e.g. an alpha field of `size - 14` bytes).
    """

    name: str
    con: Construct
    filler: bytes = b"\xff"
    vectors: tuple[Vector, ...] = field(default_factory=tuple)
    empty: Any = None
    empty_is_filler: bool = False
    size: int | None = None

    def decode(self, data: bytes) -> Any:
        data = bytes(data)
        if self.empty_is_filler and _is_filler(data, self.filler):
            return self.empty
        try:
            return plain(self.con.parse(data, size=len(data)))
        except CodecError as e:
            raise DecodeError(f"{self.name}: cannot decode {len(data)} bytes: {e}") from None
        except (ConstructError, ValueError, IndexError, KeyError, TypeError, UnicodeError, OverflowError) as e:
            raise DecodeError(f"{self.name}: cannot decode {len(data)} bytes: {_why(e)}") from None

    def check(self, value: Any) -> list[str]:
        """Every problem of `value` for this codec ([] when it can be encoded as far as keys and names go)."""
        if self.empty_is_filler and value == self.empty:
            return []
        return problems(self.con, value)

    def encode(self, value: Any, size: int | None = None) -> bytes:
        size = size if size is not None else self.size
        if self.empty_is_filler and value == self.empty:
            return pad(b"", size, self.filler) if size is not None else b""
        found = self.check(value)
        if found:
            raise EncodeError(f"{self.name}: {'; '.join(found)}")
        try:
            raw: bytes = self.con.build(value, size=size)
        except CodecError as e:
            raise EncodeError(f"{self.name}: {e}") from None
        except (ConstructError, ValueError, KeyError, TypeError, AttributeError, OverflowError, IndexError) as e:
            raise EncodeError(f"{self.name}: cannot encode: {_why(e)}") from None
        if size is None:
            return raw
        if len(raw) > size:
            raise EncodeError(f"{self.name}: needs {len(raw)} bytes, the file holds {size}")
        return pad(raw, size, self.filler)

    def to_json(self, value: Any) -> Any:
        """The value for `--json` and YAML: bytes as hex, RFU fields at their default left out."""
        if self.empty_is_filler and value == self.empty:
            return plain_json(value)
        return to_json(self.con, value)


def _why(e: Exception) -> str:
    text = str(e)
    return text.split("\n")[-1] if text else type(e).__name__


def pad(raw: bytes, size: int, filler: bytes) -> bytes:
    n = size - len(raw)
    reps = filler * (n // len(filler) + 1)
    return raw + reps[:n]


def _is_filler(data: bytes, filler: bytes) -> bool:
    return len(data) > 0 and data == pad(b"", len(data), filler)

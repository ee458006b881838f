"""`Codec`: one EF's coding (a construct), its padding rule and its spec vectors, in one object.

The file-system model attaches a codec to each EF; the emulator, flasher, reader and the generic
vector test all go through `decode`/`encode` here, so a coding is written exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from construct import Construct, ConstructError, Container, ListContainer

from simtool.encoding.types import EncodeError


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
    return obj


@dataclass(frozen=True)
class Codec:
    """How one EF body (transparent) or one record (linear fixed) is coded.

    `filler` repeats to pad an encoding to the file's size (`FF` for most files, `00` for service
    tables, `FFFFFF0000` for PLMN-with-AcT lists). A body made only of filler decodes to `empty`.
    """

    name: str
    con: Construct
    filler: bytes = b"\xff"
    vectors: tuple[Vector, ...] = field(default_factory=tuple)
    empty: Any = None
    empty_is_filler: bool = False

    def decode(self, data: bytes) -> Any:
        data = bytes(data)
        if self.empty_is_filler and _is_filler(data, self.filler):
            return self.empty
        try:
            return plain(self.con.parse(data, size=len(data)))
        except (ConstructError, ValueError, IndexError, UnicodeError) as e:
            raise DecodeError(f"{self.name}: cannot decode {len(data)} bytes: {e}") from None

    def encode(self, value: Any, size: int | None = None) -> bytes:
        if self.empty_is_filler and value == self.empty and size is not None:
            return pad(b"", size, self.filler)
        try:
            raw = self.con.build(value, size=size)
        except EncodeError as e:
            raise EncodeError(f"{self.name}: {e}") from None
        except (ConstructError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as e:
            raise EncodeError(f"{self.name}: cannot encode: {e}") from None
        if size is None:
            return raw
        if len(raw) > size:
            raise EncodeError(f"{self.name}: needs {len(raw)} bytes, the file holds {size}")
        return pad(raw, size, self.filler)


class DecodeError(ValueError):
    """Bytes read from a card do not follow the file's coding."""


def pad(raw: bytes, size: int, filler: bytes) -> bytes:
    n = size - len(raw)
    reps = filler * (n // len(filler) + 1)
    return raw + reps[:n]


def _is_filler(data: bytes, filler: bytes) -> bool:
    return len(data) > 0 and data == pad(b"", len(data), filler)

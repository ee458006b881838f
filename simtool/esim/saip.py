"""The profile package's DER: the ASN.1 module compiled once, and a package split into its elements.

A package is a sequence of DER `ProfileElement`s, back to back (TCA Interoperable Format §8.1). Reading
one names the element and byte offset where it breaks, so a damaged package says where it is damaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import asn1tools

from simtool.errors import InputError

MODULE = Path(__file__).with_name("pe_definitions.asn")
SPEC_VERSION = "TCA eUICC Profile Package: Interoperable Format Technical Specification v3.3.1"

# The ProfileElement CHOICE's first tag byte per alternative (AUTOMATIC TAGS, context-specific
# constructed): header A0 ... opt-iot BF21. From the module, so a reordered alternative shows here.
PE_TAGS: dict[str, bytes] = {}


class PackageError(InputError):
    """A damaged package: which element (its index and kind, when known) and at which byte offset."""

    def __init__(self, message: str, *, index: int | None = None, offset: int | None = None,
                 element: str | None = None) -> None:
        where = f"element {index}" if index is not None else "package"
        if element:
            where += f" ({element})"
        if offset is not None:
            where += f" at offset {offset}"
        super().__init__(f"{where}: {message}")
        self.index, self.offset, self.element = index, offset, element


@cache
def spec() -> Any:
    """The compiled module (DER codec); compiled once per process."""
    compiled = asn1tools.compile_files(str(MODULE), "der")
    if not PE_TAGS:
        choice = compiled.types["ProfileElement"].type
        for member in choice.members:
            PE_TAGS[member.name] = bytes(member.tag)
    return compiled


def pe_tags() -> dict[str, bytes]:
    spec()
    return dict(PE_TAGS)


def encode_pe(kind: str, value: dict[str, Any]) -> bytes:
    return bytes(spec().encode("ProfileElement", (kind, value)))


@dataclass(frozen=True)
class Element:
    index: int
    offset: int
    kind: str
    value: dict[str, Any]
    der: bytes


def _tlv_length(data: bytes, offset: int, index: int) -> int:
    """Total length of the TLV at `offset` (tag, length and value), checked against the data."""
    pos = offset
    if pos >= len(data):
        raise PackageError("no tag", index=index, offset=offset)
    if data[pos] & 0x1F == 0x1F:  # multi-byte tag
        pos += 1
        while pos < len(data) and data[pos] & 0x80:
            pos += 1
    pos += 1
    if pos >= len(data):
        raise PackageError("truncated: the length is missing", index=index, offset=offset)
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    elif first == 0x80 or first > 0x84:
        raise PackageError(f"length byte {first:02X} is not DER", index=index, offset=offset)
    else:
        n = first & 0x7F
        if pos + n > len(data):
            raise PackageError("truncated inside the length", index=index, offset=offset)
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    end = pos + length
    if end > len(data):
        raise PackageError(f"truncated: {length} bytes announced, {len(data) - pos} left", index=index,
                           offset=offset)
    return end - offset


def split(data: bytes) -> list[Element]:
    """Every element of a package, decoded; PackageError naming element and offset on damage."""
    tags = {v: k for k, v in pe_tags().items()}
    compiled = spec()
    out: list[Element] = []
    offset = 0
    if not data:
        raise PackageError("empty: no profile element")
    while offset < len(data):
        index = len(out)
        tag_len = 2 if data[offset] & 0x1F == 0x1F else 1
        tag = bytes(data[offset:offset + tag_len])
        kind_guess = tags.get(tag)
        if kind_guess is None:
            raise PackageError(f"tag {tag.hex().upper()} is no profile element", index=index, offset=offset)
        try:
            size = _tlv_length(data, offset, index)
        except PackageError as e:
            raise PackageError(str(e).split(": ", 1)[1], index=index, offset=offset, element=kind_guess) from None
        der = bytes(data[offset:offset + size])
        try:
            kind, value = compiled.decode("ProfileElement", der)
        except (asn1tools.Error, ValueError, IndexError) as e:
            raise PackageError(f"does not decode: {e}", index=index, offset=offset, element=kind_guess) from None
        out.append(Element(index, offset, kind, value, der))
        offset += size
    return out

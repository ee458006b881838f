"""Declarations of the file tree: DFs/ADFs holding EFs, each EF with FID, SFI, structure, size,
access sets and codec. `FileSystem` indexes a tree by path so every layer addresses files one way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from simtool.encoding.codec import Codec
from simtool.fs.access import AccessSet, names

Structure = Literal["transparent", "linear_fixed", "cyclic"]


@dataclass(frozen=True)
class EF:
    name: str
    fid: int
    codec: Codec
    read: AccessSet
    update: AccessSet
    structure: Structure = "transparent"
    size: int = 0  # transparent body size
    record_length: int = 0
    record_count: int = 0
    sfi: int | None = None
    secret: bool = False  # key material: never readable, masked in traces
    role: str = ""  # what the flasher knows the file as ("auth_key", "pins", ...)
    description: str = ""
    # Content as the card is created (TS 31.102 Annex E), repeated to the body (or to each record) size;
    # empty: erased, all FF.
    initial: bytes = b""

    @property
    def is_record(self) -> bool:
        return self.structure != "transparent"

    @property
    def body_size(self) -> int:
        return self.record_length * self.record_count if self.is_record else self.size

    def initial_record(self, length: int) -> bytes:
        pattern = self.initial or b"\xff"
        return (pattern * (length // len(pattern) + 1))[:length]

    def initial_content(self) -> bytes | list[bytes]:
        """The body as created: one bytes per record for record EFs."""
        if self.is_record:
            return [self.initial_record(self.record_length)] * self.record_count
        return self.initial_record(self.size)

    def resized(self, size: int | tuple[int, int]) -> EF:
        if isinstance(size, tuple):
            return replace(self, record_length=size[0], record_count=size[1])
        return replace(self, size=size)


@dataclass(frozen=True)
class DF:
    name: str
    fid: int
    children: tuple[EF | DF, ...] = ()
    aid: bytes | None = None  # ADFs only
    description: str = ""

    @property
    def is_adf(self) -> bool:
        return self.aid is not None


@dataclass(frozen=True)
class Entry:
    """A node in place: its path ("MF/ADF.USIM/EF.IMSI") and the chain of DFs above it."""

    path: str
    node: EF | DF
    parents: tuple[DF, ...]

    @property
    def df_path(self) -> str:
        return self.path.rsplit("/", 1)[0] if isinstance(self.node, EF) else self.path

    @property
    def fid_path(self) -> tuple[int, ...]:
        return tuple(p.fid for p in self.parents) + (self.node.fid,)

    @property
    def ef(self) -> EF:
        assert isinstance(self.node, EF), self.path
        return self.node

    @property
    def df(self) -> DF:
        assert isinstance(self.node, DF), self.path
        return self.node


@dataclass
class FileSystem:
    """A tree indexed by path, with the EF.ARR rules its access sets need."""

    root: DF
    entries: dict[str, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.entries.clear()
        self._index(self.root, "", ())
        self._rules: list[dict[str, list[str]]] | None = None

    def _index(self, node: EF | DF, prefix: str, parents: tuple[DF, ...]) -> None:
        path = f"{prefix}/{node.name}" if prefix else node.name
        if path in self.entries:
            raise ValueError(f"duplicate path {path}")
        self.entries[path] = Entry(path, node, parents)
        if isinstance(node, DF):
            seen_fid: set[int] = set()
            seen_sfi: set[int] = set()
            for child in node.children:
                if child.fid in seen_fid:
                    raise ValueError(f"{path}: duplicate FID {child.fid:04X}")
                seen_fid.add(child.fid)
                if isinstance(child, EF) and child.sfi is not None:
                    if child.sfi in seen_sfi:
                        raise ValueError(f"{path}: duplicate SFI {child.sfi:02X}")
                    seen_sfi.add(child.sfi)
                self._index(child, path, parents + (node,))

    def __getitem__(self, path: str) -> Entry:
        try:
            return self.entries[path]
        except KeyError:
            raise KeyError(f"no file {path!r} in the file-system model") from None

    def __contains__(self, path: str) -> bool:
        return path in self.entries

    def walk(self) -> Iterator[Entry]:
        yield from self.entries.values()

    def efs(self) -> Iterator[Entry]:
        return (e for e in self.entries.values() if isinstance(e.node, EF))

    def dfs(self) -> Iterator[Entry]:
        return (e for e in self.entries.values() if isinstance(e.node, DF))

    def find(self, name: str) -> Entry:
        """By a unique path suffix: "EF.IMSI" is ambiguous (USIM and GSM), "ADF.USIM/EF.IMSI" is not."""
        hits = [e for p, e in self.entries.items() if p == name or p.endswith("/" + name)]
        if len(hits) != 1:
            raise KeyError(f"{name!r} matches {len(hits)} files")
        return hits[0]

    def by_role(self, role: str) -> Entry:
        hits = [e for e in self.efs() if e.ef.role == role]
        if len(hits) != 1:
            raise KeyError(f"no single file with role {role!r}")
        return hits[0]

    def arr_rules(self) -> list[dict[str, list[str]]]:
        """Distinct (read, update) rules in first-seen order; EF.ARR record n = rules[n-1]."""
        if self._rules is not None:
            return self._rules
        rules: list[dict[str, list[str]]] = []
        for e in self.efs():
            rule = {"read": names(e.ef.read), "update": names(e.ef.update)}
            if rule not in rules:
                rules.append(rule)
        self._rules = rules
        return rules

    def arr_record(self, ef: EF) -> int:
        return self.arr_rules().index({"read": names(ef.read), "update": names(ef.update)}) + 1

"""YAML with source lines: plain Python data plus the line of every mapping key and sequence item.

PyYAML's `compose` gives a node tree whose nodes carry `start_mark`; this module walks that tree, builds
ordinary dicts/lists/scalars, and remembers, for every field path such as ``("oplmn_wact", 3, "mnc")``,
the 1-based line where it was written. `SourceMap.line()` falls back to the nearest parent that has one.

Differences from `yaml.safe_load`, on purpose:

* Only ``true``/``false`` (any case) are booleans. YAML 1.1's ``yes``/``no``/``on``/``off`` stay strings,
  so a language list ``[zh, en, no]`` keeps Norwegian instead of turning it into ``False``.
* Mapping keys are the text as written (``1:`` gives the key ``"1"``), and a key written twice in one
  mapping is an error (the first value is kept so that checking can go on).
* Merge keys (``<<``) and recursive aliases are refused: a profile should read the way it is written.
* Bounded (DESIGN.md §4): nesting deeper than `MAX_DEPTH` and more than `MAX_NODES` nodes, every alias
  counted as the nodes it stands for, are refused while composing, before any Python object is built, so
  neither 20,000 nested ``[`` nor a "billion laughs" of nested aliases costs more than a few milliseconds.
  (The size limit of the file itself, `MAX_PROFILE_BYTES`, is checked by `load.py` before parsing.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

MAX_PROFILE_BYTES = 1 << 20  # 1 MiB; the shipped profiles are 6-8 KB
MAX_DEPTH = 32  # collections inside collections; a profile needs 4
MAX_NODES = 10_000  # scalars and collections, aliases expanded; a profile has about 300

_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2 core schema), and whose composer counts:
    depth, and nodes with every alias expanded, refused past `MAX_DEPTH` / `MAX_NODES` (YamlSyntaxError)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0  # collections open around the node being composed
        self._nodes = 0  # nodes so far, aliases counted as what they expand to
        self._deepest = 0  # the deepest level reached inside the node being composed
        self._extent: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, height) once composed

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # Refused in the scanner already: it looks ahead up to 1024 characters of `[[[[...` per token otherwise.
        if self.flow_level >= MAX_DEPTH:
            raise YamlSyntaxError(self.line + 1, f"nested deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if node is None or id(node) not in self._extent:  # the alias points into the node it is part of
                raise YamlSyntaxError(line, f"recursive alias *{event.anchor}")
            nodes, height = self._extent[id(node)]
            self._count(nodes, line, f" (alias *{event.anchor} stands for {nodes} nodes)")
            self._reach(self._depth + height, line)
            return node
        self._count(1, line)
        self._depth += 1
        self._reach(self._depth, line)
        start_nodes, outer_deepest, self._deepest = self._nodes, self._deepest, self._depth
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._extent[id(node)] = (self._nodes - start_nodes + 1, self._deepest - self._depth)
        self._deepest = max(outer_deepest, self._deepest)
        return node

    def _count(self, n: int, line: int, why: str = "") -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise YamlSyntaxError(line, f"more than {MAX_NODES} values{why}: a profile is far smaller; "
                                  "aliases that expand to huge trees are refused")

    def _reach(self, depth: int, line: int) -> None:
        self._deepest = max(self._deepest, depth)
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(line, f"nested deeper than {MAX_DEPTH} levels")


# Copy the resolver table (it is a class attribute shared with SafeLoader) without the YAML 1.1 bools.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class YamlSyntaxError(Exception):
    """The text is not YAML (or not one YAML document). `line` is 1-based."""

    def __init__(self, line: int, reason: str):
        self.line = line
        self.reason = reason
        super().__init__(f"{line}: {reason}")


@dataclass
class SourceMap:
    """Lines (and the written text of scalars) by field path."""

    lines: dict[Path, int] = field(default_factory=dict)
    scalars: dict[Path, str] = field(default_factory=dict)

    def line(self, path: Path | str | Iterable[str | int]) -> int:
        """1-based line of `path`, or of its nearest parent that has one (1 for the document root)."""
        p = parse_path(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def written(self, path: Path | str) -> str | None:
        """The scalar at `path` exactly as written in the file (e.g. ``08`` before YAML made it a number)."""
        return self.scalars.get(parse_path(path))


@dataclass
class YamlDocument:
    data: Any
    source: SourceMap
    problems: list[tuple[Path, int, str]]  # (field path, line, reason): duplicate keys and the like


def parse_path(path: Path | str | Iterable[str | int]) -> Path:
    """``"oplmn_wact.3.mnc"`` -> ``("oplmn_wact", 3, "mnc")``; tuples pass through."""
    if isinstance(path, str):
        if not path:
            return ()
        return tuple(int(part) if part.isdigit() else part for part in path.split("."))
    return tuple(path)


def format_path(path: Path) -> str:
    """``("oplmn_wact", 3, "mnc")`` -> ``"oplmn_wact.3.mnc"``."""
    return ".".join(str(p) for p in path)


def load_yaml(text: str) -> YamlDocument:
    """Parse one YAML document. Raises `YamlSyntaxError` for text that is not YAML."""
    try:
        loader = _Loader(text)  # the reader refuses control characters (a raw NUL) right here
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlSyntaxError(line, f"unacceptable character #x{exc.character:04X}: control characters are not "
                              "allowed in YAML (write \\x.. escapes inside double quotes)") from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            reason = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem:
                where = ""
                if exc.context_mark is not None and exc.context_mark.line + 1 != line:
                    where = f" started at line {exc.context_mark.line + 1}"
                reason = f"{exc.problem} ({exc.context}{where})"
            raise YamlSyntaxError(line, reason) from None
        except yaml.YAMLError as exc:  # reader errors (control characters) and the like
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            raise YamlSyntaxError(line, str(exc).splitlines()[0]) from None
        builder = _Builder(loader)
        if node is None:
            return YamlDocument(None, builder.source, builder.problems)
        builder.source.lines[()] = node.start_mark.line + 1
        data = builder.build(node, ())
        return YamlDocument(data, builder.source, builder.problems)
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: _Loader):
        self.loader = loader
        self.source = SourceMap()
        self.problems: list[tuple[Path, int, str]] = []
        self._active: list[int] = []  # ids of the collection nodes being built (recursion guard)

    def build(self, node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.ScalarNode):
            self.source.scalars[path] = node.value
            try:
                return self.loader.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError as exc:
                line = node.start_mark.line + 1
                raise YamlSyntaxError(line, exc.problem or "cannot read this value") from None
        if id(node) in self._active:
            raise YamlSyntaxError(node.start_mark.line + 1, "recursive alias")
        self._active.append(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    self.source.lines[path + (i,)] = item.start_mark.line + 1
                    items.append(self.build(item, path + (i,)))
                return items
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
        finally:
            self._active.pop()
        raise YamlSyntaxError(node.start_mark.line + 1, f"unsupported YAML node {node.tag}")

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSyntaxError(line, "a mapping key must be a plain word, not a list or a mapping")
            if key_node.tag == _MERGE_TAG:
                raise YamlSyntaxError(line, "merge keys (<<) are not supported; write the keys out")
            key = key_node.value
            if key in result:
                first = self.source.lines[path + (key,)]
                self.problems.append((path + (key,), line, f"duplicate key (first written at line {first})"))
                continue
            self.source.lines[path + (key,)] = line
            result[key] = self.build(value_node, path + (key,))
        return result

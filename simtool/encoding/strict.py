"""Walk a construct declaration beside a value: every problem of the value at once, and its JSON view.

`problems(con, value)` lists unknown keys, missing keys and values a field cannot take, with their
place ("price.currency: missing"), so that `Codec.encode` refuses a misspelled key in one error that
names all of them instead of ignoring it. `to_json(con, value)` turns bytes into hex and leaves out
RFU fields that hold their spec default, for the CLI.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from construct import (
    Adapter,
    Array,
    Default,
    Enum,
    FocusedSeq,
    GreedyRange,
    Renamed,
    Struct,
)
from construct.core import Subconstruct

UNKNOWN = "unknown key"


def _unwrap(con: Any) -> Any:
    """Through wrappers that do not change the value's shape (Renamed, BitStruct's Transformed, Prefixed,
    Padded, Default, Check ...), to the construct that decides it. An adapter that changes the shape is
    opaque unless it says its own `problems`."""
    while (isinstance(con, Subconstruct) and not hasattr(con, "problems")
           and not isinstance(con, Array | GreedyRange | Enum | Adapter)):
        con = con.subcon
    return con


def _fields(struct: Any) -> list[Any]:
    return [sc for sc in struct.subcons if sc.name and not sc.name.startswith("_")]


def problems(con: Any, value: Any) -> list[str]:
    """Everything wrong with `value` for `con`, unknown keys first; [] when it can be encoded."""
    out = _problems(con, value)
    return [p for p in out if p.endswith(UNKNOWN) or UNKNOWN + " (" in p] + [
        p for p in out if not (p.endswith(UNKNOWN) or UNKNOWN + " (" in p)]


def _problems(con: Any, value: Any) -> list[str]:
    con = _unwrap(con)
    check = getattr(con, "problems", None)
    if check is not None:
        return list(check(value))
    if isinstance(con, Struct):
        if not isinstance(value, Mapping):
            return [f"expected a mapping, got {type(value).__name__}"]
        fields = _fields(con)
        names = [sc.name for sc in fields]
        out = []
        for k in value:
            if k not in names:
                near = difflib.get_close_matches(str(k), names, n=1)
                out.append(f"{k}: {UNKNOWN}" + (f" (did you mean {near[0]}?)" if near else ""))
        for sc in fields:
            if sc.name not in value:
                if not sc.flagbuildnone:
                    out.append(f"{sc.name}: missing")
                continue
            out += [f"{sc.name}.{p}" if not p.startswith("[") else f"{sc.name}{p}"
                    for p in _problems(sc.subcon, value[sc.name])]
        return out
    if isinstance(con, FocusedSeq):
        focus = next(sc for sc in con.subcons if sc.name == con.parsebuildfrom)
        return _problems(focus.subcon, value)
    if isinstance(con, Array | GreedyRange):
        if not isinstance(value, list | tuple):
            return [f"expected a list, got {type(value).__name__}"]
        return [f"[{i}].{p}" for i, v in enumerate(value) for p in _problems(con.subcon, v)]
    if isinstance(con, Enum):
        if isinstance(value, str) and value not in con.encmapping:
            return [f"unknown value {value!r} (one of {', '.join(map(str, con.encmapping))})"]
        if not isinstance(value, str | int) or isinstance(value, bool):
            return [f"expected a name, got {type(value).__name__}"]
    return []


def to_json(con: Any, value: Any) -> Any:
    """The value as JSON types: bytes as lowercase hex; RFU fields (named `rfu*`) at their default left out."""
    con = _unwrap(con)
    view = getattr(con, "json_view", None)
    if view is not None:
        return view(value)
    if isinstance(con, Struct) and isinstance(value, Mapping):
        out: dict[str, Any] = {}
        fields = {sc.name: sc for sc in _fields(con)}
        for k, v in value.items():
            sc = fields.get(k)
            if sc is None:
                out[k] = plain_json(v)
                continue
            inner = sc.subcon
            while isinstance(inner, Renamed):
                inner = inner.subcon
            if k.startswith("rfu") and isinstance(inner, Default) and not callable(inner.value) and v == inner.value:
                continue
            out[k] = to_json(sc.subcon, v)
        return out
    if isinstance(con, FocusedSeq):
        focus = next(sc for sc in con.subcons if sc.name == con.parsebuildfrom)
        return to_json(focus.subcon, value)
    if isinstance(con, Array | GreedyRange) and isinstance(value, list):
        return [to_json(con.subcon, v) for v in value]
    return plain_json(value)


def plain_json(value: Any) -> Any:
    """bytes → hex, containers → dicts and lists, everything else as it is."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value

"""Load and validate a profile file, reporting every problem as ``FILE:LINE: field.path: reason``.

`validate_profile` returns ``(profile or None, errors, warnings)``; `load_profile` returns the profile or
raises `ProfileError` (an `InputError`, exit code 2) carrying all error lines. Warnings have the same
shape with ``warning:`` before the reason: ``FILE:LINE: field.path: warning: reason``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import types
import typing
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, ValidationError

from simtool.errors import InputError

from . import checks
from .capacity import DEFAULT_CAPACITIES, Capacities
from .schema import PRIVATE_KEY_FIELD, PRIVATE_KEY_REASON, Profile
from .yamlsrc import MAX_PROFILE_BYTES, Path, SourceMap, YamlSyntaxError, format_path, load_yaml


class ProfileError(InputError):
    """An invalid profile. `.errors` holds one ``FILE:LINE: field.path: reason`` line per problem."""

    def __init__(self, errors: list[str] | str, warnings: list[str] | None = None):
        super().__init__(errors)
        self.warnings = list(warnings or [])


def load_profile(path: str | os.PathLike[str], capacities: Capacities | None = None) -> Profile:
    """The validated profile at `path`; raises `ProfileError` listing every problem."""
    profile, errors, warnings = validate_profile(path, capacities)
    if profile is None:
        raise ProfileError(errors, warnings)
    return profile


def validate_profile(
    path: str | os.PathLike[str], capacities: Capacities | None = None
) -> tuple[Profile | None, list[str], list[str]]:
    """(profile or None, error lines, warning lines). The profile is None exactly when there are errors."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_PROFILE_BYTES + 1)  # a larger file is refused without reading it all
    except OSError as exc:
        return None, [f"{name}: cannot read: {exc.strerror or exc}"], []
    return validate_bytes(raw, name, capacities)


def validate_bytes(
    raw: bytes, source_name: str, capacities: Capacities | None = None
) -> tuple[Profile | None, list[str], list[str]]:
    """As `validate_profile`, for file content already read; `source_name` is used in the messages."""
    if len(raw) > MAX_PROFILE_BYTES:
        return None, [_too_large(source_name)], []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [f"{source_name}:{line}: (file): not UTF-8 text (byte 0x{raw[exc.start]:02X})"], []
    return _validate(text, hashlib.sha256(raw).hexdigest(), source_name, capacities)


def validate_text(
    text: str, source_name: str = "<profile>", capacities: Capacities | None = None
) -> tuple[Profile | None, list[str], list[str]]:
    """As `validate_profile`, for YAML text (its SHA-256 is taken over the UTF-8 bytes)."""
    if len(text) > MAX_PROFILE_BYTES or len(text.encode("utf-8")) > MAX_PROFILE_BYTES:
        return None, [_too_large(source_name)], []
    return _validate(text, hashlib.sha256(text.encode("utf-8")).hexdigest(), source_name, capacities)


def _too_large(source_name: str) -> str:
    return (f"{source_name}:1: (file): larger than {MAX_PROFILE_BYTES} bytes (1 MiB), the limit for a profile; "
            "a profile is a few KB")


def _validate(
    text: str, sha256: str, source_name: str, capacities: Capacities | None
) -> tuple[Profile | None, list[str], list[str]]:
    caps = capacities or DEFAULT_CAPACITIES
    body = text[1:] if text.startswith("\ufeff") else text
    try:
        doc = load_yaml(body)
    except YamlSyntaxError as exc:
        return None, [f"{source_name}:{exc.line}: (yaml): {exc.reason}"], []

    src = doc.source
    found: list[tuple[int, str, str]] = []  # (line, path, reason)
    for path, line, reason in doc.problems:
        found.append((line, format_path(path), reason))

    data = doc.data
    profile: Profile | None = None
    if not isinstance(data, dict):
        what = "an empty file" if data is None else _describe(data)
        found.append((src.line(()), "(profile)", f"must be a mapping of profile fields, got {what}"))
    else:
        try:
            profile = Profile.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = tuple(err["loc"])
                found.append((src.line(loc), format_path(loc) or "(profile)", _reason(dict(err), loc, src)))

    stem = PurePath(source_name).stem if source_name and not source_name.startswith("<") else None
    cross_errors, cross_warnings = checks.cross_check(data, caps, stem)
    for path, reason in cross_errors:
        found.append((src.line(path), format_path(path), reason))

    errors = _lines(source_name, found)
    warned = [(src.line(p), format_path(p), f"warning: {r}") for p, r in cross_warnings]
    warnings = _lines(source_name, warned)
    if errors:
        return None, errors, warnings
    assert profile is not None
    profile._source_name = source_name
    profile._source_text = text
    profile._sha256 = sha256
    profile._warnings = warnings
    return profile, errors, warnings


def _lines(source_name: str, found: list[tuple[int, str, str]]) -> list[str]:
    out: list[str] = []
    seen: set[tuple[int, str, str]] = set()
    for item in sorted(found, key=lambda f: f[0]):  # stable: same-line findings keep their order
        if item in seen:
            continue
        seen.add(item)
        line, path, reason = item
        out.append(f"{source_name}:{line}: {path}: {reason}")
    return out


# -- pydantic errors into plain words --------------------------------------------------------------------


def _describe(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} value"


def _reason(err: dict[str, Any], loc: Path, src: SourceMap) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    got = _describe(value)
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in ("value_error", "assertion_error"):
        msg = str(ctx.get("error", err["msg"]))
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        return msg
    if kind == "string_type":
        written = src.written(loc)
        if isinstance(value, int | float) and not isinstance(value, bool) and written is not None:
            return f'must be text in quotes, got {got} (write "{written}" with the quotes)'
        return f"must be text, got {got}"
    if kind == "int_type":
        return f"must be a whole number, got {got}"
    if kind == "bool_type":
        return f"must be true or false, got {got}"
    if kind == "list_type":
        return f"must be a list, got {got}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping of key: value, got {got}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        if " or " not in expected and "," not in expected:
            return f"must be {expected}, got {got}"
        return f"must be one of {expected}; got {got}"
    if kind == "too_short" and "min_length" in ctx:
        n = ctx["min_length"]
        return f"must have at least {n} {'entry' if n == 1 else 'entries'}"
    if kind == "too_long" and "max_length" in ctx:
        n = ctx["max_length"]
        return f"must have at most {n} {'entry' if n == 1 else 'entries'}"
    return f"{err['msg']}, got {got}"


def _unknown_key(loc: Path) -> str:
    key = loc[-1]
    if isinstance(key, str) and PRIVATE_KEY_FIELD.search(key):
        return f"{key!r} {PRIVATE_KEY_REASON}"
    model = _model_at(loc[:-1])
    if model is None:
        return f"unknown key {key!r}"
    allowed = list(model.model_fields)
    near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    if near:
        return f"unknown key {key!r}; did you mean {near[0]!r}?"
    return f"unknown key {key!r} (allowed: {', '.join(allowed)})"


def _model_at(loc: Path) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Profile
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _model_in(field.annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside list[...] / X | None / Annotated[...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if origin is list or origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None

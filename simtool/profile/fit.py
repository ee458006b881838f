"""Fitting a profile's priority-ordered lists to a card model's files: the one rule, in one place.

A list longer than its file is refused, unless the profile's `fit:` says `truncate` for it; then the
first entries the file holds are kept (the list is in priority order, TS 31.102 §4.2.53/§4.2.54) and the
ones left out are named. `checks` turns the result into an error or a warning, `render` writes what is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .capacity import Capacities

# profile key -> (Capacities field, EF, bytes per entry)
FITTABLE: dict[str, tuple[str, str, int]] = {
    "oplmn_wact": ("oplmn_entries", "EF.OPLMNwACT", 5),
    "hplmn_wact": ("hplmn_entries", "EF.HPLMNwAcT", 5),
}


@dataclass(frozen=True)
class Fitted:
    """A list cut to fit a model's file."""

    list: str
    file: str
    model: str
    holds: int
    given: int
    left_out: tuple[str, ...]  # "MCC/MNC" of every entry not written, in list order

    def message(self) -> str:
        return (f"card model {self.model}'s {self.file} holds {self.holds} of the {self.given} entries; "
                f"fit: truncate leaves out {', '.join(self.left_out)}")

    def as_dict(self) -> dict[str, Any]:
        return {"list": self.list, "file": self.file, "model": self.model, "holds": self.holds,
                "given": self.given, "written": self.holds, "left_out": list(self.left_out)}


def _key(item: Any) -> str:
    if isinstance(item, dict):
        return f"{item.get('mcc')}/{item.get('mnc')}"
    return f"{getattr(item, 'mcc', '?')}/{getattr(item, 'mnc', '?')}"


def fit_list(name: str, items: Sequence[Any], policy: str, caps: Capacities) -> tuple[list[Any], Fitted | None]:
    """(entries to write, the cut or None). With policy "error" a list that is too long comes back
    whole: the caller reports it (`too_long`)."""
    cap_field, ef, _ = FITTABLE[name]
    cap = getattr(caps, cap_field)
    if len(items) <= cap or policy != "truncate":
        return list(items), None
    return list(items[:cap]), Fitted(name, ef, caps.model, cap, len(items), tuple(_key(i) for i in items[cap:]))


def too_long(name: str, given: int, caps: Capacities) -> str:
    cap_field, ef, per = FITTABLE[name]
    cap = getattr(caps, cap_field)
    return (f"{given} entries ({given * per} bytes), card model {caps.model}'s {ef} holds {cap} ({cap * per} bytes);"
            f" shorten the list or set fit: {{{name}: truncate}} to keep the first {cap}")


def policy_of(data: Any, name: str) -> str:
    """The fit policy a profile's plain data asks for (checks run on plain data, beside the schema)."""
    fit = data.get("fit") if isinstance(data, dict) else None
    value = fit.get(name) if isinstance(fit, dict) else None
    return value if value in ("error", "truncate") else "error"

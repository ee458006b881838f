"""Access conditions as sets: a file operation is allowed when ANY condition in its set holds.

Real cards express "any of" with OR templates in EF.ARR (TS 102 221 §9.2.4); the emulator enforces the
sets and the FCP references the matching EF.ARR record.
"""

from __future__ import annotations

from enum import StrEnum


class Cond(StrEnum):
    ALW = "always"
    PIN1 = "pin1"
    PIN2 = "pin2"
    ADM1 = "adm1"
    NEVER = "never"


AccessSet = frozenset[Cond]

# Key references (TS 102 221 §9.5.1 table 9.3).
KEYREF: dict[Cond, int] = {Cond.PIN1: 0x01, Cond.PIN2: 0x81, Cond.ADM1: 0x0A}
COND_BY_KEYREF: dict[int, Cond] = {v: k for k, v in KEYREF.items()}


def any_of(*conds: Cond) -> AccessSet:
    if Cond.NEVER in conds and len(conds) > 1:
        raise ValueError("NEVER cannot be combined with other conditions")
    return frozenset(conds)


ALW = any_of(Cond.ALW)
NEVER = any_of(Cond.NEVER)
ADM = any_of(Cond.ADM1)
PIN_OR_ADM = any_of(Cond.PIN1, Cond.ADM1)
PIN2_OR_ADM = any_of(Cond.PIN2, Cond.ADM1)

_ORDER = [Cond.ALW, Cond.PIN1, Cond.PIN2, Cond.ADM1, Cond.NEVER]


def names(acc: AccessSet) -> list[str]:
    """Stable, readable order: always, pin1, pin2, adm1, never."""
    return [c.value for c in _ORDER if c in acc]


def label(acc: AccessSet) -> str:
    return "|".join(c.upper() if c not in ("always", "never") else c[:3].upper() for c in names(acc))


def allows(acc: AccessSet, held: set[Cond] | frozenset[Cond]) -> bool:
    """True when the operation guarded by `acc` may run with the conditions in `held` satisfied."""
    if Cond.NEVER in acc:
        return False
    return Cond.ALW in acc or bool(acc & held)

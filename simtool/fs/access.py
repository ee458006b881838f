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


# --- the classic SIM's view (TS 51.011 §9.3, §9.2.1; specfacts-network-esim §15.2) -----------------------
# A classic SIM shows one access level per operation, a nibble in GET RESPONSE bytes 9-11: 0 ALW, 1 CHV1,
# 2 CHV2, 4..E the administrative levels, F NEV. Our sets are "any of": the nibble is the weakest condition
# in the set (PIN1|ADM1 shows 1, as a real UICC shows its PIN1-or-ADM files). ADM1 shows A: the key reference
# 0A is what sysmocom's UICCs and pySim-prog use for ADM1 under CLA A0 (VERIFY CHV with P2 0A).
GSM_LEVEL: dict[Cond, int] = {Cond.ALW: 0x0, Cond.PIN1: 0x1, Cond.PIN2: 0x2, Cond.ADM1: 0xA, Cond.NEVER: 0xF}
# P2 of VERIFY/CHANGE/DISABLE/ENABLE/UNBLOCK CHV under CLA A0: the CHV number (1, 2) or the ADM reference.
GSM_CHV_REF: dict[int, Cond] = {0x01: Cond.PIN1, 0x02: Cond.PIN2, 0x0A: Cond.ADM1}


def gsm_level(acc: AccessSet) -> int:
    """The TS 51.011 access nibble of an access set: its weakest condition's level."""
    return min(GSM_LEVEL[c] for c in acc)

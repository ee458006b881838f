"""Codings of the DF.GSM files only the classic SIM has (TS 51.011 §10.3): the GSM service table, the PLMN
selector and the phase. The files DF.GSM shares with ADF.USIM (PLMNwAcT lists, FPLMN, LOCI, Kc, LOCIGPRS
= PSLOCI's layout) use the USIM codecs, as the two specs code them alike.
"""

from __future__ import annotations

import re
from typing import Any

from construct import Bytes, Enum, Int8ub

from simtool.encoding.blocks import LittleInt, Map
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.services import SST_BY_NAME, SST_SERVICES
from simtool.encoding.types import Entries, NamedBits, Plmn

_ALLOCATED, _ACTIVATED = "_allocated", "_activated"


def _sst_bits() -> NamedBits:
    names: dict[int, str] = {}
    for n, name in SST_SERVICES.items():
        names[2 * (n - 1)] = name + _ALLOCATED
        names[2 * (n - 1) + 1] = name + _ACTIVATED
    def parse_other(name: str) -> int | None:
        m = re.fullmatch(r"service_([1-9][0-9]*)_b([12])", name)
        return 2 * (int(m.group(1)) - 1) + int(m.group(2)) - 1 if m else None

    return NamedBits(LittleInt(), names, lambda b: f"service_{b // 2 + 1}_b{b % 2 + 1}", parse_other, "SST bit")


def _sst_value(bits: list[str]) -> list[str]:
    """Both bits of a service set: its name; one alone stays as that bit's name (kept as read)."""
    out, on = [], set(bits)
    for b in bits:
        if b.endswith(_ALLOCATED):
            name = b[: -len(_ALLOCATED)]
            out.append(name if name + _ACTIVATED in on else b)
        elif not b.endswith(_ACTIVATED) or b[: -len(_ACTIVATED)] + _ALLOCATED not in on:
            out.append(b)  # activated alone, or a bit of a service without a name
    return out


def _sst_raw(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        if name in SST_BY_NAME:
            out += [name + _ALLOCATED, name + _ACTIVATED]
        else:
            out.append(name)
    return out


def _sst_check(v: Any) -> list[str]:
    if not isinstance(v, list | tuple):
        return [f"expected a list of SST service names, got {type(v).__name__}"]
    known = set(SST_BY_NAME) | {n + s for n in SST_BY_NAME for s in (_ALLOCATED, _ACTIVATED)}
    return [f"{n!r}: unknown SST service" for n in v
            if n not in known and not re.fullmatch(r"service_[1-9][0-9]*_b[12]", str(n))]


SST = Codec(
    "EF.SST",
    Map(_sst_bits(), _sst_value, _sst_raw, _sst_check),
    filler=b"\x00",
    vectors=(
        Vector("03 30 C0 00 03", ["chv1_disable", "plmn_selector", "smsp", "spn"],
               "TS 51.011 §10.3.7: service n in bits 2n-1 (allocated) and 2n (activated), 4 a byte"),
        Vector("01", ["chv1_disable_allocated"], "allocated, not activated: kept as read"),
    ),
)

# EF.PLMNsel (6F30, §10.3.4): PLMNs in priority order, 3 bytes each, unused FFFFFF (at least 8 entries).
PLMNSEL = Codec("EF.PLMNsel", Entries(Plmn(Bytes(3)), 3, b"\xff\xff\xff"), vectors=(
    Vector("02F480 62F210 FFFFFF", [{"mcc": "204", "mnc": "08"}, {"mcc": "262", "mnc": "01"}],
           "TS 51.011 §10.3.4 with TS 24.008 PLMN coding"),
))

PHASES = {"phase1": 0x00, "phase2": 0x02, "phase2_plus": 0x03}
# EF.Phase (6FAE, §10.3.19): 03 = phase 2 and profile download required (what a card with SAT gives).
PHASE = Codec(
    "EF.Phase",
    Enum(Int8ub, **PHASES),
    vectors=(Vector("03", "phase2_plus", "TS 51.011 §10.3.19"), Vector("02", "phase2")),
)


def all_codecs() -> list[Codec]:
    return [v for v in globals().values() if isinstance(v, Codec)]

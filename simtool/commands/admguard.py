"""The ADM guard (DESIGN.md §4), as one pure rule that every path to a card goes through.

Any command that presents an ADM key (VERIFY, CHANGE, DISABLE, ENABLE with data and P2 an ADM key reference:
`0A`-`0E` ADM1-5, `8A`-`8E` ADM6-10) may cost one of its few tries, and a card whose ADM1 is blocked is lost.
So before it leaves, the card is asked for the tries left (VERIFY with no data → `63Cx`), and it is held back
when:

* fewer than `min_tries` remain (or the card does not say how many);
* a key was refused for that key reference before, by this guard (a failed ADM verify is never retried);
* a key was accepted for it before and this one is a different key (at most one key per reference is ever
  tried; presenting the accepted key again, e.g. after a reset, costs nothing and is let through).

`transport.Reader.send` runs every command through `AdmGuard`, so flash, read, batch, conformance scripts
and any raw APDU sent through a `Reader` are held to the same rule. Keys are remembered only as digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from simtool.commands.apdu import Apdu
from simtool.errors import GuardError

DEFAULT_MIN_ADM_TRIES = 3
ADM_KEY_REFS = frozenset(range(0x0A, 0x0F)) | frozenset(range(0x8A, 0x8F))
# VERIFY, CHANGE REFERENCE DATA, DISABLE and ENABLE VERIFICATION REQUIREMENT: each compares the key presented.
PRESENTING_INS = frozenset({0x20, 0x24, 0x26, 0x28})
_VERIFY = 0x20


def adm_name(ref: int) -> str:
    """`ADM1` for P2 0A ... `ADM10` for 8E."""
    return f"ADM{(ref & 0x7F) - 0x09 + (5 if ref & 0x80 else 0)}"


def adm_key_ref(apdu: Apdu) -> int | None:
    """The ADM key reference this command presents a key for, or None (a query with no data presents none)."""
    if apdu.ins in PRESENTING_INS and apdu.p2 in ADM_KEY_REFS and apdu.data:
        return apdu.p2
    return None


def tries_query(apdu: Apdu) -> Apdu:
    """VERIFY with no data for the same key reference, on the same class byte (logical channel)."""
    return Apdu(apdu.cla, _VERIFY, 0x00, apdu.p2)


def tries_from_sw(sw: int) -> int | None:
    """Tries left from the query's answer: `63Cx` → x, `6983` (blocked) → 0; None when it does not say."""
    if sw & 0xFFF0 == 0x63C0:
        return sw & 0x0F
    if sw == 0x6983:
        return 0
    return None


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(b"simtool-adm-guard" + key).digest()


@dataclass
class AdmGuard:
    """The guard's memory for one card session (one `Reader`): what was refused, what was accepted."""

    min_tries: int = DEFAULT_MIN_ADM_TRIES
    refused: dict[int, int] = field(default_factory=dict)  # key ref -> the SW that refused it
    accepted: dict[int, bytes] = field(default_factory=dict)  # key ref -> digest of the accepted key
    tries_before: dict[int, int | None] = field(default_factory=dict)  # key ref -> tries left at the last query

    def __repr__(self) -> str:  # no digests in a repr
        return f"AdmGuard(min_tries={self.min_tries}, refused={sorted(self.refused)}, accepted={sorted(self.accepted)})"

    @contextmanager
    def threshold(self, min_tries: int) -> Iterator[None]:
        """Use `min_tries` for the commands sent inside the block (flash's `--min-adm-tries`)."""
        before, self.min_tries = self.min_tries, min_tries
        try:
            yield
        finally:
            self.min_tries = before

    def repeat_reason(self, ref: int, key: bytes) -> str | None:
        """Why a key may not be presented at all, whatever the card says (None: it may, after the query)."""
        name = adm_name(ref)
        if ref in self.refused:
            return (f"the card refused an {name} key earlier in this session (SW {self.refused[ref]:04X}); a failed "
                    "ADM verify is never retried")
        if ref in self.accepted and self.accepted[ref] != _digest(key):
            return f"the card accepted another {name} key earlier in this session; only one key is ever tried"
        return None

    def check(self, where: str, ref: int, key: bytes, query_sw: int) -> None:
        """Raise GuardError (exit 4) unless the key may be sent, given the answer to the tries query."""
        name = adm_name(ref)
        tries = tries_from_sw(query_sw)
        self.tries_before[ref] = tries
        reason = self.repeat_reason(ref, key)
        if reason is None and tries is None and query_sw != 0x9000:  # 9000: already verified, nothing at stake
            reason = (f"the card did not say how many {name} tries are left (SW {query_sw:04X}); the guard sends "
                      "no key it cannot count")
        if reason is None and tries is not None and tries < self.min_tries:
            reason = (f"{name} has {tries} tries left, fewer than the guard's minimum of {self.min_tries} (check "
                      "the ADM key, then lower the bar with --min-adm-tries if you are sure)")
        if reason is not None:
            exc = GuardError(f"{where}: {reason}; no {name} key sent")
            exc.details = {"adm_tries_left": tries, "min_adm_tries": self.min_tries}  # type: ignore[attr-defined]
            raise exc

    def record(self, ref: int, key: bytes, sw: int) -> None:
        """Remember the card's verdict on a key that was sent."""
        if sw == 0x9000:
            self.accepted[ref] = _digest(key)
        else:  # 63Cx, 6983, or 6700/6A88 (maybe nothing compared: the guard does not guess, no second key)
            self.refused[ref] = sw

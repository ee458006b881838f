"""What `batch run` does with the card in a reader, as one pure function: the facts read from the card and the
ledger row found for it (or none) in, one `Verdict` out (lease a fresh identity, claim the row's, reclaim a dead
station's lease then claim, refuse, skip, or leave the card unused), with its reason.

No I/O, no clock, no threads: the runner reads the card and the ledger, asks `decide_card`, and does what the
verdict says. Where a ledger transition is involved the lifecycle table (`lifecycle.decide`) is asked; the
rules are not stated a second time here. The ledger decides again inside its transaction (another station may
have moved since the row was read), so a verdict to claim can still end in the ledger's refusal.

The outcome of a card, a reader's state and an identity's state (`lifecycle.State`) are `StrEnum`s: their
values are stored in ledgers and printed in --json, and are the strings they always were.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from simtool.batch import lifecycle as lc


class Outcome(StrEnum):
    """What became of one card (a tray sorts the card file by it; the screen and --json show it)."""

    VERIFIED = "verified"
    SKIPPED = "skipped"
    FAILED = "failed"
    REFUSED = "refused"
    UNUSED = "unused"  # no identity for it in this run: a tray keeps the card for a later run
    REJECTED = "rejected"  # a damaged card file, set aside by its tray
    HELD = "held"  # written, but its last check could not be made (the HLR is away): it stays `writing`, and
    # its tray keeps it for the next run, which re-flashes and checks it


class ReaderState(StrEnum):
    """A reader's state on the live display and in --json."""

    STARTING = "starting"
    WAITING = "waiting"
    FLASHING = "flashing"
    DONE = "done"
    STOPPED = "stopped"


class Action(StrEnum):
    LEASE = "lease"  # a blank card: lease the next free identity
    CLAIM = "claim"  # the card carries (part of) this row's identity: take it back
    RECLAIM_CLAIM = "reclaim, then claim"  # ... from a station that is gone
    REFUSE = "refuse"
    SKIP = "skip"  # already verified
    UNUSED = "unused"  # nothing for this card in this run


TAKES_IDENTITY = frozenset({Action.LEASE, Action.CLAIM, Action.RECLAIM_CLAIM})


@dataclass(frozen=True)
class CardFacts:
    """What is known about the card in the reader."""

    card_ref: str | None = None  # the physical card's name, when its source gives one (a tray's file)
    iccid: str | None = None  # EF.ICCID as read; None when not read or blank
    imsi: str | None = None  # EF.IMSI as read (the probe); None when not read
    model: str | None = None  # the card model its ATR names; None when no model answers to the ATR
    atr: bytes = b""


class Row(lc.RowLike, Protocol):
    """What `decide_card` reads of a ledger row (`IdentityRow` has it)."""

    @property
    def reason(self) -> str | None: ...


@dataclass(frozen=True)
class _Row:
    """A row as the lifecycle table would leave it after an operation (to ask the table about the next one)."""

    iccid: str
    state: str
    lease_owner: str | None
    lease_reader: str | None
    lease_until: float | None
    token: int


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str

    @property
    def takes_identity(self) -> bool:
        return self.action in TAKES_IDENTITY


def decide_card(card: CardFacts, row: Row | None, *, batch_id: str, preprinted: bool, owner: str, now: float,
                owner_dead: bool = False, room: bool = True) -> Verdict:
    """The verdict for `card` with ledger row `row` (None: none found for it), on station `owner` at `now`.
    `owner_dead`: the row's lease owner (another station) is known gone; `room`: this run may still take an
    identity (--max-cards not reached)."""
    if row is None:
        if preprinted:
            if not card.iccid:
                return Verdict(Action.REFUSE, "blank card, but this batch's cards carry the vendor's ICCIDs")
            return Verdict(Action.REFUSE, f"the card carries ICCID {card.iccid}, not in batch {batch_id}")
        if card.model is None:
            return _unknown(card)
        if not room:
            return Verdict(Action.UNUSED, "this run may take no more identities (--max-cards)")
        return Verdict(Action.LEASE, "a blank card: the next free identity")
    if row.state == lc.VERIFIED:
        return Verdict(Action.SKIP, "the card came back already verified")
    if row.state == lc.VOIDED:
        return Verdict(Action.REFUSE, f"ICCID {row.iccid} was voided ({row.reason})")
    if card.model is None:
        return _unknown(card)
    if not room:
        return Verdict(Action.UNUSED, "this run may take no more identities (--max-cards)")
    action: Action = Action.CLAIM
    claimed: lc.RowLike = row
    other = row.lease_owner not in (None, owner)
    if other and owner_dead:
        reclaim = lc.decide("reclaim", row, now=now, dead=frozenset({row.lease_owner or ""}))
        if reclaim.ok:  # its station died after this one started: its card is here, so take it back at once
            action = Action.RECLAIM_CLAIM
            claimed = _Row(row.iccid, reclaim.state, None, row.lease_reader, None, reclaim.token)
    claim = lc.decide("claim", claimed, owner=owner, now=now)
    if not claim.ok:
        return Verdict(Action.REFUSE, f"ICCID {row.iccid} {claim.detail.removeprefix('claim refused: ')}")
    if action is Action.RECLAIM_CLAIM:
        return Verdict(action, f"station {row.lease_owner} is gone; {claim.detail}")
    return Verdict(action, claim.detail)


class AfterError(StrEnum):
    """What the runner does with a card whose flash raised."""

    FAIL = "fail"  # mark it failed with the reason (it may hold the identity)
    HOLD = "hold"  # leave it `writing` (recoverable), keep the card, and stop the run
    REFUSE = "refuse"  # the lease was taken away before the first write: the ledger has recorded it
    RELEASE = "release"  # nothing was written: the identity goes back to free; the card is refused


@dataclass(frozen=True)
class ErrorVerdict:
    action: AfterError
    stop_run: bool = False  # the whole run stops (a service every card needs is away)


def decide_error(*, wrote: bool, fenced: bool, service_down: bool) -> ErrorVerdict:
    """The verdict for a flash that raised. `wrote`: the journal says `writing` (the card may hold the identity);
    `fenced`: the ledger refused `writing` (another reader holds the lease now); `service_down`: the error is a
    service that stopped answering (the HLR of `--gsup`), not the card: never the card's failure, and the next
    cards would meet it too."""
    if service_down:
        return ErrorVerdict(AfterError.HOLD if wrote else AfterError.RELEASE, stop_run=True)
    if wrote:
        return ErrorVerdict(AfterError.FAIL)
    if fenced:
        return ErrorVerdict(AfterError.REFUSE)
    return ErrorVerdict(AfterError.RELEASE)


def _unknown(card: CardFacts) -> Verdict:
    return Verdict(Action.REFUSE, f"unknown card (ATR {card.atr.hex().upper()}): no card model answers to it")


__all__ = ["TAKES_IDENTITY", "Action", "AfterError", "CardFacts", "ErrorVerdict", "Outcome", "ReaderState", "Row",
           "Verdict", "decide_card", "decide_error"]

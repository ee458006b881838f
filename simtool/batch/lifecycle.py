"""The identity lifecycle, declared once: for each ledger operation its from-states, its to-state, who may do
it, what it does to the lease and the fencing token, and what its event says.

Pure code (no database, no clock): a ledger engine reads the identity's row inside its transaction, asks
`decide`, and writes what the `Decision` says (the new state, the lease, the token, one event). So both
engines, and anything else, follow the same rules, and the rules can be tested without a database.

Fencing: every operation that gives or takes away a lease (lease, claim, release, verified, failed, void,
reclaim, set aside) moves the identity's `token` on. The operations of a lease holder (release,
mark_writing, mark_verified, mark_failed) are accepted only with the current token, so a lease that was
reclaimed or claimed by another reader, of this station or another, can never be used again. A holder
whose lease ran out but whose token is still current keeps it: nobody took it, and taking it would have
moved the token. A refused operation changes nothing but leaves an event (state ``refused``) saying which
operation was refused and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Protocol


class State(StrEnum):
    """An identity's state. The values are stored in ledgers and printed in --json: they never change."""

    FREE = "free"
    LEASED = "leased"
    WRITING = "writing"
    VERIFIED = "verified"
    FAILED = "failed"
    VOIDED = "voided"


# the names every module imported before `State` existed
FREE, LEASED, WRITING, VERIFIED, FAILED, VOIDED = (State.FREE, State.LEASED, State.WRITING, State.VERIFIED,
                                                   State.FAILED, State.VOIDED)
STATES = tuple(State)
TERMINAL = frozenset({VERIFIED, FAILED, VOIDED})
# States in which a card may hold the identity: never issued again, never reclaimed by a lease timeout.
ON_A_CARD = frozenset({WRITING, FAILED, VERIFIED})
REFUSED = "refused"  # the state of the event a refused operation leaves


class Who(Enum):
    """Who may do an operation."""

    ANYONE = "anyone"  # the state alone decides
    HOLDER = "holder"  # the lease holder, with the identity's current token (expired or not)
    OWNER = "owner"  # the lease's station, whatever the token (a heartbeat covers all its leases at once)
    NO_LIVE_OTHER = "no live lease of another station"  # free, ours, or another's that expired
    NO_LIVE_LEASE = "no live lease"  # a person: nobody may be on the card right now
    STALE = "expired or dead lease"  # the sweep: a lease that ran out, or whose station is gone


class Lease(Enum):
    """What an operation does to the lease (owner, reader, until) and the token."""

    TAKE = "take"  # new owner, reader and deadline; token + 1
    KEEP = "keep"  # unchanged
    DROP = "drop"  # no owner, no deadline (the reader stays as history); token + 1
    CLEAR = "clear"  # no owner, reader or deadline; token + 1


class Refusal(Enum):
    """The error a refused operation raises (the ledger maps it to its exception types)."""

    CONFLICT = "conflict"  # LedgerConflict (exit 1)
    INPUT = "input"  # InputError (exit 2): a person asked for something that cannot be
    GUARD = "guard"  # GuardError (exit 4): a reader may be on the card right now


@dataclass(frozen=True)
class Rule:
    op: str
    to: dict[str, str]  # from-state -> to-state; a state not listed is refused
    who: Who
    lease: Lease
    event: str  # the event's detail; {placeholders} from `decide`'s arguments
    records: tuple[str, ...] = ()  # other columns it sets: card_ref, attempts, reader, reason
    refusal: Refusal = Refusal.CONFLICT


def _all(to: str, *, but: tuple[str, ...] = ()) -> dict[str, str]:
    return {s: to for s in STATES if s not in but}


RULES: dict[str, Rule] = {r.op: r for r in (
    Rule("lease", {FREE: LEASED}, Who.ANYONE, Lease.TAKE, "next free identity"),
    Rule("claim", {FREE: LEASED, LEASED: LEASED, WRITING: WRITING, FAILED: WRITING}, Who.NO_LIVE_OTHER, Lease.TAKE,
         "{claim_detail}", ("card_ref",)),
    Rule("heartbeat", {LEASED: LEASED, WRITING: WRITING}, Who.OWNER, Lease.KEEP, "lease extended"),
    Rule("release", {LEASED: FREE}, Who.HOLDER, Lease.CLEAR, "{detail}"),
    Rule("mark_writing", {LEASED: WRITING, WRITING: WRITING}, Who.HOLDER, Lease.KEEP,
         "journaled before the first write", ("card_ref", "attempts", "reader")),
    Rule("mark_verified", {WRITING: VERIFIED}, Who.HOLDER, Lease.DROP, "{detail}", ("reason",)),
    Rule("mark_failed", {WRITING: FAILED}, Who.HOLDER, Lease.DROP, "{detail}", ("reason",)),
    Rule("void", _all(VOIDED, but=(VOIDED,)), Who.NO_LIVE_LEASE, Lease.DROP, "was {state}: {detail}", ("reason",),
         Refusal.INPUT),
    # the reader stays as history: where the card was when its station died
    Rule("reclaim", {LEASED: FREE, WRITING: WRITING}, Who.STALE, Lease.DROP, "{reclaim_detail}"),
    Rule("set_aside", {FREE: VOIDED}, Who.ANYONE, Lease.CLEAR, "damaged ledger row, never issued: {detail}",
         ("reason",)),
)}
OPS = tuple(RULES)


class RowLike(Protocol):
    """What `decide` reads of an identity (`IdentityRow` has it)."""

    @property
    def iccid(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def lease_owner(self) -> str | None: ...
    @property
    def lease_reader(self) -> str | None: ...
    @property
    def lease_until(self) -> float | None: ...
    @property
    def token(self) -> int: ...


@dataclass(frozen=True)
class Decision:
    op: str
    ok: bool
    state: str  # the state after (the same as before when refused)
    lease: Lease  # KEEP when refused
    token: int  # the token after
    event: str  # the event's state: the new state, or "refused"
    detail: str  # the event's detail; when refused, also the error's message
    refusal: Refusal | None = None
    records: tuple[str, ...] = ()


def _live(row: RowLike, now: float | None) -> bool:
    return row.lease_owner is not None and now is not None and (row.lease_until or 0.0) >= now


def _who_refuses(rule: Rule, row: RowLike, owner: str | None, token: int | None, now: float | None,
                 dead: frozenset[str]) -> tuple[str, Refusal] | None:
    """Why `rule.who` does not allow this actor on this row, or None when it does."""
    if rule.who is Who.HOLDER:
        if row.lease_owner is None:
            return f"it has no lease now (token {row.token}; token {token} is stale)", Refusal.CONFLICT
        if row.lease_owner != owner:
            return (f"the lease is held by station {row.lease_owner} on {row.lease_reader} (token {row.token}; "
                    f"token {token} is stale)", Refusal.CONFLICT)
        if token != row.token:
            return (f"token {token} is stale: the lease is now token {row.token} on {row.lease_reader}",
                    Refusal.CONFLICT)
        return None
    if rule.who is Who.OWNER:
        if row.lease_owner is None or row.lease_owner != owner:
            return f"the lease is not this station's ({row.lease_owner or 'none'})", Refusal.CONFLICT
        return None
    if rule.who is Who.NO_LIVE_OTHER:
        if row.lease_owner not in (None, owner) and _live(row, now):
            return f"is in flight on {row.lease_reader} (station {row.lease_owner})", Refusal.CONFLICT
        return None
    if rule.who is Who.NO_LIVE_LEASE:
        if _live(row, now):
            return (f"is in flight on {row.lease_reader} (station {row.lease_owner}); stop that run first",
                    Refusal.GUARD)
        return None
    if rule.who is Who.STALE:
        if row.lease_owner is None:
            return "it has no lease", Refusal.CONFLICT
        if row.lease_owner in dead:
            return None
        if row.state == LEASED and not _live(row, now):
            return None
        why = "its station is alive" if row.state == WRITING else "its lease is live"
        return f"{why} (station {row.lease_owner})", Refusal.CONFLICT
    return None


def decide(op: str, row: RowLike, *, owner: str | None = None, token: int | None = None, now: float | None = None,
           dead: frozenset[str] = frozenset(), detail: str = "") -> Decision:
    """What operation `op` by `owner` (holding `token`, at time `now`; `dead`: stations known gone) does to
    `row`. Never raises for a known op: a refusal is a Decision with ok False."""
    rule = RULES[op]
    state = row.state
    to = rule.to.get(state)
    refused: tuple[str, Refusal] | None = None
    if to is None:
        want = "/".join(rule.to)
        if op == "void" and state == VOIDED:
            refused = "is already voided", Refusal.INPUT
        elif op == "claim":
            refused = f"is {state}", Refusal.CONFLICT
        else:
            refused = f"it is {state}, not {want}", rule.refusal
    else:
        refused = _who_refuses(rule, row, owner, token, now, dead)
    if refused is not None or to is None:
        why, kind = refused or ("", rule.refusal)
        return Decision(op, False, state, Lease.KEEP, row.token, REFUSED, f"{op} refused: {why}", kind)
    fields = {"detail": detail, "state": state}
    if op == "claim":
        fields["claim_detail"] = ("the card carries this identity's ICCID" if to == LEASED else
                                  f"the card came back ({state}); writing it again with the same identity")
    if op == "reclaim":
        gone = row.lease_owner in dead
        if state == LEASED:
            fields["reclaim_detail"] = (f"lease of {row.lease_owner} on {row.lease_reader} reclaimed: "
                                        f"{'its station is gone' if gone else 'its lease expired'}; nothing was "
                                        "written")
        else:
            fields["reclaim_detail"] = f"station {row.lease_owner} is gone; the identity waits for its card"
    new_token = row.token if rule.lease is Lease.KEEP else row.token + 1
    return Decision(op, True, to, rule.lease, new_token, to, rule.event.format(**fields), None, rule.records)

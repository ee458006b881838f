"""The lifecycle table without a database: every state x every operation x who asks (the holder with its
current token, a stale token, another station, an expired or dead lease, no lease), against rules written
out here a second way; then the invariants (nothing on a card goes back to free, a refusal changes nothing,
every lease given or taken moves the token) and the fencing property over every short history."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from simtool.batch import lifecycle as lc
from simtool.batch.lifecycle import FAILED, FREE, LEASED, ON_A_CARD, STATES, VERIFIED, VOIDED, WRITING
from tests.batch.batch_helpers import ME, NOW, OTHER, Row

# Who asks, and the lease the row has: (lease owner, lease live?, the asker's token is the row's?)
RELATIONS = {
    "holder": (ME, True, True),
    "holder, lease expired": (ME, False, True),
    "holder, stale token": (ME, True, False),
    "other station, live": (OTHER, True, True),
    "other station, expired": (OTHER, False, True),
    "other station, dead": (OTHER, True, True),
    "no lease": (None, False, True),
}


def _case(state: str, relation: str) -> tuple[Row, dict]:
    owner, live, current = RELATIONS[relation]
    row = Row(state, owner, "r1" if owner else None, (NOW + 30 if live else NOW - 1) if owner else None)
    dead = frozenset({OTHER}) if relation == "other station, dead" else frozenset()
    return row, {"owner": ME, "token": row.token if current else row.token - 1, "now": NOW, "dead": dead,
                 "detail": "why"}


def _expected_ok(op: str, state: str, relation: str) -> bool:
    """The rules, written out a second way (per operation, in words), to hold the table to."""
    owner, live, current = RELATIONS[relation]
    mine = owner == ME
    dead = relation == "other station, dead"
    if op in ("lease", "set_aside"):
        return state == FREE  # the state alone decides
    if op == "claim":  # a card came back: anything not final, unless another station is on it right now
        return state in (FREE, LEASED, WRITING, FAILED) and not (owner == OTHER and live)
    if op == "heartbeat":
        return state in (LEASED, WRITING) and mine
    if op == "release":
        return state == LEASED and mine and current
    if op == "mark_writing":
        return state in (LEASED, WRITING) and mine and current
    if op in ("mark_verified", "mark_failed"):
        return state == WRITING and mine and current
    if op == "void":  # a person: anything not voided, unless a reader may be on the card right now
        return state != VOIDED and not (owner is not None and live)
    if op == "reclaim":  # the sweep: a lease that ran out (nothing written), or any lease of a dead station
        return owner is not None and ((state == LEASED and (not live or dead)) or (state == WRITING and dead))
    raise AssertionError(op)


CASES = list(itertools.product(lc.OPS, STATES, RELATIONS))


def test_the_table_has_every_operation_and_only_known_states():
    assert set(lc.OPS) == {"lease", "claim", "heartbeat", "release", "mark_writing", "mark_verified", "mark_failed",
                           "void", "reclaim", "set_aside"}
    for rule in lc.RULES.values():
        assert set(rule.to) <= set(STATES) and set(rule.to.values()) <= set(STATES), rule.op


@pytest.mark.parametrize(("op", "state", "relation"), CASES, ids=[f"{o}-{s}-{r}" for o, s, r in CASES])
def test_every_state_operation_and_asker(op, state, relation):
    row, kw = _case(state, relation)
    d = lc.decide(op, row, **kw)
    assert d.ok is _expected_ok(op, state, relation), d.detail
    if not d.ok:  # refused: nothing changes, one event says which operation and why
        assert (d.state, d.token, d.lease, d.event) == (state, row.token, lc.Lease.KEEP, "refused")
        assert d.detail.startswith(f"{op} refused: ") and len(d.detail) > len(op) + 11
        want = lc.Refusal.CONFLICT
        if op == "void":
            want = lc.Refusal.INPUT if state == VOIDED else lc.Refusal.GUARD
        assert d.refusal is want
        return
    assert d.event == d.state and d.refusal is None
    assert (d.token == row.token) is (d.lease is lc.Lease.KEEP)  # a lease given or taken moves the token on
    assert d.lease is lc.Lease.KEEP or d.token == row.token + 1
    if state in ON_A_CARD:
        assert d.state not in (FREE, LEASED), "an identity a card may hold went back to be issued again"
    if d.state == VERIFIED:
        assert (op, state) == ("mark_verified", WRITING)
    if op in ("lease", "claim"):
        assert d.lease is lc.Lease.TAKE
    if op in ("mark_verified", "mark_failed", "void", "release", "reclaim", "set_aside"):
        assert d.lease in (lc.Lease.DROP, lc.Lease.CLEAR)  # no lease survives them


def test_the_events_say_what_happened():
    free, writing = Row(FREE), Row(WRITING, ME, "r1", NOW - 1)
    assert lc.decide("lease", free, owner=ME, now=NOW).detail == "next free identity"
    assert lc.decide("claim", free, owner=ME, now=NOW).detail == "the card carries this identity's ICCID"
    assert lc.decide("claim", writing, owner=OTHER, now=NOW).detail == (
        "the card came back (writing); writing it again with the same identity")
    assert lc.decide("reclaim", Row(LEASED, OTHER, "r1", NOW - 1), now=NOW).detail == (
        f"lease of {OTHER} on r1 reclaimed: its lease expired; nothing was written")
    gone = lc.decide("reclaim", writing, now=NOW, dead=frozenset({ME}))
    assert (gone.state, gone.lease, gone.detail) == (WRITING, lc.Lease.DROP,
                                                      f"station {ME} is gone; the identity waits for its card")
    assert lc.decide("void", writing, now=NOW, detail="lost").detail == "was writing: lost"
    stale = lc.decide("mark_writing", Row(WRITING, ME, "r2", NOW + 9, token=9), owner=ME, token=8)
    assert stale.detail == "mark_writing refused: token 8 is stale: the lease is now token 9 on r2"
    assert lc.decide("claim", Row(LEASED, OTHER, "r2", NOW + 9), owner=ME, now=NOW).detail == (
        f"claim refused: is in flight on r2 (station {OTHER})")


def _apply(row: Row, d: lc.Decision, owner: str | None) -> Row:
    if not d.ok:
        return row
    if d.lease is lc.Lease.TAKE:
        return replace(row, state=d.state, token=d.token, lease_owner=owner, lease_reader="r", lease_until=NOW + 30)
    if d.lease in (lc.Lease.DROP, lc.Lease.CLEAR):
        return replace(row, state=d.state, token=d.token, lease_owner=None, lease_until=None)
    return replace(row, state=d.state, token=d.token)


def test_fencing_over_every_short_history():
    """From a free identity, every sequence of four operations by two stations (each using the token of
    its own last lease or claim): once a lease is replaced, its token never journals, verifies, fails or
    releases anything again; and verified happens at most once."""
    moves = [(op, who) for op in ("lease", "claim", "release", "mark_writing", "mark_verified", "mark_failed",
                                  "reclaim") for who in (ME, OTHER)]
    histories = 0
    for seq in itertools.product(moves, repeat=4):
        row, tokens, old, verified = Row(FREE, token=0), {ME: -1, OTHER: -1}, set(), 0
        for op, who in seq:
            now = NOW + 100 if op == "reclaim" else NOW  # the sweep comes late: every lease has run out
            d = lc.decide(op, row, owner=who, token=tokens[who], now=now, dead=frozenset())
            if op in ("release", "mark_writing", "mark_verified", "mark_failed") and tokens[who] in old:
                assert not d.ok, (seq, op, who)
            if d.ok and d.token != row.token:
                old.add(row.token)  # that lease is gone, whoever held it
            if d.ok and op in ("lease", "claim"):
                tokens[who] = d.token
            if d.ok and d.state == VERIFIED:
                verified += 1
            row = _apply(row, d, who)
        assert verified <= 1, seq
        histories += 1
    assert histories == len(moves) ** 4

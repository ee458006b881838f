"""The runner's decision about the card in a reader, case by case without threads, cards or a ledger: what is
known of the card + the ledger row found for it + the liveness of the row's station -> lease / claim /
reclaim then claim / refuse / skip / unused, with the reason; checked against the lifecycle table over every
state and lease. Then the probe in a run: it reads the ATR for the model, and an unexpected error in it
stops the reader with the error's type and message instead of vanishing; and the enums keep today's strings."""

from __future__ import annotations

import itertools
import json

import pytest

from simtool.batch import lifecycle as lc
from simtool.batch.decide import Action, AfterError, CardFacts, Outcome, ReaderState, decide_card, decide_error
from simtool.batch.lifecycle import FAILED, FREE, LEASED, STATES, VERIFIED, VOIDED, WRITING, State
from simtool.fs import MODELS
from tests.batch.batch_helpers import ME, NOW, OTHER, Row

BATCH = "B1"
ICCID = "8931080000000000019"
EMU = CardFacts("tray/card-000001.json", model="simtool-emu", atr=MODELS["simtool-emu"].atr_t0)




def _decide(card: CardFacts, row: Row | None, *, preprinted: bool = False, dead: bool = False,
            room: bool = True):
    return decide_card(card, row, batch_id=BATCH, preprinted=preprinted, owner=ME, now=NOW, owner_dead=dead,
                       room=room)


def _live(state: str, owner: str = OTHER) -> Row:
    return Row(state, owner, "r2", NOW + 30)


def _expired(state: str, owner: str = OTHER) -> Row:
    return Row(state, owner, "r2", NOW - 1)


CASES = [
    # (case, card, row, keywords, action, words in the reason)
    ("a blank card", EMU, None, {}, Action.LEASE, "next free identity"),
    ("a blank card, --max-cards reached", EMU, None, {"room": False}, Action.UNUSED, "--max-cards"),
    ("a blank card of a pre-printed batch", EMU, None, {"preprinted": True}, Action.REFUSE,
     "blank card, but this batch's cards carry the vendor's ICCIDs"),
    ("a pre-printed card of another batch", CardFacts(iccid="8931080000000009999", model="simtool-emu"), None,
     {"preprinted": True}, Action.REFUSE, "carries ICCID 8931080000000009999, not in batch B1"),
    ("a card no model answers to", CardFacts(atr=bytes.fromhex("3B0201FF")), None, {}, Action.REFUSE,
     "unknown card (ATR 3B0201FF)"),
    ("its pre-printed identity, free", EMU, Row(FREE), {"preprinted": True}, Action.CLAIM,
     "the card carries this identity's ICCID"),
    ("ours, leased (we crashed before writing)", EMU, _live(LEASED, ME), {}, Action.CLAIM,
     "the card carries this identity's ICCID"),
    ("ours, writing: it came back", EMU, _live(WRITING, ME), {}, Action.CLAIM, "came back (writing)"),
    ("failed, no lease: it came back", EMU, Row(FAILED), {}, Action.CLAIM, "came back (failed)"),
    ("writing, no lease (its station was reclaimed)", EMU, Row(WRITING), {}, Action.CLAIM, "came back (writing)"),
    ("another station's, live", EMU, _live(WRITING), {}, Action.REFUSE,
     f"ICCID {ICCID} is in flight on r2 (station {OTHER})"),
    ("another station's, live, but that station is gone", EMU, _live(WRITING), {"dead": True},
     Action.RECLAIM_CLAIM, f"station {OTHER} is gone; the card came back (writing)"),
    ("another station's lease, gone before a write", EMU, _live(LEASED), {"dead": True}, Action.RECLAIM_CLAIM,
     "the card carries this identity's ICCID"),
    ("another station's, expired, station alive", EMU, _expired(WRITING), {}, Action.CLAIM, "came back (writing)"),
    ("verified: it came back", EMU, Row(VERIFIED), {}, Action.SKIP, "already verified"),
    ("verified, even with no room and an unknown ATR", CardFacts(), Row(VERIFIED), {"room": False}, Action.SKIP,
     "already verified"),
    ("voided", EMU, Row(VOIDED, reason="card broke"), {}, Action.REFUSE, f"ICCID {ICCID} was voided (card broke)"),
    ("ours, --max-cards reached", EMU, _live(WRITING, ME), {"room": False}, Action.UNUSED, "--max-cards"),
    ("ours, unknown ATR", CardFacts(atr=b"\x3b\x00"), _live(WRITING, ME), {}, Action.REFUSE, "unknown card (ATR 3B00)"),
]


@pytest.mark.parametrize(("card", "row", "kw", "action", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_case_has_its_verdict_and_reason(card, row, kw, action, words):
    v = _decide(card, row, **kw)
    assert v.action is action and words in v.reason, v
    assert v.takes_identity == (action in (Action.LEASE, Action.CLAIM, Action.RECLAIM_CLAIM))


RELATIONS = {  # the row's lease: (owner, live, that station known gone)
    "no lease": (None, False, False),
    "ours, live": (ME, True, False),
    "ours, expired": (ME, False, False),
    "other, live": (OTHER, True, False),
    "other, expired": (OTHER, False, False),
    "other, gone": (OTHER, True, True),
}


@pytest.mark.parametrize(("state", "relation"), list(itertools.product(STATES, RELATIONS)))
def test_the_verdict_follows_the_lifecycle_table(state, relation):
    """Over every state and lease: the card's identity is taken exactly when the table lets this station
    claim it (after reclaiming it from a station that is gone, when the table lets that happen first)."""
    owner, live, gone = RELATIONS[relation]
    row = Row(state, owner, "r2" if owner else None, (NOW + 30 if live else NOW - 1) if owner else None)
    v = _decide(EMU, row, dead=gone)
    reclaim = lc.decide("reclaim", row, now=NOW, dead=frozenset({OTHER}) if gone else frozenset())
    if gone and reclaim.ok:
        after = Row(reclaim.state, None, row.lease_reader, None, reclaim.token)
        may, action = lc.decide("claim", after, owner=ME, now=NOW).ok, Action.RECLAIM_CLAIM
    else:
        may, action = lc.decide("claim", row, owner=ME, now=NOW).ok, Action.CLAIM
    if state == VERIFIED:
        assert v.action is Action.SKIP
    elif may:
        assert v.action is action
    else:
        assert v.action is Action.REFUSE and ICCID in v.reason


def test_states_outcomes_and_reader_states_keep_their_strings():
    """They are stored in ledgers and printed in --json: the enums are today's strings, and the old names
    are the members."""
    assert [s.value for s in State] == ["free", "leased", "writing", "verified", "failed", "voided"]
    assert tuple(State) == (FREE, LEASED, WRITING, VERIFIED, FAILED, VOIDED) and tuple(State) == STATES
    assert FREE is State.FREE and f"{WRITING}" == "writing" and str(VOIDED) == "voided"
    assert {o.value for o in Outcome} == {"verified", "skipped", "failed", "refused", "unused", "rejected",
                                        "held"}
    assert {r.value for r in ReaderState} == {"starting", "waiting", "flashing", "done", "stopped"}
    shown = json.dumps({"state": Outcome.REFUSED, ReaderState.DONE: State.FREE})
    assert shown == '{"state": "refused", "done": "free"}'
    assert Outcome.VERIFIED == "verified" and {"verified": 1}[Outcome.VERIFIED] == 1  # a tray's sort by outcome


# -- the probe, in a run ---------------------------------------------------------------------------------------

ADM = bytes.fromhex("3131313131313131")
SECOND = "8931080000000000027"


@pytest.fixture
def batch(make_batch, key_file):
    from simtool.batch.batchdir import BatchDir
    from simtool.batch.keys import load_transport_key
    from simtool.batch.ledger import open_ledger

    bdir = BatchDir.load(make_batch(3))
    with open_ledger(bdir.ledger) as ledger:
        yield ledger, ledger.batch(bdir.batch_id), load_transport_key(key_file)


def _tray(transports):
    from simtool.batch.feed import CardSlot, CardSource
    from simtool.transport.base import Reader

    class Tray(CardSource):
        name = "tray"

        def __init__(self):
            self.left = list(transports)
            self.outcomes: list[str] = []

        def next_card(self, stop, idle):
            return CardSlot(Reader(self.left.pop(0)), None) if self.left else None

        def finish(self, slot, outcome, stop):
            self.outcomes.append(outcome)

    return Tray()


def test_an_unexpected_error_in_the_probe_stops_the_reader_with_its_type_and_message(batch):
    """A card taken for blank carries another identity's ICCID: the guard refuses it and the probe reads the
    ICCID again. There the reader breaks with an error no lower layer should raise: it is not swallowed (as
    if the card were just not one of ours) but stops the reader, naming the exception and its text."""
    from simtool.batch.runner import Runner, RunOptions
    from simtool.emulator import Card
    from simtool.transport.emulated import EmulatedTransport

    class Breaks(EmulatedTransport):
        reads = 0

        def transmit(self, apdu):
            if apdu[1] == 0xB0 and apdu[2] == 0x82:  # READ BINARY EF.ICCID: the guard's, then the probe's
                self.reads += 1
                if self.reads == 2:
                    raise RuntimeError("driver state lost")
            return super().transmit(apdu)

    ledger, rec, key = batch
    tray = _tray([Breaks(Card.blank(adm=ADM, iccid="8931080000000009999"), "tray")])
    events: list[dict] = []
    summary = Runner(ledger, rec, key, [tray], RunOptions(), emit=events.append).run()
    stop = [e for e in events if e.get("event") == "reader" and e.get("state") == "stopped"]
    assert len(stop) == 1 and stop[0]["detail"] == (
        "reader error: tray: reading the card's ICCID and IMSI failed: RuntimeError: driver state lost")
    assert summary.readers[0].state == ReaderState.STOPPED
    assert ledger.get(rec.id, ICCID).state == "free"  # leased for it, released before the probe: not lost
    assert [e.state for e in ledger.events(rec.id, ICCID)] == ["leased", "free"]


def test_the_probe_reads_imsi_on_the_model_the_atr_names(batch):
    """A half-written SJA2 card (IMSI, no ICCID: written before the ICCID-first rule) comes back: taken for
    blank, the IMSI guard refuses it, the probe finds it by IMSI on the SJA2's file tree, and it is finished
    with its own identity."""
    from simtool.batch.runner import Runner, RunOptions
    from simtool.emulator import Card
    from simtool.encoding.efs import ICCID as ICCID_EF
    from simtool.encoding.efs import IMSI
    from simtool.transport.emulated import EmulatedTransport

    ledger, rec, key = batch
    row = ledger.lease_next(rec.id, "gone:1:abc", "pcsc:0", 0.0, 0.0)
    ledger.mark_writing(row.iccid, "gone:1:abc", "pcsc:0", None, token=row.token)
    sja2 = MODELS["sysmoISIM-SJA2"]
    card = Card.blank(adm=ADM, model=sja2)
    imsi_path = "MF/ADF.USIM/EF.IMSI"
    card.state.files[imsi_path][:] = IMSI.encode(row.imsi).ljust(len(card.state.files[imsi_path]), b"\xff")
    tray = _tray([EmulatedTransport(card, "tray")])
    events: list[dict] = []
    Runner(ledger, rec, key, [tray], RunOptions(max_cards=1), emit=events.append).run()
    assert tray.outcomes == ["verified"]
    assert ledger.get(rec.id, ICCID).state == "verified"
    assert ICCID_EF.decode(card.file_bytes("MF/EF.ICCID")) == ICCID
    assert [e["model"] for e in events if e.get("state") == "verified"] == ["sysmoISIM-SJA2"]
    # the lease taken for the card it looked like went back, unwritten
    assert [e.state for e in ledger.events(rec.id, SECOND)][:2] == ["leased", "free"]


@pytest.mark.parametrize(("wrote", "fenced", "service_down", "action", "stop"), [
    (True, False, False, AfterError.FAIL, False),  # the card may hold the identity: failed, with the reason
    (False, True, False, AfterError.REFUSE, False),  # the lease went to another reader before any write
    (False, False, False, AfterError.RELEASE, False),  # nothing written: the identity goes back to free
    (True, False, True, AfterError.HOLD, True),  # written, the HLR away: still writing, the run stops
    (False, False, True, AfterError.RELEASE, True),  # nothing written, the HLR away: free again, the run stops
])
def test_decide_error(wrote, fenced, service_down, action, stop):
    v = decide_error(wrote=wrote, fenced=fenced, service_down=service_down)
    assert (v.action, v.stop_run) == (action, stop)

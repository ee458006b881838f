"""The runner's recognition paths and reader stops, with hand-made cards (as a person inserts them: no journal
reference): a half-written card is recognised by its ICCID (written first), or by its IMSI when it has none,
and finished with its own identity; a card that comes back verified is skipped; a reader stops after N
consecutive failures and says why."""

from __future__ import annotations

import pytest

from simtool.batch.batchdir import BatchDir
from simtool.batch.feed import CardSlot, CardSource
from simtool.batch.keys import CardSecrets, Sealer, load_transport_key
from simtool.batch.ledger import open_ledger
from simtool.batch.runner import Runner, RunOptions, load_frozen_profile
from simtool.emulator import Card
from simtool.encoding.efs import ICCID, IMSI
from simtool.errors import NoCardError
from simtool.personalize.flash import flash
from simtool.profile.identity import Identity
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport
from tests.batch.batch_helpers import ICCID0

ADM = bytes.fromhex("3131313131313131")


class _Tray(CardSource):
    def __init__(self, cards, name="tray"):
        self.name = name
        self.cards = list(cards)
        self.outcomes: list[str] = []

    def next_card(self, stop, idle):
        return CardSlot(Reader(EmulatedTransport(self.cards.pop(0), self.name)), None) if self.cards else None

    def finish(self, slot, outcome, stop):
        self.outcomes.append(outcome)


IMSI_PATH = "MF/ADF.USIM/EF.IMSI"


class _PulledOut(EmulatedTransport):
    """The card leaves the reader after `n` APDUs, or (`after_imsi`) at the APDU after the one that wrote its
    IMSI: a write cut half-way whatever the plan's order of files."""

    def __init__(self, card, n=None, after_imsi=False):
        super().__init__(card, "pulled")
        self.n = n
        self.after_imsi = after_imsi

    def transmit(self, apdu):
        if self.n is not None:
            self.n -= 1
            if self.n < 0:
                raise NoCardError("pulled: the card went away")
        if self.after_imsi and self.card.file_bytes(IMSI_PATH) != b"\xff" * 9:
            raise NoCardError("pulled: the card went away")
        return super().transmit(apdu)


def _identity(row, sealer) -> Identity:
    s = CardSecrets.unpack(sealer.open(row.secrets, row.iccid))
    return Identity(iccid=row.iccid, imsi=row.imsi, ki=s.ki, opc=s.opc, pin1=s.pin1, puk1=s.puk1, pin2=s.pin2,
                    puk2=s.puk2, adm1=s.adm1, msisdn=row.msisdn)


@pytest.fixture
def batch(make_batch, key_file):
    d = make_batch(3)
    bdir = BatchDir.load(d)
    with open_ledger(bdir.ledger) as ledger:
        yield ledger, ledger.batch(bdir.batch_id), load_transport_key(key_file)


def test_half_written_card_is_finished_with_its_own_identity(batch):
    ledger, rec, key = batch
    sealer = Sealer(key)
    # A station took the first identity, journaled `writing`, and died after a few writes. The flasher
    # writes EF.ICCID first; erasing it again makes the card one written before that rule: the IMSI but no
    # ICCID, found by IMSI. The ADM guard relaxes for it (its key is proven), not for a blank card.
    row = ledger.lease_next(rec.id, "gone:1:abc", "pcsc:0", 0.0, 0.0)
    card = Card.blank(adm=ADM)
    with pytest.raises(NoCardError):
        flash(Reader(_PulledOut(card, after_imsi=True)), load_frozen_profile(rec), _identity(row, sealer),
              before_write=lambda: ledger.mark_writing(row.iccid, "gone:1:abc", "pcsc:0", None, token=row.token))
    iccid_path = card.model.fs.find("EF.ICCID").path
    assert card.file_bytes(iccid_path) != b"\xff" * 10  # written first
    card.state.files[iccid_path][:] = b"\xff" * 10
    assert card.file_bytes(IMSI_PATH) != b"\xff" * 9
    card.state.counters["adm1"] = 2  # and the power went while a VERIFY had taken its try
    unlucky = Card.blank(adm=ADM)
    unlucky.state.counters["adm1"] = 2  # the same, on a blank card: its key was never proven
    tray = _Tray([card, unlucky, Card.blank(adm=ADM)])
    events = []
    summary = Runner(ledger, rec, key, [tray], RunOptions(), emit=events.append).run()
    assert tray.outcomes == ["verified", "refused", "verified"]
    assert "ADM1 has 2 tries left, fewer than the guard's minimum of 3" in str(events)
    assert ledger.get(rec.id, ICCID0).state == "verified"
    states = [e.state for e in ledger.events(rec.id, ICCID0)]
    assert states == ["leased", "writing", "writing", "writing", "verified"]  # journal, came back, journal, ok
    second = [e.state for e in ledger.events(rec.id, "8931080000000000027")]
    assert second[:4] == ["leased", "free", "leased", "free"]  # taken for the odd cards, released unwritten
    assert summary.counts["verified"] == 2 and summary.counts["free"] == 1


def test_card_that_comes_back_verified_is_skipped(batch):
    ledger, rec, key = batch
    card = Card.blank(adm=ADM)
    r1 = Runner(ledger, rec, key, [_Tray([card])], RunOptions(max_cards=1)).run()
    assert r1.counts["verified"] == 1
    card.reset()
    tray = _Tray([card])
    events = []
    Runner(ledger, rec, key, [tray], RunOptions(), emit=events.append).run()
    assert tray.outcomes == ["skipped"]
    assert any(e.get("state") == "skipped" and e["iccid"] == ICCID0 for e in events)
    assert [e.state for e in ledger.events(rec.id, ICCID0)].count("verified") == 1


def test_reader_stops_after_consecutive_failures(make_batch, key_file):
    # more identities than good cards: the bad reader always finds one to lease, however fast the good one is
    bdir = BatchDir.load(make_batch(5))
    ledger = open_ledger(bdir.ledger)
    rec, key = ledger.batch(bdir.batch_id), load_transport_key(key_file)
    wrong = bytes.fromhex("3232323232323232")  # the vendor shipped cards with another ADM1 key
    bad = _Tray([Card.blank(adm=wrong) for _ in range(5)], name="bad")
    good = _Tray([Card.blank(adm=ADM) for _ in range(3)], name="good")
    events = []
    summary = Runner(ledger, rec, key, [bad, good], RunOptions(max_failures=2), emit=events.append).run()
    assert bad.outcomes == ["refused", "refused"]
    stop = [e for e in events if e.get("event") == "reader" and e.get("state") == "stopped"]
    assert stop and stop[0]["reader"] == "bad" and "2 consecutive failed cards" in stop[0]["detail"]
    assert summary.counts["verified"] == 3 and summary.exit_code == 1  # 2 identities left, no cards
    refusals = [e["detail"] for e in events if e.get("state") == "refused"]
    assert all("refused the ADM1 key" in r for r in refusals)
    assert "3232323232323232" not in str(events) and "3131313131313131" not in str(events)
    assert sorted(r.state for r in ledger.rows(rec.id)) == ["free", "free", "verified", "verified", "verified"]
    ledger.close()


def test_card_pulled_mid_write_fails_then_is_finished_when_it_comes_back(batch):
    ledger, rec, key = batch
    card = Card.blank(adm=ADM)

    class _Once(_Tray):
        def next_card(self, stop, idle):
            if not self.cards:
                return None
            c = self.cards.pop(0)
            t = _PulledOut(c, 40) if not self.outcomes else EmulatedTransport(c, "tray")
            return CardSlot(Reader(t), None)

    tray = _Once([card, card])
    summary = Runner(ledger, rec, key, [tray], RunOptions(max_failures=3)).run()
    assert tray.outcomes == ["failed", "verified"]
    assert [e.state for e in ledger.events(rec.id, ICCID0)] == ["leased", "writing", "failed", "writing", "writing",
                                                                 "verified"]
    assert ledger.get(rec.id, ICCID0).state == "verified"
    assert summary.counts["verified"] == 1


def test_a_lease_taken_away_is_refused_before_any_write_apdu(batch):
    """Issue 12 item 2, deterministically: station A leases the first identity; while its card is being
    guarded, A's lease runs out (A's clock stands still, B's is two minutes on: A was paused) and station B,
    on the same SQLite batch, reclaims it and leases it again. A's journal of `writing` is then refused on its
    stale token, before one write APDU, with an event; B's later run puts the identity on its own card."""
    ledger, rec, key = batch
    ledger_b = open_ledger(ledger.url)  # another process's connection
    b_owner = "elsewhere:9:abcdef"

    class _Watched(EmulatedTransport):
        def __init__(self, card):
            super().__init__(card, "a")
            self.ins: list[int] = []

        def transmit(self, apdu):
            self.ins.append(apdu[1])
            if len(self.ins) == 1:  # A holds its lease; B's clock says it ran out long ago
                assert ledger_b.reclaim(rec.id, 1120.0) == [ICCID0]
                assert ledger_b.lease_next(rec.id, b_owner, "b", 60.0, 1120.0).iccid == ICCID0
            return super().transmit(apdu)

    card_a = Card.blank(adm=ADM)
    watched = _Watched(card_a)

    class _OneCard(_Tray):
        def next_card(self, stop, idle):
            return CardSlot(Reader(watched), "tray/a") if self.cards and self.cards.pop() else None

    tray_a = _OneCard([card_a])
    events: list[dict] = []
    Runner(ledger, rec, key, [tray_a], RunOptions(max_cards=1), emit=events.append, clock=lambda: 1000.0).run()
    assert tray_a.outcomes == ["refused"]
    assert 0x20 in watched.ins  # the guard and ADM1 VERIFY ran: the refusal came at the journal, the last gate
    assert not {0xD6, 0xDC} & set(watched.ins), "a write APDU reached the card after its lease was lost"
    refused = [e for e in ledger.events(rec.id, ICCID0) if e.state == "refused"]
    assert len(refused) == 1 and refused[0].detail == (
        f"mark_writing refused: the lease is held by station {b_owner} on b (token 3; token 1 is stale)")
    assert [e["state"] for e in events if e.get("iccid") == ICCID0][-1] == "refused"

    # B's lease runs out too; the next run (B's clock) puts the identity on a card of its own, and only there
    tray_b = _Tray([Card.blank(adm=ADM) for _ in range(3)], name="b")
    summary = Runner(ledger_b, rec, key, [tray_b], RunOptions(), clock=lambda: 1300.0).run()
    ledger_b.close()
    assert tray_b.outcomes == ["verified"] * 3 and summary.counts["verified"] == 3
    a_files = card_a.state.files
    assert not any(a_files[p] != Card.blank(adm=ADM).state.files[p] for p in a_files), "card A was written"
    states = [e.state for e in ledger.events(rec.id, ICCID0)]
    assert states == ["leased", "free", "leased", "refused", "free", "leased", "writing", "verified"]


class _PulledAfterFirstWrite(EmulatedTransport):
    """The card leaves the reader right after it answered its first UPDATE: the one-APDU window."""

    def __init__(self, card):
        super().__init__(card, "pulled")
        self.wrote = False

    def transmit(self, apdu):
        if self.wrote:
            raise NoCardError("pulled: the card went away")
        answer = super().transmit(apdu)
        self.wrote = apdu[1] in (0xD6, 0xDC)
        return answer


def test_a_card_pulled_after_its_first_write_holds_only_its_iccid_and_is_recognised_by_it(batch):
    ledger, rec, key = batch
    card = Card.blank(adm=ADM)
    blank = {p: bytes(b) for p, b in Card.blank(adm=ADM).state.files.items()}

    class _Back(_Tray):  # the same card twice, as a person puts a pulled card back; then a blank one
        def next_card(self, stop, idle):
            if not self.cards:
                return None
            c = self.cards.pop(0)
            t = _PulledAfterFirstWrite(c) if not self.outcomes else EmulatedTransport(c, "tray")
            return CardSlot(Reader(t), None)

        def finish(self, slot, outcome, stop):
            super().finish(slot, outcome, stop)
            if len(self.outcomes) == 1:  # pulled: what the card holds now is the ICCID, and nothing else
                changed = {p for p, b in card.state.files.items() if bytes(b) != blank[p]}
                assert changed == {"MF/EF.ICCID"}, changed

    tray = _Back([card, card, Card.blank(adm=ADM)])
    events = []
    summary = Runner(ledger, rec, key, [tray], RunOptions(), emit=events.append).run()
    assert tray.outcomes == ["failed", "verified", "verified"]
    first = [e.state for e in ledger.events(rec.id, ICCID0)]
    assert first[:3] == ["leased", "writing", "failed"] and first[-1] == "verified"
    # Back in the reader it was first taken for blank and leased the next identity; the ICCID guard refused
    # it before any write, the lease went back to free, and the card was finished with its own identity.
    second = [e.state for e in ledger.events(rec.id, "8931080000000000027")]
    assert second[:2] == ["leased", "free"] and second[-1] == "verified"
    assert "the card carries ICCID 8931080000000000019" in next(e.detail for e in ledger.events(
        rec.id, "8931080000000000027") if e.state == "free")
    assert ICCID.decode(card.file_bytes("MF/EF.ICCID")) == ICCID0  # its own identity, all of it
    assert IMSI.decode(card.file_bytes("MF/ADF.USIM/EF.IMSI")) == ledger.get(rec.id, ICCID0).imsi
    assert summary.counts["verified"] == 2 and summary.counts["free"] == 1


def test_the_card_model_from_the_atr_is_recorded_in_the_cards_events(batch):
    """A batch learns each card's model from its ATR: an SJA2 and our emulated card in one tray, the
    verified event names the model and what the profile's fit cut on it."""
    from simtool.fs import MODELS

    ledger, rec, key = batch
    tray = _Tray([Card.blank(adm=ADM, model=MODELS["sysmoISIM-SJA2"]), Card.blank(adm=ADM)])
    events = []
    Runner(ledger, rec, key, [tray], RunOptions(), emit=events.append).run()
    assert tray.outcomes == ["verified", "verified"]
    verified = [e for e in events if e.get("state") == "verified"]
    assert [e["model"] for e in verified] == ["sysmoISIM-SJA2", "simtool-emu"]
    notes = [e.detail for i in (ICCID0, "8931080000000000027") for e in ledger.events(rec.id, i)
             if e.state == "verified"]
    assert notes[0].startswith("card model sysmoISIM-SJA2:") and "oplmn_wact fitted: 12 of 14" in notes[0]
    assert notes[1].startswith("card model simtool-emu:") and "fitted" not in notes[1]


def test_batch_create_shows_the_fit_for_every_known_model(sim, key_file, tmp_path):
    import json

    from tests.batch.batch_helpers import ADM_HEX, IMSI0, PROFILE

    r = sim("batch", "create", tmp_path / "fit", "--profile", PROFILE, "--count", 1, "--adm-hex", ADM_HEX,
            "--iccid-start", ICCID0, "--imsi-start", IMSI0, "--transport-key", key_file, "--json")
    assert r.code == 0, r.err
    fit = json.loads(r.out)["fit"]
    assert fit["models"] == ["simtool-emu", "sysmoISIM-SJA2"] and fit["refused_on"] == []
    assert [(f["model"], f["holds"]) for f in fit["fitted"]] == [("sysmoISIM-SJA2", 12)]
    assert any("sysmoISIM-SJA2's EF.OPLMNwACT holds 12" in w for w in fit["warnings"])

"""`batch run`: one worker thread per reader, each taking cards, giving each its identity, and flashing it.

Per card: recognise it (the journal's `card_ref`, its vendor ICCID, or a blank card), lease or claim its
identity, `flash()` with `before_write` journaling `writing` (committed before the first write APDU),
then `verified` or `failed` with the reason. Crash safety comes from that order:

- an identity is `leased` until the journal says `writing`; a lease whose station died or expired goes back
  to `free`, which is safe because nothing was written;
- from `writing` on, a card may hold the identity: it is never issued again, only re-flashed onto the card
  that comes back with it (by `card_ref`, ICCID or IMSI) or voided by a person;
- `verified` is committed only after read-back and authentication succeeded.

Threads spend most of their time in I/O (readers, latency, fsync), which releases the GIL, so N readers give
close to N times the cards per minute. The heartbeat thread keeps this station's leases alive.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from simtool.batch import liveness
from simtool.batch.decide import (
    Action,
    AfterError,
    CardFacts,
    Outcome,
    ReaderState,
    Verdict,
    decide_card,
    decide_error,
)
from simtool.batch.feed import EV_FILE_REJECTED, CardSlot, CardSource, EmuFeed
from simtool.batch.keys import CardSecrets, Sealer
from simtool.batch.ledger import (
    EV_READER_STOP,
    EV_RUN_START,
    EV_RUN_STOP,
    FAILED,
    FREE,
    LEASED,
    REFUSED,
    VERIFIED,
    VOIDED,
    WRITING,
    BatchRecord,
    IdentityRow,
    Ledger,
    LedgerConflict,
    now_iso,
)
from simtool.crypto.secrets import SecretError
from simtool.errors import CardError, GuardError, InputError, NoCardError, ServiceUnreachable, SimtoolError
from simtool.personalize.hlrauth import VectorSource

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
EV_HELD = "held"  # the ledger event of a card written but not checked (its HLR away): still `writing`


# Stations running in this process (tests run several at once): alive whatever their pid says.
_LIVE_HERE: set[str] = set()


def _owner_dead(owner: str) -> bool:
    return liveness.is_dead(owner, _LIVE_HERE)


def load_frozen_profile(batch: BatchRecord) -> Any:
    """The profile as the batch froze it; refuses text whose hash is not the recorded one."""
    import hashlib

    from simtool.profile.capacity import capacities_for_model
    from simtool.profile.load import ProfileError, validate_text

    if hashlib.sha256(batch.profile_text.encode("utf-8")).hexdigest() != batch.profile_sha256:
        raise InputError(f"batch {batch.id}: the frozen profile does not match its recorded SHA-256")
    profile, errors, _ = validate_text(batch.profile_text, f"batch {batch.id} profile", capacities_for_model())
    if profile is None:
        raise ProfileError(errors)
    return profile


@dataclass
class RunOptions:
    max_cards: int | None = None
    max_failures: int = 3
    lease_ttl: float = 60.0
    min_adm_tries: int = 3
    hlr: VectorSource | None = None  # `--gsup`: each card's last check is the HLR's vectors, not our Milenage


@dataclass
class ReaderStats:
    """What the live display shows per reader."""

    name: str
    state: ReaderState = ReaderState.STARTING
    iccid: str | None = None
    done: int = 0
    failed: int = 0
    refused: int = 0
    skipped: int = 0
    first_start: float | None = None
    last_end: float | None = None
    note: str = ""

    def cards_per_min(self, now: float | None = None) -> float:
        if self.first_start is None or not self.done:
            return 0.0
        ended = self.state in (ReaderState.DONE, ReaderState.STOPPED) and self.last_end
        end = self.last_end if ended and self.last_end else (now or time.monotonic())
        return 60.0 * self.done / max(end - self.first_start, 1e-6)


@dataclass
class RunSummary:
    batch: str
    station: str
    counts: dict[str, int]
    readers: list[ReaderStats]
    seconds: float
    interrupted: bool = False
    reason: str = ""
    exit_code: int = 0
    waiting: list[str] = field(default_factory=list)

    @property
    def verified_this_run(self) -> int:
        return sum(r.done for r in self.readers)

    def as_dict(self) -> dict[str, Any]:
        n = self.verified_this_run
        return {
            "batch": self.batch, "station": self.station, "counts": self.counts, "seconds": round(self.seconds, 3),
            "verified_this_run": n, "cards_per_min": round(60.0 * n / self.seconds, 1) if self.seconds else 0.0,
            "interrupted": self.interrupted, "reason": self.reason, "exit_code": self.exit_code,
            "waiting_for_cards": self.waiting,
            "readers": [{"reader": r.name, "state": r.state, "verified": r.done, "failed": r.failed,
                         "refused": r.refused, "skipped": r.skipped, "cards_per_min": round(r.cards_per_min(), 1),
                         "note": r.note} for r in self.readers],
        }


class Runner:
    """Runs one batch on a set of card sources until it is done, stopped or out of cards."""

    def __init__(self, ledger: Ledger, batch: BatchRecord, key: bytes, sources: Sequence[CardSource],
                 options: RunOptions | None = None, emit: Emit | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        names = [s.name for s in sources]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise InputError(f"--reader {sorted(dup)[0]}: given twice")
        self.ledger = ledger
        self.batch = batch
        self.sealer = Sealer(key)
        self.profile = load_frozen_profile(batch)
        self.sources = list(sources)
        self.opt = options or RunOptions()
        self.emit_cb = emit
        self.owner = liveness.station_id()
        self.clock = clock  # epoch seconds for leases; tests pass a controlled one
        self.stop = threading.Event()
        self.stats = [ReaderStats(s.name) for s in self.sources]
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._claimed = 0
        self._fresh_out = 0  # fresh blank cards handed out but not yet leased or given up
        self._materialized: set[str] = set()
        self._batch_adm: bytes | None = None
        self._last_beat = 0.0
        self._alive = 0
        self.counts: dict[str, int] = ledger.counts(batch.id)
        self.interrupted = False
        self.service_down: str | None = None  # why the run stopped for a service (the HLR), exit 3
        for s in self.sources:
            s.bind(self._new_card, self._file_rejected(s))
            if batch.preprinted and isinstance(s, EmuFeed):  # cards already printed, in a tray or its reject bin
                self._materialized |= s.printed_iccids()

    # -- events ------------------------------------------------------------------------------------------
    def emit(self, event: str, **kw: Any) -> None:
        if self.emit_cb is not None:
            self.emit_cb({"time": now_iso(), "event": event, "batch": self.batch.id, **kw})

    def _file_rejected(self, src: CardSource) -> Callable[[Path, str], None]:
        """A tray set a damaged card file aside: the journal and the screen say which and why."""
        def told(dest: Path, reason: str) -> None:
            detail = f"{dest.name}: {reason}; moved to {dest.parent}/"
            self.ledger.add_event(self.batch.id, EV_FILE_REJECTED, detail, reader=src.name, station=self.owner)
            self.emit("card", reader=src.name, state=Outcome.REJECTED, detail=detail)
        return told

    # -- what the batch still needs -------------------------------------------------------------------
    def _max_reached(self) -> bool:
        return self.opt.max_cards is not None and self._claimed >= self.opt.max_cards

    def complete(self) -> bool:
        """Nothing left for this run: every identity terminal, or --max-cards reached."""
        return self._max_reached() or not self.ledger.any_in(self.batch.id, (FREE, LEASED, WRITING))

    def _take_slot(self) -> bool:
        with self._lock:
            if self._max_reached():
                return False
            self._claimed += 1
            return True

    def _give_back_slot(self) -> None:
        with self._lock:
            self._claimed -= 1

    def _new_card(self) -> tuple[bytes, str | None] | None:
        """A fresh card for an emulated feed: the vendor ADM1 (and pre-printed ICCID) of a free identity."""
        with self._lock:
            if self.stop.is_set() or self._max_reached():
                return None
            while True:  # a row whose secrets do not open is set aside, and the next one looked at
                if self.batch.preprinted:
                    rows = self.ledger.peek_free(self.batch.id, skip=self._materialized)
                    if not rows:
                        return None
                    self._materialized.add(rows[0].iccid)
                    sec = self._secrets_or_set_aside(rows[0], None)
                    if sec is not None:
                        return sec.adm1, rows[0].iccid
                    continue
                free = self.ledger.peek_free(self.batch.id, limit=self._fresh_out + 1)
                if len(free) <= self._fresh_out:
                    return None
                if self._batch_adm is None:
                    sec = self._secrets_or_set_aside(free[0], None)
                    if sec is None:
                        continue
                    self._batch_adm = sec.adm1
                self._fresh_out += 1
                return self._batch_adm, None

    def _fresh_done(self, slot: CardSlot) -> None:
        """A fresh blank card got its identity (or was given up): it no longer waits for a free one."""
        if slot.fresh:
            slot.fresh = False
            if not self.batch.preprinted:
                with self._lock:
                    self._fresh_out = max(0, self._fresh_out - 1)

    def _secrets(self, row: IdentityRow) -> CardSecrets:
        return CardSecrets.unpack(self.sealer.open(row.secrets, row.iccid))

    # -- the run ----------------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        """Run until done; Ctrl-C (KeyboardInterrupt in this thread) stops after the cards in flight."""
        _LIVE_HERE.add(self.owner)
        try:
            return self._run()
        finally:
            _LIVE_HERE.discard(self.owner)

    def _run(self) -> RunSummary:
        dead = [o for o in self.ledger.lease_owners(self.batch.id) if _owner_dead(o)]
        freed = self.ledger.reclaim(self.batch.id, self.clock(), dead)
        self.ledger.add_event(self.batch.id, EV_RUN_START,
                              f"readers: {', '.join(s.name for s in self.sources)}"
                              + (f"; {len(freed)} stale leases freed" if freed else ""), station=self.owner)
        self.emit("run", state="started", readers=[s.name for s in self.sources], counts=self.counts,
                  station=self.owner)
        hb = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        workers = [threading.Thread(target=self._work, args=(src, st), name=f"reader-{i}", daemon=True)
                   for i, (src, st) in enumerate(zip(self.sources, self.stats, strict=True))]
        hb.start()
        self._alive = len(workers)
        for w in workers:
            w.start()
        try:
            # Poll with sleep, not Thread.join: a KeyboardInterrupt inside join() can mark a running thread as
            # stopped on CPython 3.11 (the bpo-45274 cleanup), and the run would end under a card in flight.
            while self._alive > 0:
                try:
                    time.sleep(0.1)
                except KeyboardInterrupt:
                    if self.stop.is_set():
                        raise  # second Ctrl-C: leave now; the journal keeps every card recoverable
                    self.interrupted = True
                    self.stop.set()
                    self.emit("run", state="stopping", detail="Ctrl-C: finishing the cards in flight "
                              "(Ctrl-C again to leave at once)")
        finally:
            self.stop.set()
            hb.join(2.0)
            for s in self.sources:
                s.close()
        return self._summary()

    def _summary(self) -> RunSummary:
        for _ in range(10):  # other stations change the ledger between the two reads: take a pair that agrees
            counts = self.ledger.counts(self.batch.id)
            now = self.clock()
            open_rows = list(self.ledger.rows(self.batch.id, (LEASED, WRITING)))
            if len(open_rows) == counts[LEASED] + counts[WRITING]:
                break
        self.counts = counts
        elsewhere = [r for r in open_rows if r.lease_owner not in (None, self.owner) and (r.lease_until or 0) >= now
                     and not _owner_dead(r.lease_owner)]
        waiting = [r.iccid for r in open_rows if r.state == WRITING and r not in elsewhere]
        s = RunSummary(self.batch.id, self.owner, counts, self.stats, time.monotonic() - self.started,
                       interrupted=self.interrupted, waiting=waiting)
        left = counts[FREE] + counts[LEASED] + counts[WRITING]
        stopped = [r for r in self.stats if r.state == ReaderState.STOPPED]
        if self.service_down is not None:
            s.exit_code = 3
            s.reason = (f"stopped: {self.service_down}; {len(waiting)} cards wait in writing, recoverable: run "
                        f"again when it answers")
        elif self.interrupted:
            s.exit_code, s.reason = 130, f"stopped by Ctrl-C; {left} identities left"
        elif left == 0:
            s.exit_code, s.reason = 0, "every identity is verified, failed or voided"
        elif self._max_reached():
            s.exit_code, s.reason = 0, f"--max-cards {self.opt.max_cards} reached; {left} identities left"
        elif stopped and len(stopped) == len(self.stats):
            s.exit_code, s.reason = 1, "every reader stopped after consecutive failures"
        elif left == len(elsewhere):
            s.exit_code, s.reason = 0, f"nothing left for this station; {left} cards in flight on other stations"
        elif waiting and not counts[FREE]:
            s.exit_code = 1
            s.reason = (f"{len(waiting)} identities wait for their cards (state writing): put those cards in a "
                        f"reader and run again, or void them")
        else:
            s.exit_code, s.reason = 1, f"no more cards; {left} identities left"
        self.ledger.add_event(self.batch.id, EV_RUN_STOP, f"{s.reason}; verified this run: {s.verified_this_run}",
                              station=self.owner)
        self.emit("run", state="stopped", detail=s.reason, counts=counts, exit_code=s.exit_code)
        return s

    def _heartbeat(self) -> None:
        period = max(0.2, self.opt.lease_ttl / 4)
        last_counts, every = 0.0, 1.0
        while not self.stop.wait(min(period, 1.0)):
            now = self.clock()
            try:
                if now - self._last_beat >= period:
                    self._last_beat = now
                    self.ledger.heartbeat(self.owner, self.opt.lease_ttl, now)
                    # leases that ran out, and those of stations on this host that died since the run started
                    dead = [o for o in self.ledger.lease_owners(self.batch.id) if o != self.owner and _owner_dead(o)]
                    self.ledger.reclaim(self.batch.id, now, dead)
                if now - last_counts >= every:  # for the display; on a big batch the count itself takes time
                    t0 = time.monotonic()
                    self.counts = self.ledger.counts(self.batch.id)
                    last_counts, every = now, max(1.0, 20 * (time.monotonic() - t0))
            except SimtoolError as e:  # a busy ledger must not kill the heartbeat; the next beat retries
                log.warning("heartbeat: %s", e)

    # -- one reader ---------------------------------------------------------------------------------------
    def _work(self, src: CardSource, st: ReaderStats) -> None:
        try:
            self._work_loop(src, st)
        finally:
            with self._lock:
                self._alive -= 1

    def _work_loop(self, src: CardSource, st: ReaderStats) -> None:
        consecutive = 0
        try:
            while not self.stop.is_set():
                st.state, st.iccid = ReaderState.WAITING, None
                slot = src.next_card(self.stop, self.complete)
                if slot is None:
                    break
                outcome = self._one(src, slot, st)
                self._fresh_done(slot)
                if outcome == Outcome.HELD:  # the run stops; the tray keeps the card for the next one
                    src.finish(slot, outcome, self.stop)
                    break
                if outcome == Outcome.UNUSED:
                    if src.finite:  # a feed: the card stays in the tray for a later run
                        src.finish(slot, outcome, self.stop)
                        break
                    self.emit("card", reader=src.name, state=Outcome.UNUSED, detail="no identity left for this "
                              "card; take it out")
                    src.finish(slot, Outcome.SKIPPED, self.stop)  # a person's reader: wait for the card to go
                    continue
                src.finish(slot, outcome, self.stop)
                st.last_end = time.monotonic()
                if outcome in (Outcome.FAILED, Outcome.REFUSED):
                    consecutive += 1
                elif outcome == Outcome.VERIFIED:
                    consecutive = 0
                if consecutive >= self.opt.max_failures:
                    st.state = ReaderState.STOPPED
                    st.note = f"stopped after {consecutive} consecutive failed cards (--max-failures)"
                    self.ledger.add_event(self.batch.id, EV_READER_STOP, st.note, reader=src.name,
                                          station=self.owner)
                    self.emit("reader", reader=src.name, state=ReaderState.STOPPED, detail=st.note)
                    return
        except Exception as e:  # a reader that breaks stops alone, saying why; the others go on
            st.state = ReaderState.STOPPED
            st.note = f"reader error: {_reason(e)}"
            log.debug("reader %s", src.name, exc_info=True)
            self.emit("reader", reader=src.name, state=ReaderState.STOPPED, detail=st.note)
            return
        st.state = ReaderState.DONE
        st.iccid = None
        self.emit("reader", reader=src.name, state=ReaderState.DONE)

    def _one(self, src: CardSource, slot: CardSlot, st: ReaderStats) -> Outcome:
        """Recognise the card, take its identity and flash it; returns the outcome."""
        try:
            card, row = self._look(slot)
        except SimtoolError as e:
            return self._refuse(st, src, None, _reason(e))
        return self._act(src, slot, st, card, row)

    def _look(self, slot: CardSlot) -> tuple[CardFacts, IdentityRow | None]:
        """What the card and the ledger say about the card in the reader: its model (from the ATR), its row by
        the journal's `card_ref`, else (a pre-printed batch) by the ICCID it carries."""
        from simtool.fs.cardmodel import model_for_atr
        from simtool.personalize.flash import read_card_iccid

        reader = slot.reader
        atr = reader.atr
        model = model_for_atr(atr)
        row = self.ledger.find(self.batch.id, card_ref=slot.card_ref) if slot.card_ref else None
        iccid = None
        if row is None and self.batch.preprinted:
            iccid = read_card_iccid(reader)
            row = self.ledger.get(self.batch.id, iccid) if iccid else None
        return CardFacts(slot.card_ref, iccid, None, model.name if model else None, atr), row

    def _verdict(self, card: CardFacts, row: IdentityRow | None) -> Verdict:
        dead = row is not None and row.lease_owner not in (None, self.owner) and _owner_dead(row.lease_owner)
        return decide_card(card, row, batch_id=self.batch.id, preprinted=self.batch.preprinted, owner=self.owner,
                           now=self.clock(), owner_dead=dead, room=not self._max_reached())

    def _act(self, src: CardSource, slot: CardSlot, st: ReaderStats, card: CardFacts,
             row: IdentityRow | None) -> Outcome:
        """Do what `decide_card` says about this card."""
        v = self._verdict(card, row)
        if v.action is Action.SKIP:
            st.skipped += 1
            assert row is not None
            self.emit("card", reader=src.name, iccid=row.iccid, imsi=row.imsi, state=Outcome.SKIPPED,
                      detail=v.reason)
            return Outcome.SKIPPED
        if v.action is Action.REFUSE:
            return self._refuse(st, src, row.iccid if row else card.iccid, v.reason)
        if v.action is Action.UNUSED or not self._take_slot():  # the slot is taken under the lock, at once
            return Outcome.UNUSED
        if v.action is Action.LEASE:
            return self._lease_fresh(src, slot, st)
        assert row is not None
        if v.action is Action.RECLAIM_CLAIM:
            assert row.lease_owner is not None
            self.ledger.reclaim(self.batch.id, self.clock(), [row.lease_owner])
        try:
            row = self.ledger.claim(self.batch.id, row.iccid, self.owner, src.name, self.opt.lease_ttl,
                                    self.clock(), slot.card_ref)
            sec = self._secrets(row)
        except LedgerConflict as e:  # the ledger recorded the refusal
            self._give_back_slot()
            return self._refuse(st, src, row.iccid, str(e), logged=True)
        except (SecretError, InputError) as e:  # the card carries it: it cannot be set aside, only refused
            self._give_back_slot()
            return self._refuse(st, src, row.iccid, f"ICCID {row.iccid}: damaged ledger row: {_reason(e)}")
        return self._flash(src, slot, st, row, sec, probe=False)

    def _lease_fresh(self, src: CardSource, slot: CardSlot, st: ReaderStats) -> Outcome:
        """A blank card: the next free identity whose secrets open."""
        while True:
            row = self.ledger.lease_next(self.batch.id, self.owner, src.name, self.opt.lease_ttl, self.clock())
            self._fresh_done(slot)
            if row is None:
                self._give_back_slot()
                return Outcome.UNUSED
            sec = self._secrets_or_set_aside(row, src)
            if sec is not None:
                return self._flash(src, slot, st, row, sec, probe=True)

    def _secrets_or_set_aside(self, row: IdentityRow, src: CardSource | None) -> CardSecrets | None:
        """The row's secrets; None when they do not open (the key's KCV was checked: the row is damaged), after
        giving its lease back (if `src` leased it) and setting the identity aside, so the run goes on with the
        next one."""
        try:
            return self._secrets(row)
        except (SecretError, InputError) as e:
            why = f"its sealed secrets do not open with the batch's transport key ({_reason(e)})"
            if src is not None:
                self._release(row, src, why)
            self.ledger.set_aside(self.batch.id, row.iccid, why, self.owner)
            self.emit("card", reader=src.name if src else None, iccid=row.iccid, state=VOIDED,
                      detail=f"damaged ledger row: {why}")
            return None

    def _refuse(self, st: ReaderStats, src: CardSource, iccid: str | None, reason: str,
                logged: bool = False) -> Outcome:
        st.refused += 1
        if not logged:  # a refusal of the ledger's own has its event already
            self.ledger.add_event(self.batch.id, REFUSED, reason, iccid=iccid, reader=src.name, station=self.owner)
        self.emit("card", reader=src.name, iccid=iccid, state=Outcome.REFUSED, detail=reason)
        return Outcome.REFUSED

    def _flash(self, src: CardSource, slot: CardSlot, st: ReaderStats, row: IdentityRow, sec: CardSecrets,
               probe: bool) -> Outcome:
        from simtool.personalize.flash import flash

        st.state, st.iccid = ReaderState.FLASHING, row.iccid
        if st.first_start is None:
            st.first_start = time.monotonic()
        t0 = time.monotonic()
        reader = slot.reader
        self.emit("card", reader=src.name, iccid=row.iccid, imsi=row.imsi, state=row.state,
                  detail="re-flashing the card that came back" if row.state == WRITING else "flashing")
        wrote = row.state == WRITING  # claimed back from writing/failed: the card may hold it already

        fenced = False

        def before_write() -> None:
            nonlocal wrote, fenced
            try:
                self.ledger.mark_writing(row.iccid, self.owner, src.name, slot.card_ref, token=row.token)
            except LedgerConflict:
                fenced = True  # the lease was taken away: not one write APDU with this identity
                raise
            wrote = True

        try:
            identity = identity_for(row, sec)
            # A card that comes back already holding its identity had ADM1 verified with this very key before
            # (that is what `writing` records). Fewer tries left then means a VERIFY cut short by a crash or a
            # pulled card, not a wrong key: the guard needs only one try, since the key is known to be right.
            min_tries = min(self.opt.min_adm_tries, 1) if wrote else self.opt.min_adm_tries
            result = flash(reader, self.profile, identity, min_adm_tries=min_tries, before_write=before_write,
                           check_auth=self._hlr_check())
        except Exception as e:
            reason = _reason(e)
            slot.lost = isinstance(e, NoCardError)
            log.debug("card %s on %s", row.iccid, src.name, exc_info=True)
            after = decide_error(wrote=wrote, fenced=fenced, service_down=isinstance(e, ServiceUnreachable))
            if after.stop_run:
                self._stop_for_service(reason)
            if after.action is AfterError.HOLD:
                return self._held(src, st, row, reason)
            if after.action is AfterError.FAIL:
                return self._failed(src, st, row, reason, t0)
            if after.action is AfterError.REFUSE:
                self._give_back_slot()
                return self._refuse(st, src, row.iccid, reason, logged=True)
            self._release(row, src, reason)
            self._give_back_slot()
            if probe and isinstance(e, GuardError):
                card, other = self._probe(slot)
                if other is not None and other.iccid != row.iccid:
                    return self._act(src, slot, st, card, other)
            return self._refuse(st, src, row.iccid, reason)
        seconds = time.monotonic() - t0
        apdus = sum(p["apdus"] for p in result.phases.values())
        fitted = "".join(f"; {f['list']} fitted: {f['holds']} of {f['given']}" for f in result.fitted)
        by = f" by {self.opt.hlr.where}" if self.opt.hlr is not None else ""
        detail = (f"card model {result.model}: {apdus} APDUs in {seconds:.2f} s; read back {len(result.verified)} "
                  f"files; authenticated{by}{fitted}")
        try:
            self.ledger.mark_verified(row.iccid, self.owner, src.name, detail, token=row.token)
        except LedgerConflict as e:  # voided or taken away while it was flashed: refused (an event), not counted
            return self._failed(src, st, row, f"flashed, but {e}", t0, mark=False)
        st.done += 1
        self.emit("card", reader=src.name, iccid=row.iccid, imsi=row.imsi, state=VERIFIED,
                  seconds=round(seconds, 3), apdus=apdus, model=result.model)
        return Outcome.VERIFIED

    def _hlr_check(self) -> Callable[[Any, Any], Any] | None:
        """`--gsup`: the card's last check asks the HLR (None: our own Milenage, in `flash`)."""
        hlr = self.opt.hlr
        if hlr is None:
            return None
        from simtool.personalize.hlrauth import authenticate_with_hlr

        return lambda reader, identity: authenticate_with_hlr(reader, hlr, identity.imsi)

    def _stop_for_service(self, reason: str) -> None:
        with self._lock:
            if self.service_down is None:
                self.service_down = reason
                self.emit("run", state="stopping", detail=f"{reason}: finishing the cards in flight")
        self.stop.set()

    def _held(self, src: CardSource, st: ReaderStats, row: IdentityRow, reason: str) -> Outcome:
        """Written, but the last check could not be made: the identity stays `writing` (the card holds it), the
        tray keeps the card, and the next run re-flashes and checks it."""
        detail = f"{reason}; the card holds the identity (writing) and is checked again on the next run"
        self.ledger.add_event(self.batch.id, EV_HELD, detail, iccid=row.iccid, reader=src.name, station=self.owner)
        self.emit("card", reader=src.name, iccid=row.iccid, imsi=row.imsi, state=Outcome.HELD, detail=detail)
        return Outcome.HELD

    def _failed(self, src: CardSource, st: ReaderStats, row: IdentityRow, reason: str, t0: float,
                mark: bool = True) -> Outcome:
        st.failed += 1
        if mark:
            try:
                self.ledger.mark_failed(row.iccid, self.owner, src.name, reason, token=row.token)
            except LedgerConflict as e:
                reason += f" (ledger: {e})"
        self.emit("card", reader=src.name, iccid=row.iccid, imsi=row.imsi, state=FAILED, detail=reason,
                  seconds=round(time.monotonic() - t0, 3))
        return Outcome.FAILED

    def _release(self, row: IdentityRow, src: CardSource, reason: str) -> None:
        """Nothing was written: the identity goes back to free (if it is still ours)."""
        with contextlib.suppress(LedgerConflict):
            self.ledger.release(row.iccid, self.owner, f"card on {src.name} not written: {reason}", token=row.token)

    def _probe(self, slot: CardSlot) -> tuple[CardFacts, IdentityRow | None]:
        """A guard refused a card we took for blank: does it carry one of this batch's identities (a card that
        was being written when a station died)? ICCID first; then IMSI, readable while ADM1 is verified, at the
        path of the model its ATR names. A card error means "not one of ours" (the guard's refusal stands);
        anything else is a bug in a lower layer, raised as a reader error with its type and message."""
        from simtool.commands import uicc
        from simtool.encoding.efs import IMSI
        from simtool.fs.cardmodel import model_for_atr
        from simtool.personalize import plan
        from simtool.personalize.flash import read_card_iccid

        reader = slot.reader
        card = CardFacts(slot.card_ref)
        try:
            atr = reader.atr
            model = model_for_atr(atr)
            card = CardFacts(slot.card_ref, model=model.name if model else None, atr=atr)
            iccid = read_card_iccid(reader)
            if iccid:
                return replace(card, iccid=iccid), self.ledger.get(self.batch.id, iccid)
            if model is None:
                return card, None
            fs = model.fs
            reader.send(plan.df_select(fs, "MF/ADF.USIM")).check("SELECT ADF.USIM")
            ef = fs["MF/ADF.USIM/EF.IMSI"].ef
            resp = reader.send(uicc.read_binary(0, ef.size, sfi=ef.sfi))
            if not resp.ok:
                return card, None
            imsi = IMSI.decode(resp.data)
            card = replace(card, imsi=imsi or None)
            return card, self.ledger.find(self.batch.id, imsi=imsi) if imsi else None
        except SimtoolError as e:
            log.debug("probe on %s: %s", reader.name, e)
            return card, None
        except Exception as e:
            raise CardError(f"{reader.name}: reading the card's ICCID and IMSI failed: {type(e).__name__}: {e}") \
                from e


def identity_for(row: IdentityRow, sec: CardSecrets) -> Any:
    """The `Identity` to flash: the row's identifiers, its secrets, and KIc/KID as the plan applet's OTA key set
    (KVN 1), which the card image carries in DF.PLAN's EF.OTA_KEYS."""
    from simtool.crypto.ota import OtaKeys
    from simtool.profile.identity import Identity

    return Identity(iccid=row.iccid, imsi=row.imsi, ki=sec.ki, opc=sec.opc, pin1=sec.pin1, puk1=sec.puk1,
                    pin2=sec.pin2, puk2=sec.puk2, adm1=sec.adm1, msisdn=row.msisdn,
                    ota_keys=OtaKeys(sec.kic, sec.kid, 1, row.iccid))


def _reason(e: BaseException) -> str:
    """A failure reason for the ledger and the screen. simtool's errors carry no secrets (DESIGN.md §4); other
    exceptions are bugs, shown by type only, since their text could hold anything."""
    if isinstance(e, SimtoolError):
        return str(e).splitlines()[0] if str(e) else type(e).__name__
    return f"internal error ({type(e).__name__}); run with -vv for the traceback"

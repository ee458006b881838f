"""Reader faults through pcscd, swept (issue 12): a card pulled, a vpcd slot's connection closed and pcscd
restarted, at each phase boundary of one card, on a batch over two `pcsc:` readers (two vpcd slots behind the
real pcscd, fed by a `VpcdCardServer` with a feed). After each: nothing issued twice, no key lost, and the card
hit by the fault ends as `docs/batch.md` says (`EXPECTED`).

The fault is triggered deterministically by the card itself: a tap on the first card of the first slot watches
its APDU stream and fires *before* the card processes the APDU that opens a phase (so that APDU never reaches
the card's memory), from the slot's own thread:

    guard     the ADM1 tries query: the blank-card guard (ICCID read) is done, VERIFY ADM not sent
    adm       the APDU after VERIFY ADM1 answered 9000: the key is verified, `writing` not committed
    writing   the first write APDU (UPDATE BINARY/RECORD): `writing` is committed, nothing written yet
    write     the middle write APDU of the card (counted on an undisturbed flash of the same profile)
    verify    the middle read-back APDU (READ BINARY/RECORD after the writes)
    verified  right after the ledger committed `verified` for this card, before the station ejects it
              (a tap on the ledger's `mark_verified`, on the station's thread)

The faults: `pull` takes the card out of its slot, waits until pcscd sees the slot empty and puts the same
card back (reloaded from its state file: the card's own memory); `close` ends the slot's vpcd connection,
which the slot reconnects at once with the same card; `restart` stops pcscd (the card's APDU is held until it
is gone) and starts it again. An identity left `failed` with no card carrying it (the card was still blank)
is voided afterwards, as an operator would (`batch void`), then the batch is checked by
`batchcut.check_batch`.

Used by tests/hardening/test_hardening_reader_faults.py (one point per fault in `make test`) and by soak.py
(every point, `make soak`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.batch.batch_helpers import card_files, card_ids
from tests.hardening import batchcut

FAULTS = ("pull", "close", "restart")
PHASES = ("guard", "adm", "writing", "write", "verify", "verified")
# What becomes of the card hit by the fault (the same for every fault kind), as docs/batch.md states it:
EXPECTED = {
    "guard": "fresh",  # nothing written: its identity went back to free; the card came back blank, flashed anew
    "adm": "fresh",
    "writing": "waiting",  # `writing` journaled, the card still blank: the identity waits (failed) for a void
    "write": "own",  # the card holds part of its identity: recognised (ICCID/IMSI) and re-flashed with it
    "verify": "own",
    "verified": "done",  # verified once; the fault changes nothing
}
OUTCOMES = {
    "fresh": "card flashed afresh; its first identity was released unwritten",
    "waiting": "identity waits (failed, on no card) until voided; the card got another identity",
    "own": "card recovered with its own identity",
    "done": "card verified once; nothing to recover",
}
WRITE_INS = frozenset({0xD6, 0xDC})  # UPDATE BINARY, UPDATE RECORD
READ_INS = frozenset({0xB0, 0xB2})  # READ BINARY, READ RECORD
ADM1 = 0x0A
BATCH_CARDS = 4


# -- where a phase begins, on the card's side -------------------------------------------------------------------
class PhaseTrigger:
    """Follows one card's APDU stream; `due(apdu)` is True for the APDU before which `phase` begins."""

    def __init__(self, phase: str, mid_write: int = 1, mid_read: int = 1) -> None:
        if phase not in PHASES or phase == "verified":
            raise ValueError(f"{phase}: not a card-side phase")
        self.phase, self.mid_write, self.mid_read = phase, mid_write, mid_read
        self.writes = self.reads = 0
        self.adm_ok = False

    def due(self, apdu: bytes) -> bool:
        ins = apdu[1] if len(apdu) > 1 else -1
        if self.phase == "guard":
            return ins == 0x20 and apdu[3] == ADM1 and len(apdu) <= 5  # the tries query, no key
        if self.phase == "adm":
            return self.adm_ok
        if self.phase == "writing":
            return ins in WRITE_INS
        if self.phase == "write":
            return ins in WRITE_INS and self.writes + 1 == self.mid_write
        return ins in READ_INS and self.writes > 0 and self.reads + 1 == self.mid_read

    def seen(self, apdu: bytes, answer: bytes) -> None:
        ins = apdu[1] if len(apdu) > 1 else -1
        if ins == 0x20 and len(apdu) > 5 and apdu[3] == ADM1 and answer[-2:] == b"\x90\x00":
            self.adm_ok = True
        elif ins in WRITE_INS:
            self.writes += 1
        elif ins in READ_INS and self.writes:
            self.reads += 1


@functools.cache
def reference_counts() -> tuple[int, int]:
    """(write APDUs, read-back APDUs) of one undisturbed flash of the batch's profile on a blank card."""
    from simtool.emulator import Card
    from simtool.personalize.flash import flash
    from simtool.profile import Identity, load_profile
    from simtool.transport.base import Reader
    from simtool.transport.emulated import EmulatedTransport

    identity = Identity.sample()
    card = Card.blank(adm=identity.adm1)
    count = PhaseTrigger("verify")
    inner = card.process

    def process(apdu: bytes) -> bytes:
        out = inner(apdu)
        count.seen(apdu, out)
        return out

    card.process = process  # type: ignore[method-assign]
    flash(Reader(EmulatedTransport(card, "emu")), load_profile(batchcut.PROFILE), identity)
    return count.writes, count.reads


def trigger(phase: str) -> PhaseTrigger:
    writes, reads = reference_counts()
    return PhaseTrigger(phase, mid_write=max(1, writes // 2), mid_read=max(1, reads // 2))


# -- the faults ------------------------------------------------------------------------------------------------
class SlotGone(OSError):
    """Raised inside the card's APDU handler: the slot's vpcd session ends there, the APDU unanswered."""


@dataclass
class Fault:
    """One fault at one phase, aimed at `slot` (the first slot of the server) and its first card."""

    kind: str
    phase: str
    slot: Any  # simtool.transport.vpcd.Slot
    reader_name: str
    pcscd: Any  # simtool.testing.pcscd.Pcscd
    fired: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)  # the card is back / pcscd is up again
    errors: list[BaseException] = field(default_factory=list)
    carried_at_fire: tuple[str | None, str | None] | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULTS:
            raise ValueError(f"{self.kind}: not a fault ({', '.join(FAULTS)})")
        self.card = self.slot.card
        self.path = Path(self.card.storage.path)

    # The tap on the card (installed before the slot connects: a session keeps the `process` it found).
    def arm_card(self) -> None:
        watch = trigger(self.phase)
        inner = self.card.process

        def process(apdu: bytes) -> bytes:
            if not self.fired.is_set() and watch.due(apdu):
                self._fire_in_slot_thread()
            out = inner(apdu)
            watch.seen(apdu, out)
            return out

        self.card.process = process

    def _carried(self) -> tuple[str | None, str | None]:
        from simtool.encoding.efs import ICCID, IMSI

        fs = self.card.state.model.fs
        return (ICCID.decode(self.card.file_bytes(fs.find("EF.ICCID").path)) or None,
                IMSI.decode(self.card.file_bytes("MF/ADF.USIM/EF.IMSI")) or None)

    def _fire_in_slot_thread(self) -> None:
        self.carried_at_fire = self._carried()
        self.fired.set()
        if self.kind == "pull":
            self.slot.swap(None)
            self._background(self._put_back)
        elif self.kind == "close":
            self.done.set()  # the slot thread reconnects the same card by itself
        else:
            down = threading.Event()
            self._background(lambda: self._restart(down))
            down.wait(30)  # the APDU is held until pcscd is gone
        raise SlotGone(f"fault {self.kind} before this APDU")

    # After `verified` is committed, on the station's thread, before it ejects the card.
    def on_verified(self, iccid: str) -> None:
        if self.phase != "verified" or self.fired.is_set() or self._carried()[0] != iccid:
            return
        self.carried_at_fire = self._carried()
        self.fired.set()
        try:
            if self.kind == "pull":
                self.slot.swap(None)
                self._put_back()
            elif self.kind == "close":
                with self.slot._lock:
                    self.slot._drop()
                self.done.set()
            else:
                self._restart(threading.Event())
        finally:
            self.done.set()

    def _background(self, fn: Callable[[], None]) -> None:
        threading.Thread(target=fn, name=f"reader-fault-{self.kind}", daemon=True).start()

    def _put_back(self) -> None:
        from simtool.emulator import Card
        from simtool.transport.pcsc import wait_for_card

        try:
            if not wait_for_card(self.reader_name, present=False, timeout=10):
                raise AssertionError(f"{self.reader_name}: pcscd never saw the pulled card go")
            self.slot.swap(Card.load(self.path))  # the same card: its state file is its memory
        except BaseException as e:  # reported by the scenario
            self.errors.append(e)
        finally:
            self.done.set()

    def _restart(self, down: threading.Event) -> None:
        try:
            self.pcscd.stop()
            down.set()
            self.pcscd.start()
        except BaseException as e:
            self.errors.append(e)
        finally:
            down.set()
            self.done.set()


@contextlib.contextmanager
def tap_verified(fault: Fault) -> Iterator[None]:
    """While inside, every `Runner` made in this process reports its `mark_verified` commits to `fault`."""

    def tap(ledger: Any) -> None:
        inner = ledger.mark_verified

        def mark_verified(iccid: str, *args: Any, **kw: Any) -> Any:
            out = inner(iccid, *args, **kw)
            fault.on_verified(iccid)
            return out

        ledger.mark_verified = mark_verified

    undo = batchcut.tap_runner_ledgers(tap)
    try:
        yield
    finally:
        undo()


# -- one point ----------------------------------------------------------------------------------------------------
@dataclass
class PointResult:
    fault: str
    phase: str
    outcome: str | None = None  # what became of the card hit by the fault (a key of OUTCOMES)
    problems: list[str] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)  # identities left on no card, voided afterwards
    bystanders: list[str] = field(default_factory=list)  # other cards the fault hit (pcscd restart)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.fault}@{self.phase}"

    @property
    def ok(self) -> bool:
        return not self.problems and self.outcome == EXPECTED[self.phase]

    def line(self) -> str:
        exp = EXPECTED[self.phase]
        text = f"{self.name:18} {self.outcome or '-':8} (expected {exp})"
        if self.voided:
            text += f"; voided {', '.join(self.voided)}"
        if self.bystanders:
            text += f"; also hit: {'; '.join(self.bystanders)}"
        return text + ("".join(f"\n  FAIL {p}" for p in self.problems) if not self.ok else "")


class Unavailable(Exception):
    """pcscd/vpcd cannot be had, or no two vpcd slots are free: the point cannot run here."""


def _sim(*args: Any) -> tuple[int, str, str]:
    from simtool.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _start_server(feed: Any, names: dict[int, str], arm: Callable[[Any], Fault]) -> tuple[Any, Fault]:
    """Two free slots with fresh cards from the feed; `arm` taps the first slot's card before any slot
    connects."""
    from simtool.transport.pcsc import wait_for_card
    from simtool.transport.vpcd import SlotBusyError, VpcdCardServer

    for pair in itertools.combinations(sorted(names), 2):
        if not all(wait_for_card(names[s], present=False, timeout=1.5) for s in pair):
            continue  # a card that is not ours (or one still leaving) sits there
        server = VpcdCardServer({s: feed.new_card()[0] for s in pair}, feed=feed)
        fault = arm(server)
        try:
            return server.start(), fault
        except SlotBusyError:
            continue
    raise Unavailable("no two free vpcd slots (other sessions use them)")


def _stop(server: Any, names: dict[int, str]) -> None:
    from simtool.transport.pcsc import wait_for_card

    server.stop()
    for s in server.slots:  # the next user of the slot starts from empty
        wait_for_card(names[s], present=False, timeout=3.0)


def run_point(workdir: Path, fault_kind: str, phase: str, pcscd: Any) -> PointResult:
    """A new batch of BATCH_CARDS identities, run on two vpcd slots with `fault_kind` at `phase` of the first
    slot's first card; then the voids an operator would do and the checks."""
    from simtool.testing.pcscd import PcscUnavailable, pcscd_exclusive, pcscd_shared, vpcd_readers
    from simtool.transport.pcsc import wait_for_card
    from simtool.transport.vpcd import Feed

    result = PointResult(fault_kind, phase)
    d, key = batchcut.make_batch(workdir, BATCH_CARDS)
    Feed.write_template(workdir / "vpcd-feed", bytes.fromhex(batchcut.ADM_HEX))
    feed = Feed.open(workdir / "vpcd-feed")
    # A restart waits for other sessions' cards to be out, and keeps new ones out meanwhile.
    hold = pcscd_exclusive(timeout=60) if fault_kind == "restart" else pcscd_shared()
    try:
        with hold:
            names = vpcd_readers()
            if len(names) < 2:
                raise Unavailable(f"pcscd offers {len(names)} vpcd readers, two are needed")

            def arm(server: Any) -> Fault:
                first = min(server.slots)
                fault = Fault(fault_kind, phase, server.slots[first], names[first], pcscd)
                if phase != "verified":
                    fault.arm_card()
                return fault

            server, fault = _start_server(feed, names, arm)
            slots = sorted(server.slots)
            try:
                if not server.wait_connected(10) or not all(wait_for_card(names[s], present=True, timeout=10)
                                                            for s in slots):
                    raise Unavailable("pcscd did not see the emulated cards")
                control = server.status()["control"]
                readers = [x for s in slots for x in ("--reader", f"pcsc:{names[s]}?eject={control}&slot={s}")]
                with tap_verified(fault):
                    code, out, err = _sim("batch", "run", d, *readers, "--json")
                if fault.fired.is_set() and not fault.done.wait(30):
                    result.problems.append("the fault did not finish (card not put back / pcscd not up)")
            finally:
                _stop(server, names)
    except PcscUnavailable as e:
        raise Unavailable(str(e)) from None
    for e in fault.errors:
        if isinstance(e, PcscUnavailable):
            raise Unavailable(str(e))
        result.problems.append(f"the fault itself failed: {type(e).__name__}: {e}")
    if not fault.fired.is_set():
        result.problems.append("the fault never fired")
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    result.summary = lines[-1] if lines and lines[-1].get("event") == "summary" else {}
    if code != 0:
        result.problems.append(f"batch run: exit {code}: {err.strip()[-500:]} {result.summary.get('reason', '')}")
    _judge(result, d, key, workdir, fault, f"pcsc:{names[slots[0]]}", [f"pcsc:{names[s]}" for s in slots])
    return result


def _judge(result: PointResult, d: Path, key: Path, workdir: Path, fault: Fault, victim: str,
           readers: list[str]) -> None:
    """Void what waits on no card, run the batch checks, and say what became of the card hit."""
    from simtool.batch.batchdir import BatchDir
    from simtool.batch.ledger import open_ledger

    cards = card_files(workdir / "vpcd-feed")
    carried = {p: card_ids(p) for p in cards}
    on_cards = {i for i, _ in carried.values() if i}
    bdir = BatchDir.load(d)
    with open_ledger(bdir.ledger) as ledger:
        waiting = [r for r in ledger.rows(bdir.batch_id, ("failed", "writing"))]
        events = list(ledger.events(bdir.batch_id))
    for row in waiting:
        if row.iccid in on_cards:
            result.problems.append(f"{row.iccid} is {row.state} but a card carries it (not recovered)")
            continue
        code, _, err = _sim("batch", "void", d, row.iccid, "--reason", f"reader fault {result.name}: card blank")
        if code != 0:
            result.problems.append(f"batch void {row.iccid}: exit {code}: {err.strip()}")
        result.voided.append(row.iccid)
    result.problems += batchcut.check_batch(d, [], key, BATCH_CARDS, workdir / "export.txt", cards=cards,
                                            trays=False, voided=set(result.voided))
    per_reader = {x["reader"]: x for x in result.summary.get("readers", [])}
    if set(per_reader) != set(readers):
        result.problems.append(f"summary readers {sorted(per_reader)}, expected {readers}")
    elif per_reader[readers[1]]["verified"] < 1:
        result.problems.append("the other reader verified no card")

    # The card hit: its first identity is the first one leased on its reader.
    first = next((e.iccid for e in events if e.state == "leased" and e.reader == victim), None)
    if first is None:
        result.problems.append(f"no identity was ever leased on {victim}")
        return
    trail = [e.state for e in events if e.iccid == first and e.state in batchcut.TRANSITIONS]
    holds = carried.get(fault.path, (None, None))[0]
    if holds == first and "failed" in trail and trail[-1] == "verified":
        result.outcome = "own"
    elif holds == first and trail == ["leased", "writing", "verified"]:
        result.outcome = "done"
    elif holds is not None and trail[:2] == ["leased", "free"]:
        result.outcome = "fresh"
    elif holds is not None and holds != first and trail[:3] == ["leased", "writing", "failed"] \
            and first in result.voided:
        result.outcome = "waiting"
    else:
        result.outcome = "unexpected"
        result.problems.append(f"the card hit holds {holds}; its first identity {first}: {trail}")
    for iccid in set(result.voided) - {first}:
        result.bystanders.append(f"{iccid} waited on a blank card (the other reader's) and was voided")
    others = {e.iccid for e in events if e.state == "failed" and e.iccid != first}
    for iccid in sorted(others - set(result.voided)):
        result.bystanders.append(f"{iccid} failed on the other reader and was recovered with its own card")


def sweep(workdir: Path, pcscd: Any, faults: tuple[str, ...] = FAULTS, phases: tuple[str, ...] = PHASES,
          report: Callable[[PointResult], None] | None = None) -> list[PointResult]:
    """Every fault at every phase, one new batch each. `Unavailable` only if the first point cannot run; a later
    point that cannot (pcscd did not come back, say) is a failure."""
    import shutil

    results = []
    for i, (kind, phase) in enumerate(itertools.product(faults, phases)):
        try:
            r = run_point(workdir / f"p{i}", kind, phase, pcscd)
        except Unavailable as e:
            if not results:
                raise  # nothing can run here
            r = PointResult(kind, phase, problems=[f"could not run: {e}"])  # it could a moment ago
        except Exception as e:  # a point that breaks is a failure, not the end of the sweep
            r = PointResult(kind, phase, problems=[f"{type(e).__name__}: {e}"])
        results.append(r)
        if report is not None:
            report(r)
        shutil.rmtree(workdir / f"p{i}", ignore_errors=True)
    return results

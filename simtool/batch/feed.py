"""Where a batch run gets its cards: one `CardSource` per reader.

- `emu-feed:DIR[?latency_ms=N&protocol=T=1]`: an in-process stack of emulated cards, as a vendor's tray
  (the reader is simtool.transport.emufeed on the emulator's tray; the factory reaches cards only through
  transports). Each card is a state file `DIR/card-NNNNNN.json` (durable per write, like EEPROM); a card the
  run is done with moves to `DIR/done/` (verified) or `DIR/rejected/` (failed or refused), and a fresh blank
  card with the batch's vendor ADM1 (and the vendor's ICCID, for pre-printed batches) appears. A card still
  in DIR after a crash is presented first when the run starts again. A card file that is damaged (empty, not
  JSON, another version, truncated) is no card: it moves to `DIR/rejected/`, the run records why (a
  `card-file-rejected` event, and a line on screen) and the reader goes on with the next card. A vendor
  ICCID printed on a card in DIR or in `DIR/rejected/` is never printed on a second card. `emu-feed:` with
  no DIR keeps the cards in memory.
- `pcsc:N` / `pcsc:NAME` (also a vpcd `--feed` slot): waits for a card to be inserted, and after it for the
  card to be removed. With `?eject=CONTROL_SOCKET&slot=K` (a vpcd feed server) the run asks the server to
  take the card out itself.
- `emu:PATH`: one emulated card file, once.

`card_ref` names the physical card to the ledger's journal (the feed's file), so a card that was being
written when the station died is recognised even before its ICCID was written.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from simtool.batch.decide import Outcome
from simtool.errors import InputError, NoCardError
from simtool.transport.base import Reader
from simtool.transport.emufeed import OUTCOME_DIRS, EmuFeedTray

# What a source needs to make a fresh card: (vendor ADM1, vendor-printed ICCID or None), or None when the batch
# has nothing left for a fresh card.
NewCard = Callable[[], "tuple[bytes, str | None] | None"]
# Told when a tray sets aside a file that is no card: (where the file is now, why).
RejectFile = Callable[[Path, str], None]
EV_FILE_REJECTED = "card-file-rejected"  # the ledger event of a damaged card file set aside
__all__ = ["EV_FILE_REJECTED", "OUTCOME_DIRS", "CardSlot", "CardSource", "EmuFeed", "EmuFile", "PcscSource",
           "all_pcsc_sources", "open_source"]


@dataclass
class CardSlot:
    """A card in a reader, opened."""

    reader: Reader
    card_ref: str | None
    path: Path | None = None
    fresh: bool = False  # made by the feed just now, from the batch's recipe
    lost: bool = False  # the reader lost the card mid-flash (pulled, pcscd gone): nothing to eject


class CardSource(ABC):
    name: str
    #: True when the source can tell that no more cards will come (a feed that the batch no longer fills)
    finite: bool = True
    #: `--trace`: where each reader's masked APDU lines go (None: no trace)
    trace: Callable[[str], None] | None = None
    _reject_file: RejectFile | None = None

    def bind(self, new_card: NewCard, reject_file: RejectFile | None = None) -> None:
        """The batch's recipe for fresh blank cards (used by emulated feeds), and who hears of a card file
        set aside as damaged."""
        self._new_card = new_card
        self._reject_file = reject_file

    @abstractmethod
    def next_card(self, stop: threading.Event, idle: Callable[[], bool]) -> CardSlot | None:
        """Wait for a card. None when `stop` is set, when `idle()` says the batch needs no more cards, or when
        the source has no more cards."""

    @abstractmethod
    def finish(self, slot: CardSlot, outcome: str, stop: threading.Event) -> None:
        """The run is done with this card ("verified", "skipped", "failed", "refused"; "unused" and "held"
        leave it where it is)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def _trace(self) -> Callable[[str], None] | None:
        """Trace lines prefixed with the reader's name, since several readers share one stream."""
        if self.trace is None:
            return None
        write, name = self.trace, self.name
        return lambda line: write(f"[{name}] {line}")


def _params(uri: str) -> tuple[str, dict[str, str]]:
    target, _, query = uri.partition("?")
    return target, dict(parse_qsl(query, keep_blank_values=True))


def _latency(uri: str, params: dict[str, str]) -> float:
    from simtool.transport import latency_ms_of

    return latency_ms_of(uri, params)  # 0..60000 ms, as for every reader URI


class EmuFeed(CardSource):
    """`emu-feed:`: the transport's tray of emulated cards (simtool.transport.emufeed) as a card source."""

    def __init__(self, uri: str) -> None:
        self.tray = EmuFeedTray(uri)
        self.uri, self.name, self.directory = uri, self.tray.name, self.tray.directory

    def close(self) -> None:
        self.tray.close()

    def pending(self) -> list[Path]:
        """Cards still in the tray from an earlier run (oldest first)."""
        return self.tray.pending()

    def printed_iccids(self) -> set[str]:
        """The vendor ICCIDs printed on the cards in the tray and in its reject bin: not to be printed on
        another card (a rejected card still exists)."""
        return self.tray.printed_iccids()

    def next_card(self, stop: threading.Event, idle: Callable[[], bool]) -> CardSlot | None:
        if stop.is_set():
            return None
        fed = self.tray.next_pending(self._trace(), self._reject_file)
        if fed is None:
            if idle():
                return None
            spec = self._new_card()
            if spec is None:
                return None
            fed = self.tray.fresh(*spec, trace=self._trace())
        return CardSlot(fed.reader, fed.ref, fed.path, fresh=fed.fresh)

    def finish(self, slot: CardSlot, outcome: str, stop: threading.Event) -> None:
        slot.reader.close()
        self.tray.finish(slot.path, outcome)


class EmuFile(CardSource):
    """One emulated card file (`emu:PATH`): presented once."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.name = uri.partition("?")[0]
        self._done = False

    def next_card(self, stop: threading.Event, idle: Callable[[], bool]) -> CardSlot | None:
        from simtool.transport import open_reader

        if self._done or stop.is_set():
            return None
        self._done = True
        reader = open_reader(self.uri, trace=self._trace())
        path = self.uri.removeprefix("emu:").partition("?")[0]
        return CardSlot(reader, str(Path(path).resolve()) if path else None)

    def finish(self, slot: CardSlot, outcome: str, stop: threading.Event) -> None:
        slot.reader.close()


class PcscSource(CardSource):
    """A PC/SC reader: cards come and go by hand (or by a vpcd feed server's eject)."""

    finite = False
    POLL = 0.5

    def __init__(self, uri: str, name: str | None = None) -> None:
        self.uri = uri
        target, params = _params(uri)
        self.latency_ms = _latency(uri, params)
        self.eject_socket = params.get("eject")
        self.eject_slot = int(params.get("slot", "0"))
        self.target = target.removeprefix("pcsc:")
        self.reader_name = name
        self.name = uri.partition("?")[0] if name is None else f"pcsc:{name}"

    def _resolve(self) -> str:
        if self.reader_name is None:
            from simtool.transport.pcsc import list_readers, resolve_reader

            self.reader_name = resolve_reader(self.target, [r["name"] for r in list_readers()])
        return self.reader_name

    def next_card(self, stop: threading.Event, idle: Callable[[], bool]) -> CardSlot | None:
        from simtool.transport import open_reader
        from simtool.transport.pcsc import wait_for_card

        name = self._resolve()
        while not stop.is_set():
            if idle():
                return None
            try:
                present = wait_for_card(name, present=True, timeout=self.POLL)
            except NoCardError:  # pcscd is away (restarting): wait for it, as for a card
                stop.wait(self.POLL)
                continue
            if present:
                try:
                    reader = open_reader(f"pcsc:{name}", latency_ms=self.latency_ms, trace=self._trace())
                except NoCardError:
                    stop.wait(self.POLL)
                    continue
                return CardSlot(reader, None)
        return None

    def finish(self, slot: CardSlot, outcome: str, stop: threading.Event) -> None:
        from simtool.transport.pcsc import wait_for_card

        slot.reader.close()
        if outcome in (Outcome.UNUSED, Outcome.HELD) or slot.lost:  # a lost card is out already, or comes back
            return
        if self.eject_socket:  # the feed server swaps the card itself and answers once the next one is in
            from simtool.transport.vpcd import send_control

            send_control(self.eject_socket, {"cmd": "eject", "slot": self.eject_slot})
            return
        name = self._resolve()
        while not stop.is_set() and not wait_for_card(name, present=False, timeout=self.POLL):
            pass


def open_source(uri: str) -> CardSource:
    """The card source for one `--reader URI`."""
    if uri.startswith("emu-feed:"):
        return EmuFeed(uri)
    if uri.startswith("pcsc:"):
        return PcscSource(uri)
    if uri.startswith("emu:"):
        return EmuFile(uri)
    raise InputError(f"--reader {uri}: expected emu-feed:DIR, emu-feed:, pcsc:N, pcsc:NAME or emu:PATH")


def all_pcsc_sources() -> list[CardSource]:
    """`--readers all`: every PC/SC reader pcscd knows. NoCardError (exit 3) when there is none."""
    from simtool.transport.pcsc import list_readers

    readers = list_readers()
    if not readers:
        raise NoCardError("--readers all: pcscd reports no reader")
    return [PcscSource(f"pcsc:{r['name']}", name=r["name"]) for r in readers]

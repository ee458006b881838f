"""`emu-feed:DIR[?latency_ms=N&protocol=T=1]`: a vendor's tray of emulated blank cards, as a reader.

The factory sees it as any other reader: it gets `Reader`s and names the card to its journal by `ref`
(the card's file). The cards and their files are the emulator's tray (simtool.emulator.tray): each card is
`DIR/card-NNNNNN.json`; a card the run is done with moves to `DIR/done/` (verified, skipped) or
`DIR/rejected/` (failed, refused); a card still in DIR after a crash is presented first when the run starts
again; a damaged card file is no card: it moves to `DIR/rejected/` and `on_reject(path, why)` hears of it.
`emu-feed:` with no DIR keeps the cards in memory (their refs never repeat across runs).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from simtool.emulator.card import Card
from simtool.emulator.state import CardFileError
from simtool.emulator.tray import Tray, TrayBusyError
from simtool.errors import InputError
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport

#: where a card goes when the run is done with it, by outcome (any other outcome leaves it in the tray)
OUTCOME_DIRS = {"verified": "done", "skipped": "done", "failed": "rejected", "refused": "rejected"}
Trace = Callable[[str], None] | None
_mem_ids = itertools.count(1)


@dataclass
class FedCard:
    """A card from the tray, opened in a reader."""

    reader: Reader
    ref: str  # names the physical card to a journal: its file, or a unique in-memory name
    path: Path | None = None
    fresh: bool = False  # made just now from the recipe given to `fresh()`


class EmuFeedTray:
    """The cards of one `emu-feed:` URI. Holds the tray's lock until `close()`."""

    def __init__(self, uri: str) -> None:
        from simtool.transport import latency_ms_of

        rest, _, query = uri.removeprefix("emu-feed:").partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        self.uri = uri
        self.latency_ms = latency_ms_of(uri, params)
        self.protocol = params.get("protocol", "T=0")
        if self.protocol not in ("T=0", "T=1"):
            raise InputError(f"--reader {uri}: protocol must be T=0 or T=1")
        self.directory = Path(rest).resolve() if rest else None
        self.name = f"emu-feed:{self.directory}" if self.directory else f"emu-feed:mem{next(_mem_ids)}"
        self._ref_prefix = self.name if self.directory else f"{self.name}-{secrets.token_hex(4)}"
        self._mem_count = itertools.count(1)
        self.tray: Tray | None = None
        if self.directory is not None:
            try:
                tray = Tray(self.directory)
                tray.lock()  # one reader per tray: two would present the same card
            except TrayBusyError:
                raise InputError(f"--reader {uri}: another reader or run is using {self.directory}") from None
            except OSError as e:
                raise InputError(f"--reader {uri}: cannot use {self.directory}: {e.strerror}") from None
            tray.clear_temp_files()
            self.tray = tray

    def close(self) -> None:
        if self.tray is not None:
            self.tray.close()

    def pending(self) -> list[Path]:
        """Cards still in the tray from an earlier run (oldest first)."""
        return self.tray.pending() if self.tray is not None else []

    def printed_iccids(self) -> set[str]:
        """Vendor ICCIDs already printed on a card in the tray or its reject bin."""
        return self.tray.printed_iccids() if self.tray is not None else set()

    def next_pending(self, trace: Trace = None,
                     on_reject: Callable[[Path, str], None] | None = None) -> FedCard | None:
        """The oldest card left in the tray, opened; damaged files on the way are set aside."""
        for path in self.pending():
            try:
                return self._open(path, trace)
            except CardFileError as e:  # not a card: set it aside, say why, take the next one
                assert self.tray is not None
                dest = self.tray.set_aside(path, "rejected")
                if dest is not None and on_reject is not None:
                    on_reject(dest, e.reason)
        return None

    def fresh(self, adm: bytes, iccid: str | None, trace: Trace = None) -> FedCard:
        """A new blank card with the vendor's ADM1 (and pre-printed ICCID), opened."""
        if self.tray is None:
            card = Card.blank(adm=adm, iccid=iccid, protocol=self.protocol)
            ref = f"{self._ref_prefix}/card-{next(self._mem_count):06d}"
            return FedCard(self._reader(card, trace), ref, fresh=True)
        fed = self._open(self.tray.new_card(adm, iccid=iccid, protocol=self.protocol), trace)
        fed.fresh = True
        return fed

    def finish(self, path: Path | None, outcome: str) -> None:
        """The run is done with the card at `path`: to its bin by `outcome` (see OUTCOME_DIRS)."""
        sub = OUTCOME_DIRS.get(outcome)
        if path is not None and sub is not None and self.tray is not None:
            self.tray.set_aside(path, sub)

    def _reader(self, card: Card, trace: Trace) -> Reader:
        return Reader(EmulatedTransport(card, self.name), latency_ms=self.latency_ms, trace=trace)

    def _open(self, path: Path, trace: Trace) -> FedCard:
        return FedCard(self._reader(Card.load(path), trace), str(path), path)

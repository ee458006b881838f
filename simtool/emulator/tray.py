"""A tray of emulated blank cards in one directory: the one naming scheme, atomic creation, the bins.

Both users share it: the factory's `emu-feed:DIR` reader (simtool.transport.emufeed) and `simtool emulator
serve --feed DIR` (simtool.transport.vpcd's Feed). A card is a state file `DIR/card-NNNNNN.json` (six digits
or more, numbered past every card in DIR, `done/` and `rejected/`), created whole or not at all
(`CardFile.create`: a crash leaves only a dot-named temp file, cleared by `clear_temp_files`). A card taken
out for good moves to a bin beside it (`done/`, `rejected/`), never over a file there (a clash gets `.N`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Callable
from pathlib import Path

from simtool.emulator.blank import create_card_file
from simtool.emulator.state import CardFile, CardFileError

BINS = ("done", "rejected")
CARD_RE = re.compile(r"^card-(\d{6,})\.json$")
SET_ASIDE_RE = re.compile(r"^card-(\d{6,})\.json(\.\d+)?$")  # in a bin: `.N` after a clash
TEMP_RE = re.compile(r"^\.card-\d{6,}\.json\..+\.tmp$")  # CardFile's temp files, left by a crash
LOCK_NAME = ".feed.lock"


def card_name(n: int) -> str:
    """The file name of the tray's n-th card."""
    return f"card-{n:06d}.json"


def next_iccid(first: str, n: int) -> str:
    """The n-th (0-based) ICCID of a vendor run starting at `first`; a Luhn digit is kept valid."""
    from simtool.profile.luhn import luhn_digit, luhn_ok

    if n == 0:
        return first
    if luhn_ok(first):
        payload = str(int(first[:-1]) + n).zfill(len(first) - 1)
        return payload + luhn_digit(payload)
    return str(int(first) + n).zfill(len(first))


class TrayBusyError(OSError):
    """Another process holds the tray's lock."""


class Tray:
    """The card files in `directory` (created if missing)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = None
        self._next = max(self.numbers(), default=0) + 1

    # -- one user per tray --

    def lock(self) -> None:
        """Hold the tray for this process (two readers would present the same card); TrayBusyError if taken."""
        fd = os.open(self.directory / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise TrayBusyError(f"{self.directory} is in use by another reader or run") from None
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def clear_temp_files(self) -> None:
        """Temp files of a card file being created or saved when the power went: never a card (the name was
        not linked, or the old state is still in place). Only the lock holder may call this."""
        for name in os.listdir(self.directory):
            if TEMP_RE.match(name):
                with contextlib.suppress(OSError):
                    os.unlink(self.directory / name)

    # -- what is in it --

    def numbers(self) -> list[int]:
        """The numbers of every card in the tray and its bins."""
        out = []
        for d in (self.directory, *(self.directory / b for b in BINS)):
            if d.is_dir():
                out += [int(m.group(1)) for f in os.listdir(d) if (m := CARD_RE.match(f))]
        return out

    def pending(self) -> list[Path]:
        """The cards in the tray (not in a bin), oldest first."""
        return sorted((p for p in self.directory.iterdir() if CARD_RE.match(p.name)), key=lambda p: p.name)

    def in_bin(self, name: str) -> list[Path]:
        d = self.directory / name
        return sorted(p for p in d.iterdir() if SET_ASIDE_RE.match(p.name)) if d.is_dir() else []

    def printed_iccids(self) -> set[str]:
        """The vendor ICCIDs printed on the cards in the tray and in `rejected/` (a rejected card still
        exists): never to be printed on another card. Damaged files print nothing."""
        from simtool.encoding.efs import ICCID

        out = set()
        for p in self.pending() + self.in_bin("rejected"):
            try:
                state = CardFile(p).load()
                iccid = ICCID.decode(bytes(state.files[state.model.fs.find("EF.ICCID").path]))
            except (CardFileError, ValueError):  # damaged, or EF.ICCID holds no ICCID
                continue
            if iccid:
                out.add(iccid)
        return out

    # -- cards in and out --

    def new_card(self, adm: bytes, *, iccid: str | Callable[[int], str | None] | None = None,
                 protocol: str = "T=0") -> Path:
        """A fresh blank card file under the next free number (created atomically, never over a file).
        `iccid` is the vendor ICCID to print, or a function of the card's number giving it."""
        while True:
            n, self._next = self._next, self._next + 1
            path = self.directory / card_name(n)
            if os.path.lexists(path):  # another process made one meanwhile (a tray without the lock)
                continue
            printed = iccid(n) if callable(iccid) else iccid
            try:
                create_card_file(path, adm=adm, iccid=printed, protocol=protocol)
            except CardFileError:
                if os.path.lexists(path):
                    continue
                raise
            return path

    def set_aside(self, path: Path, bin_name: str) -> Path | None:
        """Move a card file into the bin `bin_name` beside it; None if it was taken away meanwhile."""
        if not os.path.lexists(path):
            return None
        target = path.parent / bin_name
        target.mkdir(exist_ok=True)
        dest = target / path.name
        n = 0
        while os.path.lexists(dest):
            n += 1
            dest = target / f"{path.name}.{n}"
        os.rename(path, dest)
        return dest

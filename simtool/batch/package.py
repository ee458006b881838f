"""`batch run --esim OUTDIR`: profile packages instead of cards. The package source is one more station source.

An identity's "card" is its package file `OUTDIR/ICCID.upp` (its `card_ref` in the ledger's journal), so the
runner treats it as it treats a card: a free identity is leased for a fresh slot, `writing` is committed
before the file is touched, `verified` only after the file was read back, unsealed, inspected and compared
with the image; an identity left `writing` or `failed` by a run that died is presented again first (the
card that came back) and claimed through the same lifecycle table. What is already at the name is decided by
`decide.decide_package`. Files are born whole (temp, fsync, link without replace, fsync dir), and nothing is
ever deleted: a file that has to go is moved to OUTDIR/rejected/.

`--smdp HOST` adds OUTDIR/activation-codes.csv (ICCID, matching ID, activation code) for the verified
packages of OUTDIR: matching IDs are drawn once per ICCID from `secrets` and kept by every later write of
the file (it is rewritten whole, atomically, at the end of each run).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simtool.batch.decide import OnDisk
from simtool.batch.feed import CardSlot, CardSource
from simtool.batch.lifecycle import FAILED, VERIFIED, WRITING
from simtool.crypto.secrets import SecretError, write_secret_file
from simtool.errors import CardError, InputError

SUFFIX = ".upp"
REJECTED = "rejected"
CODES_FILE = "activation-codes.csv"
CODES_HEADER = ("iccid", "matching_id", "activation_code")
MAX_PACKAGE = 1 << 20  # a package is some KB; a larger file is not one
# Matching IDs: 4 groups of 5 from Crockford's base32 (no I, L, O, U): 100 bits, easy to read out.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "esim:"


def matching_id() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))


@dataclass(frozen=True)
class Examined:
    on_disk: OnDisk
    why: str = ""  # for OTHER: what is wrong with it


class PackageSource(CardSource):
    """OUTDIR as a station source: slots for the identities an earlier run left `writing`/`failed` in OUTDIR
    (from the journal: `pending`, set by the runner), then fresh slots while the batch has free identities."""

    finite = True

    def __init__(self, outdir: str | os.PathLike[str]) -> None:
        self.directory = Path(outdir).resolve()
        self.name = f"{PREFIX}{outdir}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"--esim {outdir}: cannot create the directory: {e.strerror}") from None
        if not self.directory.is_dir():
            raise InputError(f"--esim {outdir}: not a directory")
        self.pending: Callable[[], list[str]] = list
        self._presented: set[str] = set()
        self._queue: list[str] | None = None
        self._lock = threading.Lock()

    # -- the slots ----------------------------------------------------------------------------------------
    def next_card(self, stop: threading.Event, idle: Callable[[], bool]) -> CardSlot | None:
        if stop.is_set():
            return None
        with self._lock:
            if self._queue is None:  # the journal once at the start, not once per package
                self._queue = self.pending()
            slot = self._next_pending()
            if slot is not None:
                return slot
            if not idle() and self._new_card() is not None:
                return CardSlot(None, None, None, fresh=True)
            self._queue = self.pending()  # no fresh identity left: any that a station gave up meanwhile
            return self._next_pending()

    def _next_pending(self) -> CardSlot | None:
        assert self._queue is not None
        while self._queue:
            ref = self._queue.pop(0)
            if ref not in self._presented:
                self._presented.add(ref)
                return CardSlot(None, ref, Path(ref))
        return None

    def finish(self, slot: CardSlot, outcome: str, stop: threading.Event) -> None:
        pass  # the file is where it belongs; a failed one was set aside by `set_aside`

    def path_for(self, iccid: str) -> Path:
        return self.directory / f"{iccid}{SUFFIX}"

    def owns(self, card_ref: str | None) -> bool:
        return card_ref is not None and Path(card_ref).parent == self.directory and card_ref.endswith(SUFFIX)

    # -- the file -----------------------------------------------------------------------------------------
    def examine(self, path: Path, key: bytes, iccid: str, der: bytes) -> Examined:
        """What is at `path` compared with `der`, this identity's package (read only)."""
        from simtool.esim.sealed import unseal_package

        try:
            data = self.read(path)
        except FileNotFoundError:
            return Examined(OnDisk.ABSENT)
        try:
            inside, back = unseal_package(key, data)
        except (SecretError, InputError) as e:
            return Examined(OnDisk.OTHER, str(e).splitlines()[0])
        if inside != iccid:
            return Examined(OnDisk.OTHER, f"it is sealed for ICCID {inside}")
        if back != der:
            return Examined(OnDisk.OTHER, "its package is not this identity's build")
        return Examined(OnDisk.SAME)

    def read(self, path: Path) -> bytes:
        """The file's bytes (a regular file, bounded). FileNotFoundError when there is none."""
        from simtool.inputs import read_bounded

        if not path.exists():
            raise FileNotFoundError(path)
        return read_bounded(path, MAX_PACKAGE, str(path), kind="package")

    def write(self, path: Path, data: bytes) -> None:
        """Born whole, 0600, never over another file (an existing one raises InputError)."""
        write_secret_file(path, data, before_move=self.before_move)

    def before_move(self) -> None:
        """The temp file is durable and not yet linked to its name (a hook for the crash tests)."""

    def set_aside(self, path: Path) -> Path | None:
        """Move `path` to OUTDIR/rejected/ (never over another file there): kept, out of the way."""
        if not path.exists():
            return None
        bin_ = self.directory / REJECTED
        bin_.mkdir(exist_ok=True)
        for n in range(1000):
            dest = bin_ / (path.name if n == 0 else f"{path.name}.{n}")
            try:
                os.link(path, dest)
            except FileExistsError:
                continue
            except OSError as e:
                raise CardError(f"{path}: cannot set it aside: {e.strerror}") from None
            path.unlink()
            _fsync_dir(self.directory)
            return dest
        raise CardError(f"{path}: {bin_} holds 1000 files of this name")

    def remove_temps(self, path: Path) -> int:
        """Temp files of `path` a writer left when it died (`write`'s `.NAME.*.tmp`). Called by the holder of the
        identity's `writing` lease: only a holder writes the name, so any temp of it is a dead holder's."""
        n = 0
        for p in self.directory.glob(f".{path.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                n += 1
        return n


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pending_refs(ledger: Any, batch_id: str, src: PackageSource) -> list[str]:
    """The package files of this source the journal holds identities for that wait for it (`writing` or
    `failed`, no lease: their run died, or failed them): presented first, as cards that came back."""
    return [r.card_ref for r in ledger.rows(batch_id, (WRITING, FAILED))
            if src.owns(r.card_ref) and r.lease_owner is None]


# -- activation codes ---------------------------------------------------------------------------------------
def read_codes(path: Path) -> dict[str, str]:
    """ICCID -> matching ID of an existing activation-codes.csv; InputError (naming the line) if damaged,
    so issued matching IDs are never silently replaced."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != CODES_HEADER:
        raise InputError(f"{path}:1: not an activation-codes file (header {','.join(CODES_HEADER)} expected)")
    out: dict[str, str] = {}
    for n, r in enumerate(rows[1:], 2):
        if len(r) != 3 or not r[0].isdigit() or not r[1]:
            raise InputError(f"{path}:{n}: damaged row (ICCID, matching ID, activation code expected)")
        out[r[0]] = r[1]
    return out


def write_codes(ledger: Any, batch_id: str, outdir: Path, smdp: str) -> tuple[Path, int, int]:
    """OUTDIR/activation-codes.csv for every verified package of OUTDIR, keeping the matching IDs already
    issued; returns (path, rows, new matching IDs). Written atomically (the old file or the new one)."""
    src_dir = outdir.resolve()
    path = src_dir / CODES_FILE
    with open(src_dir / f".{CODES_FILE}.lock", "a") as lock:  # stations sharing OUTDIR: one writer at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _write_codes(ledger, batch_id, src_dir, path, smdp)


def _write_codes(ledger: Any, batch_id: str, src_dir: Path, path: Path, smdp: str) -> tuple[Path, int, int]:
    from simtool.esim.activation import activation_code

    for tmp in src_dir.glob(f".{CODES_FILE}.*.tmp"):  # a writer that died (we hold the lock)
        tmp.unlink(missing_ok=True)
    known = read_codes(path)
    body = io.StringIO()
    w = csv.writer(body, lineterminator="\n")
    w.writerow(CODES_HEADER)
    rows = new = 0
    for r in ledger.rows(batch_id, (VERIFIED,)):
        if r.card_ref is None or Path(r.card_ref).parent != src_dir:
            continue
        mid = known.get(r.iccid)
        if mid is None:
            mid, new = matching_id(), new + 1
        w.writerow([r.iccid, mid, activation_code(smdp, mid)])
        rows += 1
    write_secret_file(path, body.getvalue().encode("utf-8"), overwrite=True)
    return path, rows, new

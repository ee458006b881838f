"""The emulated card's whole memory as one JSON-able object, and the file that keeps it durable.

The state file plays the card's secure memory (DESIGN.md §4): it holds K/OPc, the ADM key and the PINs in
the clear by design, so it is created 0600 and written atomically (temp file in the same directory,
fsync, rename, fsync of the directory) before the card answers a write, as EEPROM would be. Reads never
touch it; a card without a path (`emu:` alone) lives in memory only.

A new card file is born whole: written to a temp file, fsynced, then hard-linked to its name (which fails
if the name exists: nothing is ever replaced) and the directory fsynced, so a crash leaves either no card
or a complete one, never an empty `card-NNNNNN.json`. Loading is bounded: a regular file of at most
`MAX_FILE_BYTES`, and every kind of damage (empty, not JSON, nested too deep, a number too long, wrong
types, wrong version) is one `CardFileError` naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simtool.crypto.aka import SqnState
from simtool.crypto.secrets import write_secret_file
from simtool.emulator.faults import FaultPlan, PowerCut
from simtool.errors import InputError
from simtool.fs import MODELS, CardModel
from simtool.fs.conformance import MANDATORY

FORMAT = "simtool-emulated-card"
VERSION = 1
COUNTERS = ("pin1", "puk1", "pin2", "puk2", "adm1")
PROTOCOLS = ("T=0", "T=1")
# A card's state is about 6 KB of JSON; a file far larger is not a card file, and is refused unread.
MAX_FILE_BYTES = 4 * 1024 * 1024


class CardFileError(InputError):
    """A card file that cannot be created or loaded; the message names the file (exit code 2).
    `reason` is the message without the path, for a tray's rejection event."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


def _damaged(path: Path, reason: str) -> CardFileError:
    return CardFileError(f"{path}: {reason}", reason)


def max_tries(model: CardModel) -> dict[str, int]:
    """The retry-counter ceilings of a card family: what a counter is reset to."""
    return {"pin1": model.pin_tries, "pin2": model.pin_tries, "puk1": model.puk_tries,
            "puk2": model.puk_tries, "adm1": model.adm_tries}


@dataclass
class CardState:
    """Everything the card remembers across power cycles.

    `files` maps each EF path of the model to its body (records concatenated for record EFs), which is
    where K/OPc, the PIN values and enable flags live too (the model's key and PIN files, found through
    `model.secrets`). `counters` and `adm1` are the card's private memory; a family that keeps counters or
    the ADM1 key in its PIN files has them mirrored there (the emulator writes both in one save).
    """

    model: CardModel
    protocol: str
    files: dict[str, bytearray]
    counters: dict[str, int]
    adm1: bytes
    sqn: SqnState = field(default_factory=SqnState)

    def to_json(self) -> dict[str, Any]:
        files: dict[str, Any] = {}
        fs = self.model.fs
        for path, body in self.files.items():
            ef = fs.entries[path].ef if path in fs.entries else None
            if ef is not None and ef.is_record:
                n = ef.record_length
                files[path] = [body[i : i + n].hex() for i in range(0, len(body), n)]
            else:
                files[path] = body.hex()
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model.name,
            "protocol": self.protocol,
            "adm1": self.adm1.hex(),
            "counters": dict(self.counters),
            "sqn": self.sqn.to_dict(),
            "files": files,
        }

    @classmethod
    def from_json(cls, doc: Any) -> CardState:
        """Validate and rebuild; every problem raises ValueError saying what is wrong."""
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if doc.get("format") != FORMAT:
            raise ValueError(f"'format' is not {FORMAT!r}")
        if doc.get("version") != VERSION:
            raise ValueError(f"unsupported version {doc.get('version')!r} (this simtool reads {VERSION})")
        name = doc.get("model")
        model = MODELS.get(name) if isinstance(name, str) else None
        if model is None:
            raise ValueError(f"unknown card model {doc.get('model')!r} (known: {', '.join(MODELS)})")
        protocol = doc.get("protocol")
        if protocol not in PROTOCOLS:
            raise ValueError(f"'protocol' must be T=0 or T=1, got {protocol!r}")
        if protocol not in model.protocols:
            raise ValueError(f"card model {model.name} speaks {' or '.join(model.protocols)} only, not {protocol}")
        adm1 = _hex(doc.get("adm1"), "adm1")
        if len(adm1) != 8:
            raise ValueError("'adm1' must be 8 bytes")
        counters = doc.get("counters")
        if not isinstance(counters, dict) or set(counters) != set(COUNTERS):
            raise ValueError(f"'counters' must hold exactly {', '.join(COUNTERS)}")
        ceilings = max_tries(model)
        for name, value in counters.items():
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= ceilings[name]:
                raise ValueError(f"counter {name!r} must be an integer 0..{ceilings[name]}")
        sqn_doc = doc.get("sqn")
        if not isinstance(sqn_doc, dict):
            raise ValueError("'sqn' must be an object")
        try:
            sqn = SqnState.from_dict(sqn_doc)
        except InputError as e:
            raise ValueError(str(e)) from None
        files = _files_from_json(model, doc.get("files"))
        return cls(model, protocol, files, dict(counters), adm1, sqn)


def expected_files(model: CardModel) -> dict[str, int]:
    """Every EF path of the model with its body size (key and PIN files included)."""
    return {e.path: e.ef.body_size for e in model.fs.efs()}


def core_files(model: CardModel) -> set[str]:
    """The files the card itself runs on (its secrets, the plan applet's DF, the UICC's own files of TS
    102 221 §13): a card file must hold them. Any other EF may be absent, as on a card made before the
    model gained it: the card keeps its tree."""
    uicc = {n.path for n in MANDATORY if n.path.count("/") == 1}  # MF/EF.ICCID, MF/EF.DIR, ...
    return (set(model.secrets.paths()) | uicc
            | {p for p in expected_files(model) if p.startswith("MF/DF.PLAN/")})


def absent_files(model: CardModel, files: dict[str, bytearray]) -> frozenset[str]:
    """Paths of the model the card does not hold: EFs without a body, and DFs with no EF left below them."""
    efs = [p for p in expected_files(model) if p not in files]
    dfs = [e.path for e in model.fs.dfs()
           if e.path != "MF" and not any(p.startswith(e.path + "/") for p in files)]
    return frozenset(efs + dfs)


def _files_from_json(model: CardModel, files: Any) -> dict[str, bytearray]:
    if not isinstance(files, dict):
        raise ValueError("'files' must be an object")
    want = expected_files(model)
    missing = [p for p in core_files(model) if p not in files]
    extra = [p for p in files if p not in want]
    if missing:
        raise ValueError(f"files missing: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    if extra:
        raise ValueError(f"files not in model {model.name}: {', '.join(extra[:5])}")
    out: dict[str, bytearray] = {}
    for path, size in want.items():
        if path not in files:
            continue  # a file the card was made without (see `core_files`)
        value = files[path]
        entry = model.fs.entries.get(path)
        if entry is not None and entry.ef.is_record:
            ef = entry.ef
            if not isinstance(value, list) or len(value) != ef.record_count:
                raise ValueError(f"{path}: must be a list of {ef.record_count} records")
            body = b"".join(_hex(r, path) for r in value)
            if any(len(_hex(r, path)) != ef.record_length for r in value):
                raise ValueError(f"{path}: every record must be {ef.record_length} bytes")
        else:
            body = _hex(value, path)
        if len(body) != size:
            raise ValueError(f"{path}: {len(body)} bytes, the model says {size}")
        out[path] = bytearray(body)
    return out


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what}: hex string expected")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what}: not valid hex") from None


class CardFile:
    """Where a card's state lives: a JSON file (`emu:PATH`) or nowhere (`path=None`, memory only)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self.saves = 0  # durable writes done, for tests and benchmarks
        self.faults: FaultPlan | None = None  # power cuts for tests (simtool.emulator.faults); None: none

    def __repr__(self) -> str:
        return f"CardFile({str(self.path) if self.path else 'memory'})"

    def load(self) -> CardState:
        """Read and validate the file; a missing, oversized, special or broken file raises CardFileError
        naming it."""
        if self.path is None:
            raise CardFileError("an in-memory card has no file to load")
        raw = self._read_bounded()
        if not raw.strip():
            raise _damaged(self.path, "not a card file (the file is empty)")
        try:
            doc = json.loads(raw.decode("utf-8"))  # as simtool writes it: UTF-8, no other encoding guessed
        except RecursionError:
            raise _damaged(self.path, "not a card file (JSON nested too deeply)") from None
        except UnicodeDecodeError:
            raise _damaged(self.path, "not a card file (not UTF-8 text)") from None
        except json.JSONDecodeError as e:
            raise _damaged(self.path, f"not a card file (invalid JSON: {e})") from None
        except ValueError:  # an integer past Python's int-str digit limit
            raise _damaged(self.path, "not a card file (a number with too many digits)") from None
        try:
            return CardState.from_json(doc)
        except ValueError as e:
            raise _damaged(self.path, f"broken card file: {e}") from None
        except (TypeError, KeyError, AttributeError, RecursionError, OverflowError):
            raise _damaged(self.path, "broken card file: a field has the wrong type") from None

    def _read_bounded(self) -> bytes:
        """The file's bytes: a regular file of at most MAX_FILE_BYTES (checked on the open file, so a FIFO,
        a device such as /dev/zero or a directory is refused without reading it)."""
        assert self.path is not None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise _damaged(self.path, "no such card file") from None
        except OSError as e:
            raise _damaged(self.path, f"cannot read: {e.strerror}") from None
        try:
            st = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise _damaged(self.path, "not a regular file; a card file is a JSON file")
        if st.st_size > MAX_FILE_BYTES:
            os.close(fd)
            raise _damaged(self.path, f"{st.st_size} bytes, larger than a card file may be "
                           f"({MAX_FILE_BYTES} bytes)")
        with os.fdopen(fd, "rb") as f:
            try:
                raw = f.read(MAX_FILE_BYTES + 1)
            except OSError as e:
                raise _damaged(self.path, f"cannot read: {e.strerror}") from None
        if len(raw) > MAX_FILE_BYTES:  # it grew while we looked
            raise _damaged(self.path, f"larger than a card file may be ({MAX_FILE_BYTES} bytes)")
        return raw

    def save(self, state: CardState) -> None:
        """Atomically replace the file with `state`; durable when this returns. No-op in memory."""
        if self.path is None:
            return
        data = json.dumps(state.to_json(), indent=1).encode()
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:  # mkstemp creates it 0600
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if self.faults is not None:
                self.faults.at_save("written")
            os.replace(tmp, self.path)
        except PowerCut:
            raise  # no clean-up runs without power: the temp file stays, the state file is the old one
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(directory)
        self.saves += 1
        if self.faults is not None:
            self.faults.at_save("renamed")

    def create(self, state: CardState) -> None:
        """Write a new card file, mode 0600, whole or not at all; never replaces anything at the path.

        `write_secret_file` (the card holds its ADM key): temp file in the same directory, fsync, `link` to
        the name (EEXIST if it is taken), fsync of the directory. A crash before the link leaves only a
        dot-named temp file (which trays ignore and clear), never a partial `card-NNNNNN.json`.
        `faults.at_save("written")` is called between the fsync and the link, for tests."""
        if self.path is None:
            raise CardFileError("an in-memory card has no file to create")
        if os.path.lexists(self.path):
            raise _damaged(self.path, "already exists; refusing to overwrite a card")
        data = json.dumps(state.to_json(), indent=1).encode()
        faults = self.faults
        try:
            write_secret_file(self.path, data, before_move=(lambda: faults.at_save("written")) if faults else None)
        except InputError as e:  # names the path; a file that appeared meanwhile is not replaced either
            raise CardFileError(str(e)) from None


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; some file systems cannot fsync a directory, which is fine."""
    try:
        dfd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)

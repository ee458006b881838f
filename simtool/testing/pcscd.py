"""pcscd and vpcd for tests, CI and benchmarks: start pcscd when it is not running, put an emulated card
into a free vpcd slot, restart pcscd. Nothing here imports pyscard or the emulator until it is used.

    from simtool.testing.pcscd import ensure_pcscd, emulated_reader
    ensure_pcscd()                       # starts `pcscd -f` in the background (root) if it is not running
    with emulated_reader(protocol="T=1") as name:    # "Virtual PCD 00 00" (a str with extras)
        reader = name.open()             # a simtool Reader on pcsc:<name>
        ...

What must be installed (Debian): pcscd, vsmartcard-vpcd (+ its reader entries in /etc/reader.conf.d:
`simtool emulator vpcd-config --slots 4 --install`), and pyscard (`make setup` as root does all of it).
A pcscd started here is left running for the next run (other sessions may be using it); its output
goes to `pcscd.log` in the temp directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simtool.batch.liveness import pid_running
from simtool.transport import vpcdconf

RUN_DIR = Path("/run/pcscd")
PID_FILE = RUN_DIR / "pcscd.pid"
COMM_SOCKET = RUN_DIR / "pcscd.comm"
LOG_FILE = Path(tempfile.gettempdir()) / "pcscd.log"
# The pid of a pcscd started by these helpers: a later test session may restart that one, not others.
# One pcscd per machine: a fixed path, whatever $TMPDIR a session has.
OURS_FILE = Path("/tmp/simtool-pcscd.pid")
DEFAULT_ADM = bytes.fromhex("3131313131313131")
SETUP_HINT = "run `make setup` as root (installs pcscd, vsmartcard-vpcd, pcsc-tools, the vpcd readers and pyscard)"


class PcscUnavailable(Exception):
    """pcscd + vpcd cannot be used here; the message says what is missing and how to get it."""


# --- sharing one pcscd between test sessions ------------------------------------------------------------------
# Every emulated card holds a shared lock on pcscd while it is in; restarting pcscd takes it exclusively,
# so a restart in one session never pulls the cards of another (other engineers, pytest-xdist workers).
# A "gate" lock keeps new cards out while a restart waits, so the restart is not starved. pcscd is one per
# machine, so the locks are too: a fixed directory, not $TMPDIR (sessions with different TMPDIRs would not
# see each other's locks); $SIMTOOL_PCSCD_LOCKS moves it (tests of the locks themselves).

_exclusive_here = 0  # this process holds the exclusive lock: its own cards need no shared one
LOCK_DIR = Path("/tmp/simtool-vpcd-locks")


def lock_dir() -> Path:
    return Path(os.environ.get("SIMTOOL_PCSCD_LOCKS") or LOCK_DIR)


def _lock_file(name: str) -> int:
    d = lock_dir()
    d.mkdir(mode=0o700, exist_ok=True)
    return os.open(d / name, os.O_RDWR | os.O_CREAT, 0o600)


def _flock(fd: int, mode: int, timeout: float) -> bool:
    import fcntl

    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)


@contextlib.contextmanager
def pcscd_shared(timeout: float = 60.0) -> Iterator[None]:
    """Hold pcscd as one of its users (waits while another session restarts it)."""
    import fcntl

    if _exclusive_here:
        yield
        return
    gate, fd = _lock_file("pcscd-gate.lock"), _lock_file("pcscd.lock")
    try:
        if not _flock(gate, fcntl.LOCK_SH, timeout):
            raise PcscUnavailable(f"pcscd is being restarted by another test session (waited {timeout:g} s)")
        fcntl.flock(gate, fcntl.LOCK_UN)
        if not _flock(fd, fcntl.LOCK_SH, timeout):
            raise PcscUnavailable(f"pcscd is being restarted by another test session (waited {timeout:g} s)")
        yield
    finally:
        os.close(gate)
        os.close(fd)


@contextlib.contextmanager
def pcscd_exclusive(timeout: float = 60.0) -> Iterator[None]:
    """Hold pcscd alone (to restart it): waits until the cards of other sessions are out."""
    import fcntl

    global _exclusive_here
    if _exclusive_here:
        _exclusive_here += 1
        try:
            yield
        finally:
            _exclusive_here -= 1
        return
    gate, fd = _lock_file("pcscd-gate.lock"), _lock_file("pcscd.lock")
    try:
        if not (_flock(gate, fcntl.LOCK_EX, timeout) and _flock(fd, fcntl.LOCK_EX, timeout)):
            raise PcscUnavailable(f"pcscd stayed in use by other test sessions for {timeout:g} s; not restarting it")
        _exclusive_here = 1
        try:
            yield
        finally:
            _exclusive_here = 0
    finally:
        os.close(gate)
        os.close(fd)


def in_ci() -> bool:
    """CI=true (as GitHub, GitLab and .ci/run set it): PC/SC tests must fail there, never skip."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def find_pcscd() -> str | None:
    return shutil.which("pcscd") or next((p for p in ("/usr/sbin/pcscd", "/sbin/pcscd") if os.path.exists(p)), None)


def missing() -> list[str]:
    """What is missing for emulated cards behind pcscd, one line per item (empty: all there)."""
    out = []
    if find_pcscd() is None:
        out.append("pcscd is not installed (apt-get install pcscd)")
    if not (vpcdconf.DRIVER_DIR / "libifdvpcd.so").exists():
        out.append("the vpcd driver is not installed (apt-get install vsmartcard-vpcd)")
    elif not vpcdconf.installed_slots():
        out.append("no vpcd reader entry in /etc/reader.conf.d (simtool emulator vpcd-config --install)")
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        out.append("pyscard is not installed (it builds with gcc, swig and libpcsclite-dev: pip install pyscard)")
    return out



def _pidfile_pid() -> int | None:
    try:
        return int(PID_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def reader_names(timeout: float = 3.0) -> list[str] | None:
    """The readers pcscd lists, or None when pcscd does not answer."""
    from simtool.errors import NoCardError
    from simtool.transport.pcsc import _Context

    try:
        ctx = _Context(timeout, name="probe")
    except NoCardError:
        return None
    try:
        return ctx.readers()
    except NoCardError:
        return None
    finally:
        ctx.release()


def vpcd_readers(names: list[str] | None = None) -> dict[int, str]:
    """vpcd slot → reader name, for the vpcd readers pcscd offers now."""
    names = reader_names() if names is None else names
    out: dict[int, str] = {}
    for n in names or []:
        slot = vpcdconf.slot_of_reader(n)
        if slot is not None:
            out.setdefault(slot, n)
    return out


def _ours() -> int | None:
    """The pid of the running pcscd if these helpers started it (in this or an earlier session)."""
    try:
        pid = int(OURS_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid == _pidfile_pid() and pid_running(pid) else None


@dataclass
class Pcscd:
    """The pcscd the tests use: `owned` if these helpers started it (`proc` when in this process)."""

    owned: bool
    proc: subprocess.Popen[bytes] | None = None
    readers: dict[int, str] = field(default_factory=dict)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else _pidfile_pid()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the pcscd that runs now: one these helpers started (in this process, or in another session, which
        may have restarted it since); another one only in CI (a disposable machine)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout)
            self.proc = None
        pid = _pidfile_pid()
        if pid is not None and pid_running(pid):  # not (or no longer) our child
            if pid != _ours() and not in_ci():
                raise PcscUnavailable("pcscd was started outside the tests; not stopping it "
                                      "(set CI=true to allow)")
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pid_running(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        deadline = time.monotonic() + timeout
        while reader_names(1.0) is not None and time.monotonic() < deadline:
            time.sleep(0.05)

    def start(self, timeout: float = 10.0) -> None:
        self.proc = _start(timeout)
        self.owned = True
        self.readers = vpcd_readers()

    def restart(self, timeout: float = 10.0) -> None:
        """Stop and start pcscd, once no other test session has a card in (see `pcscd_exclusive`)."""
        with pcscd_exclusive():
            self.stop()
            self.start(timeout)


def _start(timeout: float) -> subprocess.Popen[bytes]:
    exe = find_pcscd()
    if exe is None:
        raise PcscUnavailable("pcscd is not installed (apt-get install pcscd)")
    if os.geteuid() != 0:
        raise PcscUnavailable("pcscd is not running, and starting it needs root: run `pcscd` as root "
                              "(or `systemctl start pcscd.socket`)")
    pid = _pidfile_pid()
    if pid is not None and not pid_running(pid):  # left over by a killed pcscd: it would refuse to start
        with contextlib.suppress(OSError):
            PID_FILE.unlink()
        with contextlib.suppress(OSError):
            COMM_SOCKET.unlink()
    log = open(LOG_FILE, "ab")  # noqa: SIM115 - handed to the daemon
    try:
        proc = subprocess.Popen([exe, "-f"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PcscUnavailable(f"pcscd exited at once (status {proc.returncode}); its log:\n{_log_tail()}")
        names = reader_names(1.0)
        if names is not None and vpcd_readers(names):
            with contextlib.suppress(OSError):  # only once it runs: a pcscd that failed must not replace it
                OURS_FILE.write_text(f"{proc.pid}\n")
            return proc
        time.sleep(0.1)
    proc.terminate()
    raise PcscUnavailable(f"pcscd did not offer the vpcd readers within {timeout:g} s; its log:\n{_log_tail()}")


def _log_tail(lines: int = 20) -> str:
    try:
        return "\n".join(LOG_FILE.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def ensure_pcscd(timeout: float = 10.0) -> Pcscd:
    """A pcscd with vpcd readers: the running one, or one started now. PcscUnavailable says why not."""
    problems = missing()
    if problems:
        raise PcscUnavailable("; ".join(problems) + f" -- {SETUP_HINT}")
    with pcscd_shared():  # not while another session restarts it
        names = reader_names(2.0)
    if names is not None:
        readers = vpcd_readers(names)
        if not readers and _ours() is not None:  # ours, started before the vpcd entries went in
            daemon = Pcscd(owned=True)
            daemon.restart(timeout)
            return daemon
        if not readers:
            raise PcscUnavailable("pcscd runs without vpcd readers (it was started before the vpcd entries were "
                                  "installed): restart pcscd")
        return Pcscd(owned=_ours() is not None, readers=readers)
    with pcscd_exclusive():  # one session starts it; the others wait and find it running
        names = reader_names(2.0)
        if names is not None and vpcd_readers(names):
            return Pcscd(owned=_ours() is not None, readers=vpcd_readers(names))
        daemon = Pcscd(owned=True)
        daemon.start(timeout)
    return daemon


# --- an emulated card in a free slot ---------------------------------------------------------------------------


class PcscCard(str):
    """The reader name of an emulated card behind pcscd (use it as a str), with what tests need beside:
    `uri`, `slot`, `port`, `card` (the emulator's Card), `path` (its state file or None), `server`."""

    slot: int
    port: int
    card: Any
    path: Path | None
    server: Any

    @property
    def reader(self) -> str:
        return str(self)

    @property
    def uri(self) -> str:
        return f"pcsc:{self}"

    def open(self, shared: bool = False, timeout: float = 10.0, **kw: Any) -> Any:
        """A simtool `Reader` on this card through pcscd."""
        from simtool.transport import open_reader

        return open_reader(self.uri, shared=shared, timeout=timeout, **kw)

    def eject(self, timeout: float = 5.0) -> bool:
        """Take the card out; True once pcscd sees the slot empty."""
        from simtool.transport.pcsc import wait_for_card

        self.server.slots[self.slot].swap(None)
        return wait_for_card(str(self), present=False, timeout=timeout)

    def insert(self, card: Any = None, timeout: float = 5.0) -> bool:
        """Put `card` (default: the same card again) back in; True once pcscd sees it."""
        from simtool.transport.pcsc import wait_for_card

        if card is not None:
            self.card = card
        self.server.slots[self.slot].swap(self.card)
        return wait_for_card(str(self), present=True, timeout=timeout)


@contextlib.contextmanager
def emulated_reader(card: Any = None, *, adm: bytes = DEFAULT_ADM, protocol: str = "T=0", iccid: str | None = None,
                    path: str | os.PathLike[str] | None = None, slot: int | None = None,
                    timeout: float = 10.0) -> Iterator[PcscCard]:
    """Serve one emulated card (given, or a fresh blank one: in memory, or a state file at `path`) in a free
    vpcd slot on a background thread; yields its reader name once pcscd sees the card."""
    from simtool.emulator.blank import create_card_file
    from simtool.emulator.card import Card

    if card is None:
        if path is not None:
            create_card_file(path, adm, iccid=iccid, protocol=protocol)
            card = Card.load(path)
        else:
            card = Card.blank(adm=adm, iccid=iccid, protocol=protocol)
    with pcscd_shared():
        yield from _serve_in_free_slot(card, slot, timeout)


def _serve_in_free_slot(card: Any, slot: int | None, timeout: float) -> Iterator[PcscCard]:
    from simtool.transport.pcsc import wait_for_card
    from simtool.transport.vpcd import VPCD_PORT, PortLock, SlotBusyError, VpcdCardServer

    readers = vpcd_readers()
    if not readers:
        raise PcscUnavailable("pcscd offers no vpcd reader (is it running? see simtool.testing.pcscd.ensure_pcscd)")
    candidates = [slot] if slot is not None else sorted(readers)
    server = None
    for s in candidates:
        if s not in readers:
            raise PcscUnavailable(f"vpcd slot {s} is not configured (readers: {sorted(readers.values())})")
        probe = PortLock(VPCD_PORT + s)
        if not probe.acquire():
            continue  # another simtool process serves it
        probe.release()
        if not wait_for_card(readers[s], present=False, timeout=1.5):
            continue  # a card that is not ours (or one still leaving) sits there
        try:
            server = VpcdCardServer({s: card}, port=VPCD_PORT, control=False).start()
        except SlotBusyError:
            continue
        chosen = s
        break
    if server is None:
        raise PcscUnavailable(f"every vpcd slot is busy ({len(readers)} configured); add more with "
                              "`simtool emulator vpcd-config --slots N --install` and restart pcscd")
    name = readers[chosen]
    try:
        if not wait_for_card(name, present=True, timeout=timeout):
            raise PcscUnavailable(f"{name}: pcscd did not see the emulated card within {timeout:g} s")
        out = PcscCard(name)
        out.slot, out.port, out.card, out.server = chosen, VPCD_PORT + chosen, card, server
        out.path = Path(card.storage.path) if getattr(card.storage, "path", None) else None
        yield out
    finally:
        server.stop()
        wait_for_card(name, present=False, timeout=3.0)  # the next user of the slot starts from empty

"""A throw-away osmo-hlr for tests, CI and benchmarks (issue 15; specfacts-network-esim §10.1–§10.2).

    from simtool.testing.osmohlr import start_hlr
    with start_hlr() as hlr:                 # osmo-hlr on a fresh SQLite db, in a new temp dir
        hlr.vty                              # ("127.42.N.M", 4258): provisioning (telnet VTY)
        hlr.gsup                             # ("127.42.N.M", 4222): GSUP over IPA
        hlr.ctrl                             # ("127.42.N.M", 4259)
        ...                                  # leaving the block stops it and removes the directory

osmo-hlr's ports are fixed (GSUP 4222, VTY 4258, CTRL 4259), so instances cannot share an address: each one
binds all three to its own loopback address 127.42.N.M (Linux routes all of 127/8 to `lo`). An address is
claimed with an flock on a file under /tmp (held while the instance lives), so parallel test workers, other
test runs and benchmarks on the same machine never pick the same one; an address whose ports someone else
already holds is skipped. The instance is ready when all three ports accept a connection (polled with a
deadline). osmo-hlr gets PR_SET_PDEATHSIG, so a killed test run does not leave it behind, and directories of
dead owners are reaped on the next start. Nothing here imports pytest.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from simtool.batch.liveness import pid_running

SETUP_HINT = "install Debian's osmo-hlr package (`make setup` as root, or `apt-get install -y osmo-hlr`)"
BINARY = "/usr/bin/osmo-hlr"
GSUP_PORT, VTY_PORT, CTRL_PORT = 4222, 4258, 4259
PREFIX = "simtool-hlr-"
OWNER_FILE = "owner.pid"
LOCK_DIR = Path("/tmp/simtool-osmohlr-addresses")
SUBNET = (127, 42)  # 127.42.N.M, N in 0..255, M in 1..254


class OsmoHlrUnavailable(Exception):
    """No osmo-hlr can be started here; the message says what is missing and how to get it."""


def in_ci() -> bool:
    """CI=true: osmo-hlr tests must fail there, never skip."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def find_binary() -> Path | None:
    """$SIMTOOL_OSMO_HLR, /usr/bin/osmo-hlr, or an `osmo-hlr` on PATH."""
    env = os.environ.get("SIMTOOL_OSMO_HLR")
    if env:
        return Path(env) if os.access(env, os.X_OK) else None
    if os.access(BINARY, os.X_OK):
        return Path(BINARY)
    found = shutil.which("osmo-hlr")
    return Path(found) if found else None


def config_text(address: str, database: Path, hlr_lines: Sequence[str] = (),
                gsup_lines: Sequence[str] = ()) -> str:
    """The osmo-hlr.cfg of one instance: all three listeners on `address`, logging to stderr without colour.
    `hlr_lines` go under `hlr` (e.g. `subscriber-create-on-demand 5 cs+ps`), `gsup_lines` under `gsup`
    (e.g. `ipa-name HLR-1`)."""
    lines = ["log stderr", " logging filter all 1", " logging color 0", " logging print category 1",
             " logging timestamp 0", " logging level main notice",
             "line vty", f" bind {address}",
             "ctrl", f" bind {address}",
             "hlr", f" database {database}", *(f" {x}" for x in hlr_lines),
             " gsup", f"  bind ip {address}", *(f"  {x}" for x in gsup_lines)]
    return "\n".join(lines) + "\n"


@dataclass
class OsmoHlr:
    """A running osmo-hlr. `stop()` ends it and removes its directory."""

    address: str
    base: Path
    process: subprocess.Popen[bytes]
    binary: Path
    _lock: IO[bytes] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def vty(self) -> tuple[str, int]:
        return (self.address, VTY_PORT)

    @property
    def gsup(self) -> tuple[str, int]:
        return (self.address, GSUP_PORT)

    @property
    def ctrl(self) -> tuple[str, int]:
        return (self.address, CTRL_PORT)

    @property
    def vty_address(self) -> str:
        """HOST:PORT of the VTY, as `simtool hlr load --osmo-hlr-vty` takes it."""
        return f"{self.address}:{VTY_PORT}"

    @property
    def gsup_address(self) -> str:
        """HOST:PORT of GSUP, as `simtool auth --gsup` takes it."""
        return f"{self.address}:{GSUP_PORT}"

    @property
    def database(self) -> Path:
        return self.base / "hlr.db"

    @property
    def config(self) -> Path:
        return self.base / "osmo-hlr.cfg"

    @property
    def log_file(self) -> Path:
        return self.base / "osmo-hlr.log"

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_file.read_text(errors="replace")
        return ""

    def running(self) -> bool:
        return not self._stopped and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM (then SIGKILL after 5 s), remove the directory, release the address. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
            _release(self._lock)
            self._lock = None

    def __enter__(self) -> OsmoHlr:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _release(lock: IO[bytes] | None) -> None:
    if lock is not None:
        with contextlib.suppress(OSError):
            lock.close()  # closing the file drops the flock


def _candidates() -> list[str]:
    """Loopback addresses to try, starting at one derived from the pid so parallel workers rarely meet."""
    start = os.getpid() % (256 * 254)
    return [f"{SUBNET[0]}.{SUBNET[1]}.{(i // 254) % 256}.{i % 254 + 1}"
            for i in range(start, start + 256 * 254)]


def _ports_free(address: str) -> bool:
    """None of the three ports is bound on `address` (or on 0.0.0.0) by anyone."""
    for port in (GSUP_PORT, VTY_PORT, CTRL_PORT):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as osmo-hlr does: TIME_WAIT is no holder
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True


def _claim(skip: set[str]) -> tuple[str, IO[bytes]]:
    """An address no other instance holds (its flock taken) whose three ports are free."""
    LOCK_DIR.mkdir(mode=0o1777, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(LOCK_DIR, 0o1777)
    for address in _candidates():
        if address in skip:
            continue
        fh = open(LOCK_DIR / f"{address}.lock", "ab")  # noqa: SIM115 - held for the instance's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        if _ports_free(address):
            return address, fh
        fh.close()
    raise OsmoHlrUnavailable("no free loopback address 127.42.N.M for osmo-hlr's ports 4222/4258/4259")


def _pdeathsig() -> None:
    """In the child before exec: die with the parent (PR_SET_PDEATHSIG = 1), so a killed run leaves no HLR."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)



def reap_stale() -> list[Path]:
    """Remove the directories of earlier processes that died without stopping their HLR (their osmo-hlr died
    with them by PDEATHSIG). Directories of live processes are left alone."""
    reaped = []
    for base in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = int((base / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if pid == os.getpid() or pid_running(pid):
            continue
        shutil.rmtree(base, ignore_errors=True)
        reaped.append(base)
    return reaped


def _wait_ready(hlr: OsmoHlr, deadline: float) -> str | None:
    """None once all three ports accept; else why not (the process ended, or the deadline passed)."""
    pending = [hlr.gsup, hlr.vty, hlr.ctrl]
    while pending:
        if hlr.process.poll() is not None:
            return f"osmo-hlr exited with {hlr.process.returncode}"
        try:
            with socket.create_connection(pending[0], timeout=0.5):
                pending.pop(0)
                continue
        except OSError as e:
            if time.monotonic() > deadline:
                return f"{pending[0][0]}:{pending[0][1]} does not accept connections: {e}"
        time.sleep(0.01)  # the next connect attempt; bounded by the deadline
    return None


def start_hlr(*, address: str | None = None, timeout: float = 20.0, hlr_lines: Sequence[str] = (),
              gsup_lines: Sequence[str] = ()) -> OsmoHlr:
    """Start osmo-hlr on a fresh database in a new temp dir, on its own loopback address (or `address`).
    Returns once GSUP, VTY and CTRL accept connections. Raises OsmoHlrUnavailable."""
    binary = find_binary()
    if binary is None:
        raise OsmoHlrUnavailable(f"{BINARY} not found: {SETUP_HINT}")
    reap_stale()
    tried: set[str] = set()
    last_error = ""
    for _ in range(5):  # someone may bind our ports between the check and osmo-hlr's bind: try another address
        if address is not None:
            lock: IO[bytes] | None = None
            chosen = address
        else:
            chosen, lock = _claim(tried)
        tried.add(chosen)
        base = Path(tempfile.mkdtemp(prefix=PREFIX))
        (base / OWNER_FILE).write_text(f"{os.getpid()}\n")
        database = base / "hlr.db"
        (base / "osmo-hlr.cfg").write_text(config_text(chosen, database, hlr_lines, gsup_lines))
        with open(base / "osmo-hlr.log", "wb") as log:
            try:
                process = subprocess.Popen([str(binary), "-c", str(base / "osmo-hlr.cfg"), "-l", str(database)],
                                           cwd=base, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                           preexec_fn=_pdeathsig)
            except OSError as e:
                shutil.rmtree(base, ignore_errors=True)
                _release(lock)
                raise OsmoHlrUnavailable(f"cannot run {binary}: {e}") from None
        hlr = OsmoHlr(address=chosen, base=base, process=process, binary=binary, _lock=lock)
        try:
            why = _wait_ready(hlr, time.monotonic() + timeout)
        except BaseException:
            hlr.stop()
            raise
        if why is None:
            return hlr
        last_error = f"{why}; log: {hlr.log().strip()[-800:]}"
        hlr.stop()
        if address is not None or "bind" not in last_error.lower():
            break
    raise OsmoHlrUnavailable(f"osmo-hlr did not start: {last_error}")

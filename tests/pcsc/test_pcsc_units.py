"""PC/SC pieces that need no pcscd: ATR protocol choice, reader lookup, the vpcd reader entries, missing
pyscard, a dead or hung pcscd (never a hang), and the pytest plugin as another project sees it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from simtool.errors import EXIT_NO_CARD, InputError, NoCardError
from simtool.transport import vpcdconf
from simtool.transport.pcsc import atr_protocols, choose_protocol, resolve_reader

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


# --- ATR → protocol -------------------------------------------------------------------------------------------


def test_atr_protocols_and_choice() -> None:
    from simtool.fs import DEFAULT_MODEL

    assert atr_protocols(DEFAULT_MODEL.atr_t0) == [0]
    assert atr_protocols(DEFAULT_MODEL.atr_t1) == [1]
    sysmo = bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")  # TD1=80 T=0, TD2=1F T=15
    assert atr_protocols(sysmo) == [0]
    both = bytes.fromhex("3B909680011F")  # TA1, TD1=80 (T=0, TD2 follows), TD2=01 (T=1), TCK
    assert atr_protocols(both) == [0, 1]
    assert choose_protocol(both) == "T=0"  # pySim's choice: T=0 whenever offered
    assert choose_protocol(DEFAULT_MODEL.atr_t1) == "T=1"
    assert atr_protocols(bytes.fromhex("3B00")) == [0]  # no TD1: T=0 implied
    with pytest.raises(NoCardError):
        choose_protocol(bytes.fromhex("3B8002"))  # T=2 only


def test_resolve_reader() -> None:
    names = ["Virtual PCD 00 00", "Virtual PCD 00 01", "Virtual PCD 1 00 00", "ACS ACR38U 01 00"]
    assert resolve_reader("0", names) == "Virtual PCD 00 00"
    assert resolve_reader("3", names) == "ACS ACR38U 01 00"
    assert resolve_reader("Virtual PCD 00 00", names) == "Virtual PCD 00 00"
    assert resolve_reader("acr38", names) == "ACS ACR38U 01 00"  # case-insensitive fallback
    assert resolve_reader("PCD 1 ", names) == "Virtual PCD 1 00 00"
    with pytest.raises(InputError, match="ambiguous.*Virtual PCD 00 00; Virtual PCD 00 01"):
        resolve_reader("Virtual PCD 00", names)
    with pytest.raises(NoCardError, match="no reader matches.*0: Virtual PCD 00 00"):
        resolve_reader("Omnikey", names)
    with pytest.raises(NoCardError, match="no reader 7"):
        resolve_reader("7", names)
    with pytest.raises(NoCardError, match="no PC/SC reader"):
        resolve_reader("0", [])


# --- vpcd reader entries ---------------------------------------------------------------------------------------


def test_vpcd_config_entries() -> None:
    files = vpcdconf.reader_conf(5)
    assert list(files) == ["vpcd", "simtool-vpcd"]
    assert files["vpcd"] == ('FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x8C7B\n'
                             "LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x8C7B\n")
    extra = files["simtool-vpcd"]
    assert "0x8C7D" in extra and "0x8C7F" in extra and "0x8C81" not in extra
    assert "libifdvpcd-simtool-1.so" in extra and "libifdvpcd-simtool-2.so" in extra  # a copy per entry
    assert '"Virtual PCD 1"' in extra and '"Virtual PCD 2"' in extra
    assert list(vpcdconf.reader_conf(2)) == ["vpcd"]
    assert [vpcdconf.reader_name(s) for s in range(4)] == [
        "Virtual PCD 00 00", "Virtual PCD 00 01", "Virtual PCD 1 00 00", "Virtual PCD 1 00 01"]
    for s in range(8):
        assert vpcdconf.slot_of_reader(vpcdconf.reader_name(s)) == s
    assert vpcdconf.slot_of_reader("Virtual PCD 03 01") == 1  # pcscd numbered it differently: same slot
    assert vpcdconf.slot_of_reader("ACS ACR38U 00 00") is None


def test_vpcd_config_install_into_a_directory(tmp_path: Path) -> None:
    conf, drivers = tmp_path / "reader.conf.d", tmp_path / "drivers"
    drivers.mkdir()
    (drivers / "libifdvpcd.so.0.8").write_bytes(b"\x7fELF fake driver")
    (drivers / "libifdvpcd.so").symlink_to("libifdvpcd.so.0.8")
    written = vpcdconf.install(6, conf, drivers)
    assert (drivers / "libifdvpcd-simtool-1.so").read_bytes() == b"\x7fELF fake driver"
    assert (drivers / "libifdvpcd-simtool-2.so").exists()
    assert (conf / "vpcd").exists() and (conf / "simtool-vpcd").exists()
    assert str(drivers / "libifdvpcd-simtool-2.so") in (conf / "simtool-vpcd").read_text()
    assert len(written) == 4
    assert vpcdconf.installed_slots(conf) == [0, 1, 2, 3, 4, 5]
    assert vpcdconf.install(6, conf, drivers) == []  # idempotent
    vpcdconf.install(2, conf, drivers)
    assert not (conf / "simtool-vpcd").exists() and vpcdconf.installed_slots(conf) == [0, 1]


def test_vpcd_config_cli_prints_entries() -> None:
    r = subprocess.run([sys.executable, "-m", "simtool", "emulator", "vpcd-config", "--slots", "4"],
                       capture_output=True, text=True, env=_env(), timeout=30)
    assert r.returncode == 0
    assert "# --- /etc/reader.conf.d/vpcd" in r.stdout and "# --- /etc/reader.conf.d/simtool-vpcd" in r.stdout
    assert r.stdout.count("FRIENDLYNAME") == 2
    # the system-deps script runs the same file with the system Python, before simtool is installed
    r2 = subprocess.run([sys.executable, str(ROOT / "simtool/transport/vpcdconf.py"), "--slots", "4"],
                        capture_output=True, text=True, timeout=30, env={"PATH": os.environ.get("PATH", "")})
    assert r2.returncode == 0 and r2.stdout == r.stdout


# --- what is missing, and a pcscd that is down or hung ----------------------------------------------------------


def test_missing_pyscard_says_what_to_install(monkeypatch) -> None:
    from simtool.transport import open_reader
    from simtool.transport.pcsc import PcscUnavailable, list_readers

    monkeypatch.setitem(sys.modules, "smartcard", None)
    monkeypatch.setitem(sys.modules, "smartcard.scard", None)
    with pytest.raises(PcscUnavailable, match=r"pyscard.*make setup.*swig.*libpcsclite-dev") as e:
        open_reader("pcsc:0")
    assert e.value.exit_code == EXIT_NO_CARD
    with pytest.raises(PcscUnavailable):
        list_readers()


def test_missing_pyscard_cli_exit_3(tmp_path: Path) -> None:
    shadow = tmp_path / "smartcard"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('pyscard hidden for this test', name='smartcard')\n")
    env = _env()
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env['PYTHONPATH']}"
    r = subprocess.run([sys.executable, "-m", "simtool", "readers"], capture_output=True, text=True, env=env,
                       timeout=30)
    assert r.returncode == 3 and "pyscard" in r.stderr and "make setup" in r.stderr


def _have_pyscard() -> bool:
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return False
    return True


needs_pyscard = pytest.mark.skipif(not _have_pyscard() and os.environ.get("CI", "").lower() != "true",
                                   reason="pyscard is not installed")


@needs_pyscard
def test_pcscd_down_is_a_clear_error_at_once(tmp_path: Path) -> None:
    # libpcsclite finds pcscd through $PCSCLITE_CSOCK_NAME: point it where nothing listens
    env = _env(PCSCLITE_CSOCK_NAME=str(tmp_path / "nothing.comm"))
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "simtool", "readers", "--json"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode == 3 and "pcscd is not running" in r.stderr
    r = subprocess.run([sys.executable, "-m", "simtool", "read", "--reader", "pcsc:0"], capture_output=True,
                       text=True, env=env, timeout=30)
    assert r.returncode == 3 and "pcscd is not running" in r.stderr
    assert time.monotonic() - t < 20


@needs_pyscard
def test_hung_pcscd_gives_up_within_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "hung.comm"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(8)  # accepts connections (in the backlog) and never answers
    try:
        env = _env(PCSCLITE_CSOCK_NAME=str(path))
        t = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "simtool", "readers", "--timeout", "1"], capture_output=True,
                           text=True, env=env, timeout=30)
        took = time.monotonic() - t
        assert r.returncode == 3 and "no answer from pcscd within 1 s" in r.stderr
        assert took < 10
        code = ("from simtool.transport.pcsc import open_pcsc\n"
                "try:\n    open_pcsc('0', timeout=1.0)\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
        assert "NoCardError" in r.stdout and "within 1 s" in r.stdout
    finally:
        listener.close()


def test_watchdog_cuts_a_call_blocked_on_its_socket() -> None:
    """A call on the caller's own thread (the transmit path) blocked on the pcscd socket is cut off at the
    deadline by shutting that socket down; later calls fail at once; a call that returns in time is untouched."""
    from simtool.transport.pcsc import _socket_inodes, _Watchdog

    ours, peer = socket.socketpair()
    fired = threading.Event()
    try:
        dog = _Watchdog(ours.fileno(), _socket_inodes()[ours.fileno()], timeout=0.5, name="t", on_fire=fired.set)
        peer.send(b"x")
        assert dog.call(ours.recv, 1, timeout=0.5, what="r: transmit") == b"x"  # answered: passed through
        with pytest.raises(NoCardError, match="r: transmit: no answer from pcscd within 0.5 s"):
            dog.call(ours.recv, 1, timeout=0.5, what="r: transmit")  # pcscd never answers
        assert fired.is_set()
        with pytest.raises(NoCardError, match="an earlier PC/SC call never returned"):
            dog.call(pytest.fail, "a dead context must not be called", timeout=0.5, what="r: transmit")
        dog.stop()
    finally:
        ours.close()
        peer.close()


def test_watchdog_finds_only_a_lone_new_unix_socket() -> None:
    from simtool.transport.pcsc import _new_unix_socket, _socket_inodes

    before = _socket_inodes()
    a, b = socket.socketpair()
    try:
        assert _new_unix_socket(before) is None  # two new ones (both ends): no guessing
        before = _socket_inodes()
        c, d = socket.socketpair()
        b.close()
        with c, d:
            assert _new_unix_socket(before) is None
        listener = socket.socket(socket.AF_UNIX)
        with listener:
            listener.bind("")  # autobind: an abstract address
            listener.listen(1)
            before = _socket_inodes()
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(listener.getsockname())
                found = _new_unix_socket(before)
                assert found is not None and found[0] == client.fileno()
    finally:
        a.close()
        b.close()


# --- the pytest plugin, as another project uses it ----------------------------------------------------------------


def test_plugin_is_registered_and_light() -> None:
    import tomllib

    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert doc["project"]["entry-points"]["pytest11"] == {"simtool": "simtool.testing"}
    code = ("import sys, simtool.testing as t\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('smartcard', 'construct', 'cryptography') "
            "or m.startswith(('simtool.emulator', 'simtool.transport.pcsc'))]\n"
            "assert not heavy, heavy\n"
            "assert all(hasattr(t, n) for n in ('emulated_card', 'personalized_card', 'pcsc_card'))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=30)
    assert r.returncode == 0, r.stderr


def test_plugin_fixtures_in_a_foreign_project(tmp_path: Path) -> None:
    (tmp_path / "test_foreign.py").write_text(textwrap.dedent(f"""
        import pytest
        from simtool.commands import uicc

        def test_blank(emulated_card):
            assert emulated_card.send(uicc.select_fid(0x3F00)).ok
            assert emulated_card.protocol == "T=0"

        @pytest.mark.parametrize("emulated_card", [{{"protocol": "T=1"}}], indirect=True)
        def test_t1(emulated_card):
            assert emulated_card.protocol == "T=1"

        @pytest.mark.parametrize("personalized_card", [{str(ROOT / "profiles/kpn-wechat-4gb-28d.yaml")!r}],
                                 indirect=True)
        def test_personalized(personalized_card):
            from simtool.personalize.read import read_card
            doc = read_card(personalized_card.reader, adm=personalized_card.identity.adm1)
            assert doc["files"]["MF/ADF.USIM/EF.IMSI"]["value"] == "204080000000001"
            assert personalized_card.result.auth is not None
    """))
    installed = any(ep.name == "simtool" for ep in entry_points(group="pytest11"))
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_foreign.py"]
    if not installed:
        args[3:3] = ["-p", "simtool.testing"]
    r = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout


@pytest.mark.parametrize("ci", ["true", ""])
def test_pcsc_card_skips_without_pcscd_but_fails_in_ci(tmp_path: Path, ci: str) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent("""
        import simtool.testing.pcscd as p
        p.missing = lambda: ["pcscd is not installed (simulated)"]
    """))
    (tmp_path / "test_needs_pcscd.py").write_text("def test_it(pcsc_card):\n    assert pcsc_card\n")
    installed = any(ep.name == "simtool" for ep in entry_points(group="pytest11"))
    args = [sys.executable, "-m", "pytest", "-rsE", "-p", "no:cacheprovider", "test_needs_pcscd.py"]
    if not installed:
        args[3:3] = ["-p", "simtool.testing"]
    r = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=_env(CI=ci), timeout=120)
    if ci:
        assert r.returncode == 1, r.stdout
        assert "PC/SC end-to-end tests cannot run and CI=true: pcscd is not installed (simulated)" in r.stdout
    else:
        assert r.returncode == 0, r.stdout
        assert "1 skipped" in r.stdout and "pcscd is not installed (simulated)" in r.stdout


def test_plugin_marks_tests_by_fixture_and_runs_pcscd_restarts_last(tmp_path: Path) -> None:
    """`-m "not pcsc"` / `-m "not postgres"` leave out the tests that need them (by fixture, also through another
    fixture), and a `pcscd_restart` test runs after every other one."""
    (tmp_path / "test_marks.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.fixture
        def through(pcsc_card):
            return pcsc_card

        @pytest.mark.pcscd_restart
        def test_a_restart(simtool_pcscd): pass
        def test_b_card(pcsc_card): pass
        def test_c_indirect(through): pass
        def test_d_db(postgres_url): pass
        def test_e_plain(): pass
    """))
    installed = any(ep.name == "simtool" for ep in entry_points(group="pytest11"))

    def collect(*extra: str) -> list[str]:
        args = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *extra, "test_marks.py"]
        if not installed:
            args[3:3] = ["-p", "simtool.testing"]
        r = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120)
        assert r.returncode in (0, 5), r.stdout + r.stderr
        return [line.split("::")[1] for line in r.stdout.splitlines() if "::" in line]

    assert collect() == ["test_b_card", "test_c_indirect", "test_d_db", "test_e_plain", "test_a_restart"]
    assert collect("-m", "not pcsc") == ["test_d_db", "test_e_plain"]
    assert collect("-m", "not postgres and not pcsc") == ["test_e_plain"]
    assert collect("-m", "postgres") == ["test_d_db"]


_HOLD_SHARED = """
import sys
from simtool.testing.pcscd import PcscUnavailable, pcscd_shared
try:
    with pcscd_shared(timeout=float(sys.argv[1])):
        print("in", flush=True)
        sys.stdin.readline()
except PcscUnavailable as e:
    print(e, flush=True)
    sys.exit(7)
"""


def test_pcscd_locks_protect_other_sessions_cards(tmp_path: Path, monkeypatch) -> None:
    """A restart (pcscd_exclusive) waits for another session's cards (pcscd_shared) whatever its $TMPDIR; while
    it waits no new card goes in (the gate), so it is not starved; while it holds pcscd no other session's card
    goes in."""
    from simtool.testing import pcscd

    monkeypatch.delenv("SIMTOOL_PCSCD_LOCKS", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert pcscd.lock_dir() == pcscd.LOCK_DIR  # one pcscd per machine: one place for its locks
    locks = tmp_path / "locks"  # not the machine's: real sessions of other people keep theirs
    monkeypatch.setenv("SIMTOOL_PCSCD_LOCKS", str(locks))

    def session(timeout: float) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", _HOLD_SHARED, str(timeout)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True,
                                env=_env(SIMTOOL_PCSCD_LOCKS=str(locks), TMPDIR=str(tmp_path)))

    other = session(5)
    try:
        assert other.stdout.readline() == "in\n"  # another session has a card in
        with pytest.raises(pcscd.PcscUnavailable, match="stayed in use"), pcscd.pcscd_exclusive(timeout=0.3):
            pass
        # A restart that waits holds the gate: a new session's card must wait behind it.
        gate_taken, acquired = threading.Event(), threading.Event()
        real = pcscd._flock

        def flock(fd: int, mode: int, timeout: float) -> bool:
            ok = real(fd, mode, timeout)
            gate_taken.set()  # the first lock a restart takes is the gate
            return ok

        monkeypatch.setattr(pcscd, "_flock", flock)

        def restart() -> None:
            with pcscd.pcscd_exclusive(timeout=30):
                acquired.set()
                release.wait(30)

        release = threading.Event()
        waiter = threading.Thread(target=restart)
        waiter.start()
        assert gate_taken.wait(10)
        late = session(0.3)
        assert late.wait(30) == 7 and "being restarted" in late.stdout.read()
        assert not acquired.is_set()
        other.stdin.write("\n")  # the other session's card goes out: the restart may go on
        other.stdin.flush()
        assert other.wait(10) == 0 and acquired.wait(10)
        blocked = session(0.3)  # pcscd held for a restart: no other session's card goes in
        assert blocked.wait(30) == 7
        release.set()
        waiter.join(10)
        after = session(5)
        assert after.stdout.readline() == "in\n"  # restart done: cards go in again
        after.stdin.write("\n")
        after.stdin.flush()
        assert after.wait(10) == 0
    finally:
        for p in (other,):
            if p.poll() is None:
                p.kill()
                p.wait()

"""The osmo-hlr fixture (simtool.testing.osmohlr): a real osmo-hlr per test on its own loopback address, a fresh
database each time, stopped and removed afterwards; skipped with the reason without the binary, failed in CI."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from simtool.testing import osmohlr

ROOT = Path(__file__).resolve().parents[2]


def _banner(address: tuple[str, int]) -> bytes:
    """The VTY's greeting up to its first prompt (raw, IAC bytes included)."""
    with socket.create_connection(address, timeout=5) as s:
        buf = b""
        while not buf.endswith(b"OsmoHLR> "):
            chunk = s.recv(4096)
            assert chunk, buf
            buf += chunk
        return buf


def _vty(address: tuple[str, int], *commands: str) -> bytes:
    """Send commands after `enable`; everything the VTY answered up to the last prompt."""
    with socket.create_connection(address, timeout=5) as s:
        buf = b""
        for cmd in ("enable", *commands, None):
            while not buf.endswith((b"OsmoHLR> ", b"OsmoHLR# ")):
                chunk = s.recv(4096)
                assert chunk, buf
                buf += chunk
            if cmd is None:
                return buf
            s.sendall(cmd.encode() + b"\n")
            buf += b"|"  # keeps the last prompt from matching again before the answer arrives
    raise AssertionError("unreachable")


def test_fixture_runs_osmo_hlr_on_its_own_loopback_address(osmo_hlr: osmohlr.OsmoHlr) -> None:
    assert osmo_hlr.address.startswith("127.42.")
    assert osmo_hlr.running()
    assert osmo_hlr.vty_address == f"{osmo_hlr.address}:4258" and osmo_hlr.gsup_address == f"{osmo_hlr.address}:4222"
    for addr in (osmo_hlr.gsup, osmo_hlr.vty, osmo_hlr.ctrl):
        socket.create_connection(addr, timeout=5).close()
    banner = _banner(osmo_hlr.vty)
    assert banner.startswith(b"Welcome to the OsmoHLR VTY interface")
    assert b"\xff\xfb\x01\xff\xfb\x03" in banner  # WILL ECHO, WILL SGA (specfacts-network-esim §10.3)
    cfg = osmo_hlr.config.read_text()
    assert f" bind {osmo_hlr.address}\n" in cfg and f"  bind ip {osmo_hlr.address}\n" in cfg
    with sqlite3.connect(osmo_hlr.database) as db:  # a fresh schema-6 database, no subscriber
        assert db.execute("PRAGMA user_version").fetchone() == (6,)
        assert db.execute("SELECT count(*) FROM subscriber").fetchone() == (0,)


def test_two_instances_have_separate_addresses_and_databases(osmo_hlr_factory) -> None:
    a, b = osmo_hlr_factory(), osmo_hlr_factory()
    assert a.address != b.address and a.base != b.base
    out = _vty(a.vty, "subscriber imsi 001010000000001 create")
    assert b"% Created subscriber 001010000000001" in out
    assert b"% No subscriber for imsi = '001010000000001'" in _vty(b.vty, "subscriber imsi 001010000000001 show")
    with sqlite3.connect(a.database) as da, sqlite3.connect(b.database) as dbb:
        assert da.execute("SELECT imsi FROM subscriber").fetchall() == [("001010000000001",)]
        assert dbb.execute("SELECT imsi FROM subscriber").fetchall() == []


def test_extra_config_lines_reach_osmo_hlr(osmo_hlr_factory) -> None:
    hlr = osmo_hlr_factory(hlr_lines=["subscriber-create-on-demand 5 cs+ps"], gsup_lines=["ipa-name TEST-HLR"])
    out = _vty(hlr.vty, "show running-config")
    assert b"subscriber-create-on-demand 5 cs+ps" in out and b"ipa-name TEST-HLR" in out


def test_stop_ends_the_process_removes_the_directory_and_frees_the_address() -> None:
    try:
        hlr = osmohlr.start_hlr()
    except osmohlr.OsmoHlrUnavailable as e:
        if osmohlr.in_ci():
            pytest.fail(str(e))
        pytest.skip(str(e))
    base, address = hlr.base, hlr.address
    hlr.stop()
    hlr.stop()  # idempotent
    assert hlr.process.poll() is not None and not base.exists()
    with pytest.raises(OSError):
        socket.create_connection((address, osmohlr.VTY_PORT), timeout=2).close()
    again = osmohlr.start_hlr(address=address)  # the address is free again
    try:
        assert again.running() and again.address == address
    finally:
        again.stop()


def test_missing_binary_is_unavailable_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMTOOL_OSMO_HLR", "/nonexistent/osmo-hlr")
    with pytest.raises(osmohlr.OsmoHlrUnavailable, match="not found: install Debian's osmo-hlr package"):
        osmohlr.start_hlr()


@pytest.mark.parametrize("ci", ["true", ""])
def test_osmo_hlr_fixture_skips_without_the_binary_but_fails_in_ci(tmp_path: Path, ci: str) -> None:
    (tmp_path / "test_needs_hlr.py").write_text(textwrap.dedent("""
        def test_it(osmo_hlr):
            assert osmo_hlr

        def test_marked(request, osmo_hlr_factory):
            assert request.node.get_closest_marker("osmo_hlr")
            osmo_hlr_factory()
    """))
    installed = any(ep.name == "simtool" for ep in entry_points(group="pytest11"))
    args = [sys.executable, "-m", "pytest", "-rsE", "-p", "no:cacheprovider", "test_needs_hlr.py"]
    if not installed:
        args[3:3] = ["-p", "simtool.testing"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "SIMTOOL_OSMO_HLR": "/nonexistent/osmo-hlr", "CI": ci}
    r = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    if ci:
        assert r.returncode == 1 and "1 failed, 1 error" in r.stdout, r.stdout
        assert "osmo-hlr tests cannot run and CI=true: /usr/bin/osmo-hlr not found" in r.stdout
    else:
        assert r.returncode == 0, r.stdout
        assert "2 skipped" in r.stdout and "osmo-hlr not usable: /usr/bin/osmo-hlr not found" in r.stdout


def test_marker_deselects_by_fixture(tmp_path: Path) -> None:
    (tmp_path / "test_m.py").write_text("def test_hlr(osmo_hlr_factory):\n    pass\n\ndef test_plain():\n    pass\n")
    installed = any(ep.name == "simtool" for ep in entry_points(group="pytest11"))
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not osmo_hlr", "test_m.py"]
    if not installed:
        args[3:3] = ["-p", "simtool.testing"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0 and "1 passed, 1 deselected" in r.stdout, r.stdout

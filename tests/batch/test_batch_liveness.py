"""Station liveness: the pure rule, and /proc on real processes (a child killed by SIGKILL and not reaped is a
zombie, and dead; reaped, dead; alive, alive; its pid with another start time, dead)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from simtool.batch.liveness import ProcState, Station, is_dead, owner_dead, parse_station, proc_state, station_id

HOST = "vm"


def _dead(owner: str, procs: dict[int, ProcState], live_here=()) -> bool:
    return owner_dead(owner, host=HOST, pid=1, live_here=live_here, probe=procs.get)


def test_station_ids_old_and_new():
    assert parse_station("vm:42:123456:abcdef") == Station("vm", 42, 123456, "abcdef")
    assert parse_station("vm:42:abcdef") == Station("vm", 42, None, "abcdef")  # before start times
    assert parse_station("ops@host") is None and parse_station("vm:x:1:2") is None
    host, pid, start, nonce = station_id().split(":")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid()) and len(nonce) == 6
    assert int(start) == proc_state(os.getpid()).start


def test_the_rule():
    procs = {42: ProcState("S", 500), 43: ProcState("Z", 600), 44: ProcState("R", None)}
    assert not _dead("vm:42:500:aaaaaa", procs)  # running, same start
    assert _dead("vm:42:499:aaaaaa", procs)  # the pid now belongs to a process started at another time
    assert not _dead("vm:42:aaaaaa", procs)  # an old id: only whether the pid lives
    assert _dead("vm:43:600:aaaaaa", procs) and _dead("vm:43:aaaaaa", procs)  # a zombie: killed, not reaped
    assert _dead("vm:45:700:aaaaaa", procs)  # gone
    assert not _dead("vm:44:700:aaaaaa", procs)  # no start time to compare (no /proc): alive
    assert not _dead("other:45:700:aaaaaa", procs)  # another host: only its lease timeout tells
    assert not _dead("ops@host", procs)
    assert _dead("vm:1:9:aaaaaa", procs)  # this process, but not one of its stations: an earlier run
    assert not _dead("vm:1:9:aaaaaa", procs, live_here={"vm:1:9:aaaaaa"})


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_real_processes_killed_reaped_alive_and_reused():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        start = proc_state(child.pid).start
        owner = f"{socket.gethostname()}:{child.pid}:{start}:cccccc"
        assert not is_dead(owner)
        assert is_dead(f"{socket.gethostname()}:{child.pid}:{start + 1}:cccccc")  # pid reused: another start
        os.kill(child.pid, signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # wait for it to die, leaving it unreaped
        assert proc_state(child.pid).state == "Z"
        assert is_dead(owner)  # a zombie holds its pid, but the station is gone
    finally:
        child.wait()
        child.stdin.close()
    assert proc_state(child.pid) is None
    assert is_dead(owner)

"""Is the station that holds a lease still running? Station ids, and the rule for stations on this host.

A station id is ``host:pid:starttime:nonce``: the process start time (``/proc/PID/stat`` field 22, clock
ticks since boot) tells a live station from a later process that got its pid. Old ids ``host:pid:nonce``
are still read (without a start time). A station on this host is dead when its process is gone, is a
zombie (killed, not yet reaped by its parent: ``kill -9`` of a background job), or its pid now belongs to a
process that started at another time. A station on another host is never judged here: only its lease
timeout tells. `owner_dead` is the pure rule; `proc_state` reads /proc.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Station:
    host: str
    pid: int
    start: int | None  # None: an id from before start times were recorded
    nonce: str


@dataclass(frozen=True)
class ProcState:
    state: str  # /proc/PID/stat field 3: R, S, D, Z (zombie), X (dead), ...
    start: int | None  # field 22; None where there is no /proc


def parse_station(owner: str) -> Station | None:
    """The parts of a station id, or None for an id that is not one of ours."""
    parts = owner.split(":")
    if len(parts) == 3 and parts[1].isdigit():
        return Station(parts[0], int(parts[1]), None, parts[2])
    if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
        return Station(parts[0], int(parts[1]), int(parts[2]), parts[3])
    return None


def owner_dead(owner: str, *, host: str, pid: int, live_here: Collection[str],
               probe: Callable[[int], ProcState | None]) -> bool:
    """Whether station `owner` is known dead, seen from process `pid` on `host` whose running stations are
    `live_here`; `probe(pid)` is the process's state, None when there is no such process."""
    st = parse_station(owner)
    if st is None or st.host != host:
        return False  # another host (or not our id): only its lease timeout can tell
    if owner in live_here:
        return False
    if st.pid == pid:
        return True  # this process, but not one of its running stations: an earlier run, or a reused pid
    proc = probe(st.pid)
    if proc is None or proc.state in ("Z", "X"):
        return True
    return st.start is not None and proc.start is not None and proc.start != st.start


def _stat_fields(text: str) -> list[str]:
    """Fields 3.. of /proc/PID/stat (field 2, the command name, may hold spaces and parentheses)."""
    return text[text.rindex(")") + 2 :].split()


def proc_state(pid: int) -> ProcState | None:
    """The state and start time of process `pid` from /proc; None when it does not exist. Without /proc
    (not Linux), a signal 0 tells whether it exists, and the start time is unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = _stat_fields(fh.read())
        return ProcState(fields[0], int(fields[19]))
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
    except (OSError, ValueError, IndexError):
        return ProcState("?", None)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ProcState("?", None)


def pid_running(pid: int) -> bool:
    """Process `pid` exists and is not a zombie (a killed child nobody reaped still answers signal 0)."""
    st = proc_state(pid)
    return st is not None and st.state not in ("Z", "X")


def station_id() -> str:
    """A new id for a station in this process: ``host:pid:starttime:nonce`` (``host:pid:nonce`` without /proc)."""
    pid = os.getpid()
    me = proc_state(pid)
    start = f"{me.start}:" if me is not None and me.start is not None else ""
    return f"{socket.gethostname()}:{pid}:{start}{secrets.token_hex(3)}"


def is_dead(owner: str, live_here: Collection[str] = ()) -> bool:
    """`owner_dead` for this process on this host, reading /proc."""
    return owner_dead(owner, host=socket.gethostname(), pid=os.getpid(), live_here=live_here, probe=proc_state)

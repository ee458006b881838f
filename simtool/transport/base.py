"""`Reader`: the one object higher layers talk to a card through, whatever carries the bytes.

A transport only moves raw APDU bytes; `Reader` adds T=0/T=1 handling (via `simtool.commands`),
APDU and byte counters per phase, the masked trace and latency injection for benchmarks, and the ADM guard
(`commands.admguard`): every command that presents an ADM key, from any caller, goes through it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from simtool.commands import admguard
from simtool.commands.apdu import Apdu, Response
from simtool.commands.exchange import run
from simtool.commands.trace import Tracer


def secret_files() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """FIDs and SFIs of the files no trace may show (key, PIN and OTA key files), over every card model:
    a `Reader` masks them even when nobody told it which card it talks to."""
    from simtool.fs.cardmodel import MODELS

    efs = [e.ef for m in MODELS.values() for e in m.fs.efs() if e.ef.secret]
    return tuple(sorted({ef.fid for ef in efs})), tuple(sorted({ef.sfi for ef in efs if ef.sfi is not None}))


class Transport(Protocol):
    """Raw bytes in, raw bytes out. `protocol` is "T=0" or "T=1", taken from the ATR.

    `name`, `atr` and `protocol` are read-only to users: a transport may keep them as attributes
    (PC/SC, refreshed on reset) or derive them (the emulated card's own ATR)."""

    @property
    def name(self) -> str: ...

    @property
    def atr(self) -> bytes: ...

    @property
    def protocol(self) -> str: ...

    def transmit(self, apdu: bytes) -> bytes: ...

    def reset(self) -> bytes: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Counter:
    apdus: int = 0
    bytes_out: int = 0
    bytes_in: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"apdus": self.apdus, "bytes_out": self.bytes_out, "bytes_in": self.bytes_in}


@dataclass
class Reader:
    transport: Transport
    latency_ms: float = 0.0
    trace: Callable[[str], None] | None = None
    secret_fids: tuple[int, ...] | None = None  # None: the secret files of every known card model
    secret_sfis: tuple[int, ...] | None = None
    total: Counter = field(default_factory=Counter)
    phases: dict[str, Counter] = field(default_factory=dict)
    phase: str = "other"
    adm_guard: admguard.AdmGuard = field(default_factory=admguard.AdmGuard)

    def __post_init__(self) -> None:
        fids, sfis = secret_files()
        if self.secret_fids is None:
            self.secret_fids = fids
        if self.secret_sfis is None:
            self.secret_sfis = sfis
        self._tracer = (Tracer(write=self.trace, secret_fids=self.secret_fids, secret_sfis=self.secret_sfis)
                        if self.trace else None)

    @property
    def name(self) -> str:
        return self.transport.name

    @property
    def atr(self) -> bytes:
        return self.transport.atr

    @property
    def protocol(self) -> str:
        return self.transport.protocol

    def set_phase(self, name: str) -> None:
        self.phase = name
        self.phases.setdefault(name, Counter())

    def _send_raw(self, raw: bytes) -> bytes:
        # The hot path of every APDU: straight-line, no per-call allocations beyond the response.
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        tracer = self._tracer
        if tracer:
            tracer.command(raw)
        resp = self.transport.transmit(raw)
        if tracer:
            tracer.response(resp)
        n_out, n_in = len(raw), len(resp)
        c = self.total
        c.apdus += 1
        c.bytes_out += n_out
        c.bytes_in += n_in
        p = self.phases.get(self.phase)
        if p is None:
            p = self.phases[self.phase] = Counter()
        p.apdus += 1
        p.bytes_out += n_out
        p.bytes_in += n_in
        return resp

    def send(self, apdu: Apdu) -> Response:
        """Send one command, following 61xx/6Cxx under T=0, and return the final response. A command that
        presents an ADM key is sent only if the ADM guard lets it (else GuardError, exit 4)."""
        if apdu.ins not in admguard.PRESENTING_INS or (ref := admguard.adm_key_ref(apdu)) is None:
            return run(apdu, self.protocol, self._send_raw)  # the fast path: nothing the guard looks at
        query = run(admguard.tries_query(apdu), self.protocol, self._send_raw)
        self.adm_guard.check(self.name, ref, apdu.data, query.sw)
        resp = run(apdu, self.protocol, self._send_raw)
        self.adm_guard.record(ref, apdu.data, resp.sw)
        return resp

    def reset(self) -> bytes:
        return self.transport.reset()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: c.as_dict() for name, c in self.phases.items() if c.apdus}

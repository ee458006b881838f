"""`Reader`: the one object higher layers talk to a card through, whatever carries the bytes.

A transport only moves raw APDU bytes; `Reader` adds T=0/T=1 handling (via `simtool.commands`),
APDU and byte counters per phase, the masked trace and latency injection for benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from simtool.commands.apdu import Apdu, Response
from simtool.commands.exchange import run
from simtool.commands.trace import Tracer


class Transport(Protocol):
    """Raw bytes in, raw bytes out. `protocol` is "T=0" or "T=1", taken from the ATR."""

    name: str
    atr: bytes
    protocol: str

    def transmit(self, apdu: bytes) -> bytes: ...

    def reset(self) -> bytes: ...

    def close(self) -> None: ...


@dataclass
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
    secret_fids: tuple[int, ...] = ()
    total: Counter = field(default_factory=Counter)
    phases: dict[str, Counter] = field(default_factory=dict)
    phase: str = "other"

    def __post_init__(self) -> None:
        self._tracer = Tracer(write=self.trace, secret_fids=self.secret_fids) if self.trace else None

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
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        if self._tracer:
            self._tracer.command(raw)
        resp = self.transport.transmit(raw)
        if self._tracer:
            self._tracer.response(resp)
        for c in (self.total, self.phases.setdefault(self.phase, Counter())):
            c.apdus += 1
            c.bytes_out += len(raw)
            c.bytes_in += len(resp)
        return resp

    def send(self, apdu: Apdu) -> Response:
        """Send one command, following 61xx/6Cxx under T=0, and return the final response."""
        return run(apdu, self.protocol, self._send_raw)

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

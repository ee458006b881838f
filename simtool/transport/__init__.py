"""Transports: bytes in, bytes out. `open_reader(uri)` is how every higher layer gets a card.

URIs: `emu:` (a throw-away card in memory), `emu:PATH` (an emulated card's state file),
`pcsc:N` / `pcsc:NAME` (a PC/SC reader by index or unique name substring). A `?latency_ms=N` query
adds a delay per APDU for realistic benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from simtool.errors import InputError
from simtool.transport.base import Counter, Reader, Transport

__all__ = ["Counter", "Reader", "Transport", "open_reader", "parse_uri"]


def parse_uri(uri: str) -> tuple[str, str, dict[str, str]]:
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme not in ("emu", "pcsc"):
        raise InputError(f"--reader {uri!r}: expected emu:PATH, emu:, pcsc:N or pcsc:NAME")
    target, _, query = rest.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    return scheme, target, params


def open_reader(uri: str, *, trace: Callable[[str], None] | None = None, shared: bool = False,
                latency_ms: float | None = None, timeout: float = 10.0) -> Reader:
    """A `Reader` on the card behind `uri`. Raises NoCardError (exit 3) when there is none."""
    from simtool.fs.cardmodel import MODELS

    scheme, target, params = parse_uri(uri)
    transport: Transport
    if scheme == "emu":
        from simtool.transport.emulated import open_emulated

        transport = open_emulated(target, params)
    else:
        from simtool.transport.pcsc import open_pcsc

        transport = open_pcsc(target, shared=shared, timeout=timeout)
    try:
        lat = float(params.get("latency_ms", latency_ms or 0))
    except ValueError:
        raise InputError(f"--reader {uri!r}: latency_ms must be a number") from None
    secret_fids = tuple(sorted({e.ef.fid for m in MODELS.values() for e in m.fs.efs() if e.ef.secret}))
    return Reader(transport, latency_ms=lat, trace=trace, secret_fids=secret_fids)

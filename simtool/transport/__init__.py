"""Transports: bytes in, bytes out. `open_reader(uri)` is how every higher layer gets a card.

URIs: `emu:` (a throw-away card in memory), `emu:PATH` (an emulated card's state file),
`pcsc:N` / `pcsc:NAME` (a PC/SC reader by index or unique name substring). A `?latency_ms=N` query
adds a delay per APDU for realistic benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from simtool.errors import InputError, NoCardError
from simtool.transport.base import Counter, Reader, Transport

__all__ = ["Counter", "Reader", "Transport", "open_reader", "parse_uri"]


def parse_uri(uri: str) -> tuple[str, str, dict[str, str]]:
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme not in ("emu", "pcsc"):
        raise InputError(f"--reader {uri!r}: expected emu:PATH, emu:, pcsc:N or pcsc:NAME")
    target, _, query = rest.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(params) - EMU_PARAMS) if scheme == "emu" else []
    if unknown:
        raise InputError(f"--reader {uri!r}: unknown parameter {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(EMU_PARAMS))})")
    if scheme == "emu" and target and set(params) - {"latency_ms"}:
        raise InputError(f"--reader {uri!r}: adm_hex, iccid and protocol only apply to a card in memory (emu:); "
                         "a card file keeps its own")
    return scheme, target, params


EMU_PARAMS = frozenset({"latency_ms", "adm_hex", "iccid", "protocol"})
MAX_LATENCY_MS = 60_000.0


def latency_ms_of(uri: str, params: dict[str, str], default: float | None = None) -> float:
    """The `latency_ms=` of a reader URI (any scheme, `emu-feed:` too): 0 to 60000 ms, or InputError."""
    text = params.get("latency_ms")
    try:
        lat = float(text) if text is not None else float(default or 0)
    except ValueError:
        lat = -1.0
    if not 0 <= lat <= MAX_LATENCY_MS:  # also refuses nan
        raise InputError(f"--reader {uri!r}: latency_ms must be a number of milliseconds from 0 to "
                         f"{MAX_LATENCY_MS:.0f}, got {text!r}")
    return lat


def check_uri_params(uri: str) -> None:
    """The checks on a reader URI's query that need no card, whatever the scheme (for parse time)."""
    _, _, query = uri.partition("?")
    latency_ms_of(uri, dict(parse_qsl(query, keep_blank_values=True)))


def open_reader(uri: str, *, trace: Callable[[str], None] | None = None, shared: bool = False,
                latency_ms: float | None = None, timeout: float = 10.0) -> Reader:
    """A `Reader` on the card behind `uri`. Raises NoCardError (exit 3) when there is none."""
    latency = latency_ms
    scheme, target, params = parse_uri(uri)
    transport: Transport
    lat = latency_ms_of(uri, params, latency)
    if scheme == "emu":
        from simtool.transport.emulated import open_emulated

        transport = open_emulated(target, params)
    else:
        try:
            from simtool.transport.pcsc import open_pcsc
        except ModuleNotFoundError as e:
            if e.name not in ("simtool.transport.pcsc", "smartcard"):
                raise
            raise NoCardError(f"--reader {uri}: PC/SC support is not available here ({e.name} is missing; "
                              "`make setup` as root installs pyscard and pcscd)") from None
        transport = open_pcsc(target, shared=shared, timeout=timeout)
    return Reader(transport, latency_ms=lat, trace=trace)  # masks the secret files of every known model

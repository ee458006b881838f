"""The one place where T=0 / T=1 transmission rules live, sans-I/O (in the manner of h11).

`transact()` is a generator: it yields the raw command bytes to send, is sent the raw response bytes,
and finally returns the `Response` the caller asked for, with `exchanges` = APDUs that crossed the wire.
A transport only moves bytes; `run()` drives the generator with its send function:

    response = run(select_fid(0x6F07, fcp=True), "T=0", transport.transmit)

Rules (ISO/IEC 7816-3 transport of APDUs over T=0, ISO/IEC 7816-4 status words, specfacts §4.5):
* T=0 has no Le on a case-4 command: it is sent as case 3 and the data is fetched with GET RESPONSE.
* `61xx` (and the GSM `9Fxx`): xx more bytes available → GET RESPONSE with Le=xx; data of several
  `61xx` rounds is concatenated.
* `6Cxx`: wrong Le → the same command again with Le=xx (under T=0 a command with data cannot carry Le,
  so then GET RESPONSE with Le=xx).
* T=0 case 4 ending with a warning (`62xx`/`63xx`) and no data: GET RESPONSE with Le=00 fetches the
  data that goes with the warning; the final SW is the warning.
* T=1 sends the command unchanged. The `61xx`/`6Cxx` rules are ISO 7816-4, not T=0 specifics, so a
  card that answers them over T=1 is followed too.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Literal

from simtool.commands.apdu import Apdu, Response, channel_of, cla_with_channel
from simtool.errors import CardError

Protocol = Literal["T=0", "T=1"]

INS_GET_RESPONSE = 0xC0
MAX_EXCHANGES = 64  # 64 GET RESPONSEs move 16 KiB: far more than any UICC command returns


class ExchangeError(CardError):
    """The card kept asking for more rounds (61xx/6Cxx) than any real command needs."""


def normalize_protocol(protocol: str | int) -> Protocol:
    """Accept "T=0", "T0", "t=1", 0, 1 ... and return "T=0" or "T=1"."""
    text = str(protocol).strip().upper().replace("=", "")
    if text in ("T0", "0"):
        return "T=0"
    if text in ("T1", "1"):
        return "T=1"
    raise ValueError(f"protocol must be T=0 or T=1, got {protocol!r}")


def get_response_cla(cla: int) -> int:
    """Class byte for GET RESPONSE after a command with class `cla`: ISO class, same logical channel.

    A class without channel coding (GSM `A0`) is kept as it is, as GSM 11.11 SIMs expect.
    """
    try:
        return cla_with_channel(0x00, channel_of(cla))
    except ValueError:
        return cla


def transact(
    apdu: Apdu, protocol: str | int = "T=1", *, max_exchanges: int = MAX_EXCHANGES
) -> Generator[bytes, bytes, Response]:
    """Yield command bytes, receive response bytes, return the final Response (see module doc)."""
    t0 = protocol == "T=0" or (protocol != "T=1" and normalize_protocol(protocol) == "T=0")
    command = apdu.replace(le=None) if t0 and apdu.case == 4 else apdu
    gr_cla = -1  # GET RESPONSE's class, worked out when a 61xx/6Cxx first asks for one
    collected = b""
    warning: int | None = None
    exchanges = 0
    first = True
    while True:
        if exchanges >= max_exchanges:
            raise ExchangeError(
                f"no final status word after {exchanges} exchanges (card keeps answering 61xx/6Cxx)"
            )
        raw = yield command.to_bytes()
        exchanges += 1
        resp = Response.from_bytes(raw)
        sw1, sw2 = resp.sw1, resp.sw2
        if gr_cla < 0 and sw1 in (0x61, 0x9F, 0x6C, 0x62, 0x63):
            gr_cla = get_response_cla(apdu.cla)
        if sw1 in (0x61, 0x9F):
            collected += resp.data
            command = Apdu(gr_cla, INS_GET_RESPONSE, 0x00, 0x00, b"", sw2 or 256)
        elif sw1 == 0x6C:
            if t0 and command.data:
                command = Apdu(gr_cla, INS_GET_RESPONSE, 0x00, 0x00, b"", sw2 or 256)
            else:
                command = command.replace(le=sw2 or 256)
        elif t0 and first and apdu.case == 4 and sw1 in (0x62, 0x63) and not resp.data:
            warning = resp.sw
            command = Apdu(gr_cla, INS_GET_RESPONSE, 0x00, 0x00, b"", 256)
        elif warning is not None:
            # The data that went with the warning, if the card had any; the warning stays the outcome.
            return Response(collected + resp.data if resp.ok else collected, warning, exchanges)
        else:
            return Response(collected + resp.data, resp.sw, exchanges)
        first = False


def run(apdu: Apdu, protocol: str | int, send: Callable[[bytes], bytes]) -> Response:
    """Drive `transact` with a blocking `send(command_bytes) -> response_bytes` (a transport's transmit)."""
    gen = transact(apdu, protocol)
    try:
        raw = next(gen)
        while True:
            raw = gen.send(send(raw))
    except StopIteration as stop:
        result: Response = stop.value
        return result

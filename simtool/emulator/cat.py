"""The card's CAT runtime (TS 102 221 §11.2, TS 102 223, TS 31.111): proactive UICC for the plan applet.

Commands it answers (CLA 80): TERMINAL PROFILE (10), FETCH (12), TERMINAL RESPONSE (14), ENVELOPE (C2)
with MENU SELECTION (D3), EVENT DOWNLOAD (D6) and SMS-PP DATA DOWNLOAD (D1). When a proactive command
waits and no other one is running, a normal ending `9000` of any command becomes `91xx` (xx its length),
from the TERMINAL PROFILE on; the terminal FETCHes it and answers with a TERMINAL RESPONSE.

Proactive commands are built here from the facts (specfacts §5); text goes as GSM 7-bit (packed for a
text string, unpacked for alpha identifiers and items) when every character has a GSM code, else as UCS2,
chosen per string. Only the codings are shared with the terminal's side (`simtool.commands.cat`):
COMPREHENSION-TLV (`encoding.ctlv`), GSM 7-bit (`encoding.gsm7`), alpha fields and status words; what
is sent when and what an answer means is written here alone.

The runtime keeps only RAM state (terminal profile, queue, the command awaiting its response), lost at
reset as on a real card; the applet's durable state lives in its files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simtool.emulator.ota import SmsError
from simtool.emulator.port import CardPort
from simtool.encoding import gsm7
from simtool.encoding.ctlv import CtlvError, ctlv, parse_ctlv
from simtool.encoding.sw import SW, SW1, counted
from simtool.encoding.types import EncodeError, alpha_encode

OK = SW.OK.raw  # read on every APDU (`after`): a global, not an enum attribute

# Type of command (TS 102 223 §9.4)
SET_UP_EVENT_LIST = 0x05
LAUNCH_BROWSER = 0x15
DISPLAY_TEXT = 0x21
SELECT_ITEM = 0x24
SET_UP_MENU = 0x25
PROVIDE_LOCAL_INFO = 0x26

# Device identities
UICC, TERMINAL, DISPLAY, KEYPAD, NETWORK = 0x81, 0x82, 0x02, 0x01, 0x83

# COMPREHENSION-TLV tags (without the CR bit)
T_COMMAND_DETAILS = 0x01
T_DEVICE_IDS = 0x02
T_RESULT = 0x03
T_ALPHA = 0x05
T_TEXT = 0x0D
T_ITEM = 0x0F
T_ITEM_ID = 0x10
T_LOCATION_INFO = 0x13
T_LOCATION_STATUS = 0x1B
T_EVENT_LIST = 0x19
T_DATE_TIME = 0x26
T_LANGUAGE = 0x2D
T_URL = 0x31


def ber(data: bytes) -> tuple[int, bytes]:
    """The single BER-TLV of an ENVELOPE: (tag, value); ValueError when it is not exactly one."""
    if len(data) < 2:
        raise ValueError("too short")
    tag, n, i = data[0], data[1], 2
    if n == 0x81:
        if len(data) < 3:
            raise ValueError("truncated")
        n, i = data[2], 3
    elif n > 0x7F:
        raise ValueError("bad length")
    if i + n != len(data):
        raise ValueError("length does not match the data")
    return tag, bytes(data[i:])


# --- text coding ------------------------------------------------------------------------------------------


def text_string(text: str) -> bytes:
    """Value of a text string (tag 0D): DCS 00 + packed GSM 7-bit, or DCS 08 + UCS2."""
    septets = gsm7.to_septets(text)
    if septets is not None:
        return b"\x00" + gsm7.pack(septets)
    return b"\x08" + text.encode("utf-16-be")


def alpha(text: str) -> bytes:
    """An alpha identifier or item text: GSM 7-bit unpacked, or UCS2 with the 80 prefix."""
    try:
        return alpha_encode(text)
    except EncodeError:
        return alpha_encode(text.encode("ascii", "replace").decode())


# --- the runtime ------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """A proactive command: its bytes and what the applet wants to remember about it."""

    number: int
    type: int
    qualifier: int
    raw: bytes
    purpose: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class CatRuntime:
    """Owned by a `Card`, which it sees through its `CardPort`; its four INS handlers have the card's
    handler signature."""

    def __init__(self, card: CardPort, applet_factory: Callable[[CardPort, CatRuntime], Any]) -> None:
        self.card = card
        self.applet = applet_factory(card, self)
        self.reset()

    def reset(self) -> None:
        self.profile: bytes | None = None
        self.queue: list[Sent] = []
        self.current: Sent | None = None
        self._number = 0
        self.applet.reset()

    # --- for the applet ---------------------------------------------------------------------------------

    def supports(self, byte: int, mask: int) -> bool:
        """Whether the terminal profile sets `mask` in byte `byte` (1-based, TS 102 223 §5.2)."""
        p = self.profile or b""
        return len(p) >= byte and bool(p[byte - 1] & mask)

    def proactive(self, type_: int, qualifier: int, body: bytes, *, dest: int = TERMINAL, purpose: str = "",
                  **extra: Any) -> None:
        """Queue a proactive command: command details, device identities (UICC → dest), then `body`."""
        self._number = self._number % 0xFE + 1
        value = (ctlv(T_COMMAND_DETAILS, bytes([self._number, type_, qualifier]), cr=True)
                 + ctlv(T_DEVICE_IDS, bytes([UICC, dest]), cr=True) + body)
        raw = b"\xd0" + (bytes([len(value)]) if len(value) < 0x80 else bytes([0x81, len(value)])) + value
        if len(raw) > 256:
            raise ValueError(f"proactive command of {len(raw)} bytes does not fit one FETCH")
        self.queue.append(Sent(self._number, type_, qualifier, raw, purpose, dict(extra)))

    @property
    def busy(self) -> bool:
        return self.current is not None or bool(self.queue)

    # --- the status word: 91xx while a command waits ------------------------------------------------------

    def after(self, out: bytes) -> bytes:
        if out[-2:] == OK and self.profile is not None and self.current is None and self.queue:
            return out[:-2] + counted(SW1.PROACTIVE, len(self.queue[0].raw))
        return out

    # --- INS handlers ---------------------------------------------------------------------------------------

    def terminal_profile(self, chn: int, ch: Any, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 or p2:
            return SW.BAD_P1P2.raw
        if not data:
            return SW.WRONG_LENGTH.raw
        self.queue.clear()
        self.current = None
        self.profile = bytes(data)
        self.applet.on_terminal_profile()
        return OK

    def fetch(self, chn: int, ch: Any, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 or p2:
            return SW.BAD_P1P2.raw
        if data:
            return SW.WRONG_LENGTH.raw
        if not self.queue or self.current is not None:
            return SW.CONDITIONS.raw
        out = self.card.case2(self.queue[0].raw, le)
        if out[-2] != SW1.WRONG_LE:
            self.current = self.queue.pop(0)
        return out

    def terminal_response(self, chn: int, ch: Any, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 or p2:
            return SW.BAD_P1P2.raw
        if not data:
            return SW.WRONG_LENGTH.raw
        sent = self.current
        if sent is None:
            return SW.CONDITIONS.raw
        try:
            items = parse_ctlv(data)
        except CtlvError:
            return SW.WRONG_DATA.raw
        details = next((v for t, v in items if t == T_COMMAND_DETAILS), None)
        result = next((v for t, v in items if t == T_RESULT), None)
        if details is None or len(details) != 3 or not result:
            return SW.WRONG_DATA.raw
        if details[0] != sent.number or details[1] != sent.type:
            return SW.WRONG_DATA.raw
        self.current = None
        self.applet.on_response(sent, result[0], result[1:], items)
        return OK

    def envelope(self, chn: int, ch: Any, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 or p2:
            return SW.BAD_P1P2.raw
        if not data:
            return SW.WRONG_LENGTH.raw
        try:
            tag, value = ber(data)
        except ValueError:
            return SW.WRONG_DATA.raw
        if tag == 0xD1:
            try:
                response = self.applet.on_sms_pp(value)
            except SmsError:
                return SW.WRONG_DATA.raw
            return self.card.case4(chn, response, le) if response else OK
        try:
            items = parse_ctlv(value)
        except CtlvError:
            return SW.WRONG_DATA.raw
        if tag == 0xD3:
            item = next((v for t, v in items if t == T_ITEM_ID), None)
            if item is None or len(item) != 1:
                return SW.WRONG_DATA.raw
            if self.busy:
                return SW.TOOLKIT_BUSY.raw
            self.applet.on_menu_selection(item[0])
            return OK
        if tag == 0xD6:
            events = next((v for t, v in items if t == T_EVENT_LIST), None)
            if not events:
                return SW.WRONG_DATA.raw
            self.applet.on_event(events[0], dict(items))
            return OK
        return SW.FUNC_NOT_SUPPORTED.raw

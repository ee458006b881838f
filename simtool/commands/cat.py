"""The terminal's side of CAT (TS 102 223 / TS 31.111, specfacts §5), sans I/O: what a handset sends and
reads. Proactive commands are parsed, terminal responses and ENVELOPEs (menu selection, event download,
SMS-PP data download) built, SMS-DELIVER TPDUs assembled; `Terminal` is a scriptable handset and
`run_session` its fetch loop over any `send(Apdu) -> Response`.

Written from the specification only: it shares no protocol logic with the card's side
(`simtool.emulator.cat`), so each checks the other; only the codings are common (COMPREHENSION-TLV in
`encoding.ctlv`, GSM 7-bit in `encoding.gsm7`, alpha fields, status words).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simtool.commands import uicc
from simtool.commands.apdu import Apdu, Response
from simtool.encoding.ctlv import CtlvError, ctlv, parse_ctlv
from simtool.encoding.gsm7 import from_septets, unpack
from simtool.encoding.tlv import tlv
from simtool.encoding.types import alpha_decode
from simtool.errors import CardError, InputError

# Terminal profile (TS 102 223 §5.2, TS 31.111 §5.2) of this handset: byte 1 profile download, SMS-PP
# data download, menu selection; 2 command result, UCS2 display; 3 DISPLAY TEXT; 4 SELECT ITEM, SET UP
# MENU; 5 SET UP EVENT LIST, location status event; 6 language selection event; 8 PROVIDE LOCAL
# INFORMATION (date, time, zone); 9 sustained DISPLAY TEXT, PLI (language), LAUNCH BROWSER.
TERMINAL_PROFILE = bytes.fromhex("0B41012111010004 49")

COMMAND_NAMES = {
    0x01: "REFRESH", 0x05: "SET UP EVENT LIST", 0x13: "SEND SHORT MESSAGE", 0x15: "LAUNCH BROWSER",
    0x21: "DISPLAY TEXT", 0x22: "GET INKEY", 0x23: "GET INPUT", 0x24: "SELECT ITEM", 0x25: "SET UP MENU",
    0x26: "PROVIDE LOCAL INFORMATION", 0x28: "SET UP IDLE MODE TEXT",
}
EVENT_NAMES = {0x00: "MT call", 0x01: "call connected", 0x02: "call disconnected", 0x03: "location status",
               0x04: "user activity", 0x05: "idle screen available", 0x07: "language selection",
               0x08: "browser termination"}

RESULT_OK = 0x00
RESULT_ENDED_BY_USER = 0x10
RESULT_NO_RESPONSE = 0x12
RESULT_BEYOND_CAPABILITY = 0x30

LOCATION_NORMAL, LOCATION_LIMITED, LOCATION_NO_SERVICE = 0x00, 0x01, 0x02

# simple-TLV tags with the comprehension-required bit
TAG_COMMAND_DETAILS = 0x81
TAG_DEVICE_IDS = 0x82
TAG_RESULT = 0x83
TAG_ADDRESS = 0x86
TAG_SMS_TPDU = 0x8B
TAG_ITEM_ID = 0x90
TAG_EVENT_LIST = 0x99
TAG_LOCATION_INFO = 0x93
TAG_LOCATION_STATUS = 0x9B
TAG_DATE_TIME = 0xA6
TAG_LANGUAGE = 0xAD


class CatError(CardError):
    """A proactive command or session that does not follow TS 102 223."""


def _tlv(tag: int, value: bytes) -> bytes:
    """A COMPREHENSION-TLV by its one-byte tag as written above (CR in bit 8)."""
    return ctlv(tag & 0x7F, value, cr=bool(tag & 0x80))


# --- text ----------------------------------------------------------------------------------------------


def decode_text_string(value: bytes) -> str:
    """A text string (tag 0D): data coding scheme byte, then the text (TS 23.038 §4)."""
    if not value:
        return ""
    dcs, body = value[0], value[1:]
    if dcs & 0xF0 == 0xF0:
        alphabet = 1 if dcs & 0x04 else 0
    elif dcs & 0xC0 == 0x00:
        alphabet = (dcs >> 2) & 0x03
    else:
        raise CatError(f"data coding scheme {dcs:02X} is not a text coding")
    if alphabet == 0:
        return from_septets(unpack(body))
    if alphabet == 1:
        return from_septets(body)
    if alphabet == 2:
        return body.decode("utf-16-be", errors="replace")
    raise CatError(f"data coding scheme {dcs:02X}: reserved alphabet")


def decode_alpha(data: bytes) -> str:
    """An alpha identifier or item text (TS 102 221 Annex A): the coding every EF's alpha field uses."""
    return alpha_decode(data)


def _swapped_bcd(digits: str) -> bytes:
    nibbles = [int(c) for c in digits] + ([0xF] if len(digits) % 2 else [])
    return bytes((nibbles[i + 1] << 4) | nibbles[i] for i in range(0, len(nibbles), 2))


# --- proactive commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProactiveCommand:
    number: int
    type: int
    qualifier: int
    source: int
    destination: int
    items: tuple[tuple[int, bytes], ...]
    raw: bytes

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.type, f"command {self.type:02X}")

    def get(self, tag: int) -> bytes | None:
        return next((v for t, v in self.items if t == tag & 0x7F), None)

    def all(self, tag: int) -> list[bytes]:
        return [v for t, v in self.items if t == tag & 0x7F]

    @property
    def alpha(self) -> str | None:
        v = self.get(0x05)
        return None if v is None else decode_alpha(v)

    @property
    def text(self) -> str | None:
        v = self.get(0x0D)
        return None if v is None else decode_text_string(v)

    @property
    def menu_items(self) -> list[tuple[int, str]]:
        return [(v[0], decode_alpha(v[1:])) for v in self.all(0x0F) if v]

    @property
    def events(self) -> list[int]:
        return list(self.get(0x19) or b"")

    @property
    def url(self) -> str | None:
        v = self.get(0x31)
        return None if v is None else v.decode("ascii", errors="replace")

    def describe(self) -> dict[str, Any]:
        """What a person (or a script) needs to know of the command, decoded."""
        out: dict[str, Any] = {"command": self.name, "number": self.number, "qualifier": self.qualifier}
        if self.alpha is not None:
            out["alpha"] = self.alpha
        if self.text is not None:
            out["text"] = self.text
        if self.menu_items:
            out["items"] = [{"id": i, "text": t} for i, t in self.menu_items]
        if self.type == 0x05:
            out["events"] = [EVENT_NAMES.get(e, f"{e:02X}") for e in self.events]
        if self.type == 0x15:
            out["url"] = self.url
        if self.type == 0x26:
            out["asks"] = {0x03: "date-time", 0x04: "language"}.get(self.qualifier, f"{self.qualifier:02X}")
        return out


def parse_proactive(data: bytes) -> ProactiveCommand:
    """A FETCHed proactive command: `D0 L` + command details, device identities and the rest."""
    data = bytes(data)
    if len(data) < 2 or data[0] != 0xD0:
        raise CatError("not a proactive command (tag D0)")
    n, i = data[1], 2
    if n == 0x81 and len(data) > 2:
        n, i = data[2], 3
    if i + n != len(data):
        raise CatError("the proactive command's length does not match its data")
    try:
        items = parse_ctlv(data[i:])
    except CtlvError as e:
        raise CatError(f"proactive command: {e}") from None
    details = next((v for t, v in items if t == 0x01), None)
    devices = next((v for t, v in items if t == 0x02), None)
    if details is None or len(details) != 3 or devices is None or len(devices) != 2:
        raise CatError("a proactive command without command details or device identities")
    return ProactiveCommand(details[0], details[1], details[2], devices[0], devices[1], tuple(items), data)


# --- terminal responses -----------------------------------------------------------------------------------


def terminal_response(cmd: ProactiveCommand, result: int = RESULT_OK, extra: bytes = b"",
                      additional: bytes = b"") -> bytes:
    """TERMINAL RESPONSE data: the command details echoed, terminal → UICC, result, then `extra` TLVs."""
    return (_tlv(TAG_COMMAND_DETAILS, bytes([cmd.number, cmd.type, cmd.qualifier]))
            + _tlv(TAG_DEVICE_IDS, b"\x82\x81") + _tlv(TAG_RESULT, bytes([result]) + additional) + extra)


def encode_date_time(dt: datetime) -> bytes:
    """Date-time and time zone (7 bytes, TS 23.040 SCTS coding): local time, zone in quarter hours."""
    off = dt.utcoffset()
    if off is None:
        raise InputError("a date-time for the card needs a time zone (e.g. 2026-11-26T10:00+01:00)")
    quarters, rest = divmod(int(off.total_seconds()), 900)
    if rest:
        raise InputError("the time zone must be whole quarter hours")
    out = bytes(((d % 10) << 4) | (d // 10) for d in
                (dt.year % 100, dt.month, dt.day, dt.hour, dt.minute, dt.second))
    q = abs(quarters)
    tz = ((q % 10) << 4) | (q // 10) | (0x08 if quarters < 0 else 0)
    return out + bytes([tz])


def date_time_response(cmd: ProactiveCommand, dt: datetime) -> bytes:
    return terminal_response(cmd, RESULT_OK, _tlv(TAG_DATE_TIME, encode_date_time(dt)))


def language_response(cmd: ProactiveCommand, language: str) -> bytes:
    return terminal_response(cmd, RESULT_OK, _tlv(TAG_LANGUAGE, language.encode("ascii")))


def item_response(cmd: ProactiveCommand, item_id: int) -> bytes:
    return terminal_response(cmd, RESULT_OK, _tlv(TAG_ITEM_ID, bytes([item_id])))


# --- envelopes ------------------------------------------------------------------------------------------


def menu_selection(item_id: int) -> bytes:
    """ENVELOPE (MENU SELECTION): keypad → UICC, the item chosen."""
    return tlv(0xD3, _tlv(TAG_DEVICE_IDS, b"\x01\x81") + _tlv(TAG_ITEM_ID, bytes([item_id])))


def parse_plmn(text: str) -> bytes:
    """"262-01" or "26201" → the 3-byte PLMN coding of TS 24.008 (MCC digit 2|1, MNC 3|MCC 3, MNC 2|1)."""
    mcc, sep, mnc = text.strip().partition("-")
    if not sep:
        mcc, mnc = text.strip()[:3], text.strip()[3:]
    if len(mcc) != 3 or not mcc.isdigit() or len(mnc) not in (2, 3) or not mnc.isdigit():
        raise InputError(f"PLMN {text!r}: write it as MCC-MNC, e.g. 262-01")
    m = [int(c) for c in mcc]
    n = [int(c) for c in mnc]
    mnc3 = n[2] if len(n) == 3 else 0xF
    return bytes([(m[1] << 4) | m[0], (mnc3 << 4) | m[2], (n[1] << 4) | n[0]])


def location_status(status: int, plmn: bytes | None = None, lac: int = 1, cell: int = 1) -> bytes:
    """ENVELOPE (EVENT DOWNLOAD, location status): terminal → UICC; with the location information when the
    terminal has service (MCC/MNC, LAC, cell identity)."""
    value = (_tlv(TAG_EVENT_LIST, b"\x03") + _tlv(TAG_DEVICE_IDS, b"\x82\x81")
             + _tlv(TAG_LOCATION_STATUS, bytes([status])))
    if status == LOCATION_NORMAL and plmn is not None:
        value += _tlv(TAG_LOCATION_INFO, plmn + lac.to_bytes(2, "big") + cell.to_bytes(2, "big"))
    return tlv(0xD6, value)


def language_selection(language: str) -> bytes:
    """ENVELOPE (EVENT DOWNLOAD, language selection)."""
    return tlv(0xD6, _tlv(TAG_EVENT_LIST, b"\x07") + _tlv(TAG_DEVICE_IDS, b"\x82\x81")
                + _tlv(TAG_LANGUAGE, language.encode("ascii")))


def sms_pp_download(tpdu: bytes, sc_address: str | None = None) -> bytes:
    """ENVELOPE (SMS-PP DATA DOWNLOAD): network → UICC, optional SC address, the SMS-DELIVER TPDU."""
    value = _tlv(TAG_DEVICE_IDS, b"\x83\x81")
    if sc_address:
        value += _tlv(TAG_ADDRESS, _address(sc_address)[1:])
    return tlv(0xD1, value + _tlv(TAG_SMS_TPDU, tpdu))


def _address(number: str) -> bytes:
    """Digit count, TON/NPI (91 international with '+', else 81), swapped BCD (TS 23.040 §9.1.2.5)."""
    digits = number.lstrip("+")
    if not digits.isdigit() or len(digits) > 20:
        raise InputError(f"address {number!r}: digits only, optionally after '+'")
    ton = 0x91 if number.startswith("+") else 0x81
    return bytes([len(digits), ton]) + _swapped_bcd(digits)


def _scts(dt: datetime) -> bytes:
    return encode_date_time(dt)


def sms_deliver(user_data: bytes, originator: str, timestamp: datetime | None = None) -> bytes:
    """An SMS-DELIVER TPDU for (U)SIM data download: UDHI set, PID 7F, DCS F6 (8-bit, class 2), SCTS,
    UDL = user data octets including the header (specfacts §8.2)."""
    if len(user_data) > 140:
        raise InputError(f"user data of {len(user_data)} bytes does not fit one SMS (140)")
    ts = timestamp or datetime.now(UTC)
    return (b"\x40" + _address(originator) + b"\x7f\xf6" + _scts(ts) + bytes([len(user_data)])
            + bytes(user_data))


# --- a handset ----------------------------------------------------------------------------------------------


@dataclass
class Terminal:
    """A scriptable handset: answers proactive commands the way a phone would, and keeps a transcript.

    `clock` gives the date-time it reports (with its zone); `choose(cmd)` picks a SELECT ITEM entry
    (None: the user backs out)."""

    language: str = "en"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    choose: Callable[[ProactiveCommand], int | None] = field(default=lambda cmd: None)
    profile: bytes = TERMINAL_PROFILE
    menu: dict[str, Any] | None = None
    events: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    show: Callable[[dict[str, Any]], None] = field(default=lambda entry: None)

    def respond(self, cmd: ProactiveCommand) -> bytes:
        entry = cmd.describe()
        if cmd.type == 0x25:  # SET UP MENU
            items = cmd.menu_items
            self.menu = None if items == [(0, "")] or not items else {
                "title": cmd.alpha or "", "items": [{"id": i, "text": t} for i, t in items]}
            tr = terminal_response(cmd)
        elif cmd.type == 0x05:  # SET UP EVENT LIST
            self.events = entry.get("events", [])
            tr = terminal_response(cmd)
        elif cmd.type == 0x26 and cmd.qualifier == 0x03:
            now = self.clock()
            entry["answer"] = now.isoformat()
            tr = date_time_response(cmd, now)
        elif cmd.type == 0x26 and cmd.qualifier == 0x04:
            entry["answer"] = self.language
            tr = language_response(cmd, self.language)
        elif cmd.type == 0x21:  # DISPLAY TEXT
            tr = terminal_response(cmd)
        elif cmd.type == 0x24:  # SELECT ITEM
            choice = self.choose(cmd)
            if choice is None:
                entry["chosen"] = None
                tr = terminal_response(cmd, RESULT_ENDED_BY_USER)
            else:
                entry["chosen"] = dict(cmd.menu_items).get(choice, choice)
                tr = item_response(cmd, choice)
        elif cmd.type == 0x15:  # LAUNCH BROWSER: the browser opens the page
            tr = terminal_response(cmd)
        else:
            entry["result"] = "beyond terminal's capability"
            tr = terminal_response(cmd, RESULT_BEYOND_CAPABILITY)
        self.transcript.append(entry)
        self.show(entry)
        return tr

    def find_item(self, wanted: str) -> int:
        """A menu item by its text (any case) or number."""
        if self.menu is None:
            raise InputError("the card has set up no menu")
        for item in self.menu["items"]:
            if item["text"].casefold() == wanted.strip().casefold() or str(item["id"]) == wanted.strip():
                return int(item["id"])
        names = ", ".join(repr(i["text"]) for i in self.menu["items"])
        raise InputError(f"no menu item {wanted!r} (the menu has {names})")


MAX_PROACTIVE = 32  # commands in one session before the terminal gives up


def run_session(send: Callable[[Apdu], Response], first: Response, terminal: Terminal) -> Response:
    """The fetch loop: while the card answers 91xx, FETCH the command, let `terminal` handle it, send the
    TERMINAL RESPONSE. Returns the last response (normally 9000)."""
    resp = first
    for _ in range(MAX_PROACTIVE):
        length = resp.proactive_length
        if length is None:
            return resp
        fetched = send(uicc.fetch(length))
        if fetched.sw != 0x9000:
            raise CatError(f"FETCH answered {fetched.sw:04X}")
        cmd = parse_proactive(fetched.data)
        resp = send(uicc.terminal_response(terminal.respond(cmd)))
        if not resp.ok:
            raise CatError(f"TERMINAL RESPONSE to {cmd.name} answered {resp.sw:04X}")
    raise CatError(f"the card sent more than {MAX_PROACTIVE} proactive commands in one session")

"""APDU traces for `--trace` that never show a secret (DESIGN.md §4).

The data of VERIFY / CHANGE / DISABLE / ENABLE / UNBLOCK PIN is always replaced by `**` per byte.
The data of UPDATE BINARY / UPDATE RECORD, and the data READ back, are masked too while a file the
caller calls secret (key files, the PIN file) is selected: `Tracer` follows SELECT to know which file
that is, per logical channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from simtool.commands.apdu import Apdu, MalformedApdu, Response, channel_of
from simtool.commands.uicc import PIN_INS, Ins

# The UICC PIN commands, plus their odd-INS ISO 7816-4 forms (BER-TLV data): 21 VERIFY, 25 CHANGE REFERENCE
# DATA, 2D RESET RETRY COUNTER, which a vendor tool might send.
_PIN_DATA_INS = PIN_INS | {0x21, 0x25, 0x2D}
_UPDATE_INS = frozenset({Ins.UPDATE_BINARY, Ins.UPDATE_RECORD})
_READ_INS = frozenset({Ins.READ_BINARY, Ins.READ_RECORD})
MASK = "**"


def _sfi_of(raw: bytes) -> int | None:
    """SFI addressed by a READ/UPDATE BINARY/RECORD header, None when it works on the current EF."""
    ins, p1, p2 = raw[1], raw[2], raw[3]
    if ins in (Ins.READ_BINARY, Ins.UPDATE_BINARY):
        return p1 & 0x1F if p1 & 0x80 else None
    return (p2 >> 3) or None


def _secret_target(
    raw: bytes,
    masked_fids: set[int] | frozenset[int],
    masked_sfis: set[int] | frozenset[int],
    selected_fid: int | None,
) -> bool:
    """Whether a READ/UPDATE addresses a secret file: the selected one, or one named by a secret SFI."""
    sfi = _sfi_of(raw)
    if sfi is None:
        return selected_fid is not None and selected_fid in masked_fids
    # Addressed by SFI: the current file does not tell; an SFI is secret if named so, or if it is the
    # default SFI (low 5 bits) of a secret FID.
    return sfi in masked_sfis or any(fid & 0x1F == sfi for fid in masked_fids)


def mask_apdu(
    raw: bytes,
    masked_fids: set[int] | None = None,
    selected_fid: int | None = None,
    masked_sfis: set[int] | None = None,
) -> str:
    """Hex of a command APDU with secret data replaced by `**` per byte (header, Lc and Le stay)."""
    raw = bytes(raw)
    if len(raw) < 5:
        return raw.hex().upper()
    ins = raw[1]
    fids: set[int] | frozenset[int] = masked_fids or frozenset()
    sfis: set[int] | frozenset[int] = masked_sfis or frozenset()
    secret = ins in _PIN_DATA_INS or (ins in _UPDATE_INS and _secret_target(raw, fids, sfis, selected_fid))
    if not secret:
        return raw.hex().upper()
    try:
        apdu = Apdu.from_bytes(raw)
    except MalformedApdu:  # no trustworthy layout: hide everything after the header
        return raw[:4].hex().upper() + MASK * (len(raw) - 4)
    out = raw[:4].hex().upper()
    if apdu.data:
        out += f"{len(apdu.data):02X}" + MASK * len(apdu.data)
    if apdu.le is not None:
        out += f"{apdu.le & 0xFF:02X}"
    return out


def format_response(raw: bytes, mask_data: bool = False) -> str:
    """`<data hex> <SW>` (just `<SW>` without data); data as `**` per byte when asked."""
    raw = bytes(raw)
    if len(raw) < 2:
        return raw.hex().upper()
    data, sw = raw[:-2], raw[-2:].hex().upper()
    if not data:
        return sw
    return (MASK * len(data) if mask_data else data.hex().upper()) + " " + sw


class Tracer:
    """Formats `>> command` / `<< response` lines with masking, following SELECTs per logical channel.

    `write` gets each line (e.g. `print` or a logger method); lines are also kept in `lines`.
    `secret_fids`: FIDs of files whose content must not show (key files, the PIN file);
    `secret_sfis`: SFIs of such files where they differ from the FID's low 5 bits.
    """

    def __init__(
        self,
        write: Callable[[str], object] | None = None,
        secret_fids: Iterable[int] = (),
        secret_sfis: Iterable[int] = (),
        keep: bool = True,
    ) -> None:
        self.write = write
        self.secret_fids = frozenset(secret_fids)
        self.secret_sfis = frozenset(secret_sfis)
        self.keep = keep
        self.lines: list[str] = []
        self.selected: dict[int, int | None] = {}  # logical channel -> FID of the current file
        self._pending_select: tuple[int, int | None] | None = None
        self._mask_next_response = False
        self._mask_get_response = False  # a secret READ answered 61xx/6Cxx: its GET RESPONSE data too

    def _emit(self, line: str) -> str:
        if self.keep:
            self.lines.append(line)
        if self.write is not None:
            self.write(line)
        return line

    @staticmethod
    def _channel(cla: int) -> int:
        try:
            return channel_of(cla)
        except ValueError:
            return 0

    def selected_fid(self, channel: int = 0) -> int | None:
        return self.selected.get(channel)

    def command(self, raw: bytes) -> str:
        """Trace a command; returns the line."""
        raw = bytes(raw)
        channel = self._channel(raw[0]) if raw else 0
        selected = self.selected.get(channel)
        self._pending_select = None
        self._mask_next_response = False
        if len(raw) >= 4 and raw[1] == Ins.SELECT:
            self._pending_select = (channel, self._select_target(raw))
        elif len(raw) >= 4 and raw[1] in _READ_INS:
            self._mask_next_response = _secret_target(raw, self.secret_fids, self.secret_sfis, selected)
        elif len(raw) >= 4 and raw[1] == Ins.GET_RESPONSE:
            self._mask_next_response = self._mask_get_response
        masked = mask_apdu(raw, set(self.secret_fids), selected, set(self.secret_sfis))
        return self._emit(">> " + masked)

    @staticmethod
    def _select_target(raw: bytes) -> int | None:
        """FID a SELECT leads to (None for an ADF by AID, the parent DF, or an unreadable command)."""
        try:
            apdu = Apdu.from_bytes(raw)
        except MalformedApdu:
            return None
        if apdu.p1 in (0x00, 0x01, 0x08, 0x09) and len(apdu.data) >= 2 and len(apdu.data) % 2 == 0:
            return int.from_bytes(apdu.data[-2:], "big")
        if apdu.p1 == 0x00 and not apdu.data:  # SELECT MF with empty data
            return 0x3F00
        return None

    def response(self, raw: bytes) -> str:
        """Trace a response; a successful SELECT moves the current file of its channel."""
        raw = bytes(raw)
        sw1 = raw[-2] if len(raw) >= 2 else 0
        if self._pending_select is not None:
            # The file changes on success, on a warning (e.g. 6283 deactivated) and when the FCP waits
            # for GET RESPONSE (61xx); after an error the previous file stays selected.
            if sw1 in (0x90, 0x91, 0x92, 0x61, 0x62, 0x63, 0x9F):
                channel, fid = self._pending_select
                self.selected[channel] = fid
            self._pending_select = None
        mask = self._mask_next_response
        # Data of a secret READ may arrive through GET RESPONSE (61xx/6Cxx rounds): keep masking them.
        self._mask_get_response = mask and sw1 in (0x61, 0x6C, 0x9F)
        self._mask_next_response = False
        return self._emit("<< " + format_response(raw, mask_data=mask))

    def wrap(self, send: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
        """A send function that traces every exchange of `send` (for `exchange.run`)."""

        def traced(raw: bytes) -> bytes:
            self.command(raw)
            answer = send(raw)
            self.response(answer)
            return answer

        return traced

    def exchange(self, command: Apdu | bytes, response: Response | bytes) -> tuple[str, str]:
        """Trace one exchange given as objects or bytes."""
        c = command.to_bytes() if isinstance(command, Apdu) else command
        r = response.to_bytes() if isinstance(response, Response) else response
        return self.command(c), self.response(r)

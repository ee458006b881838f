"""The emulated UICC/USIM/ISIM command processor (TS 102 221 §10-§12, TS 31.102 §7, TS 31.103 §7): bytes in, bytes out.

`Card.process(apdu)` answers every input with response data and a status word; malformed input gets the
status word the standard gives, and an unexpected Python error becomes `6F00` and is logged on the
`simtool.emulator` logger (the tests fail on it). Files, sizes, FCPs and access sets come from the card
model (`simtool.fs`) through `Layout`; nothing about the file tree is repeated here.

Where the standard leaves room, this card does what PC/SC programs (pySim, scriptor) expect:
* T=0: data of a case-4 command (SELECT with FCP, SEARCH RECORD, AUTHENTICATE) waits for GET RESPONSE
  behind `61xx`; a case-2 command whose Le cannot be served answers `6Cxx` (READ BINARY may read less
  than the rest of the file; READ RECORD and STATUS need the exact length). P3=00 means 256.
* T=1: data comes with the status word; Le absent or 00 means "all there is"; READ BINARY/RECORD with
  a longer explicit Le give the data and `6282`.
* VERIFY/UNBLOCK with no data answer `63CX` in every state; a try is spent on disk before comparing.
* CLA A0 is the classic SIM command set of TS 51.011 (`simtool.emulator.classic`), as real UICCs answer it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from typing import Any

from simtool.crypto.aka import SqnState
from simtool.emulator import auth
from simtool.emulator.applet import PlanApplet
from simtool.emulator.blank import new_blank_card
from simtool.emulator.cat import CatRuntime
from simtool.emulator.classic import ClassicSim
from simtool.emulator.faults import CardPowerLoss, PowerCut
from simtool.emulator.layout import Layout, Node, layout_for
from simtool.emulator.state import CardFile, CardState, absent_files, max_tries
from simtool.encoding.sw import SW, SW1, counted
from simtool.encoding.tlv import tlv
from simtool.errors import InputError
from simtool.fs import DEFAULT_MODEL, CardModel, Cond
from simtool.fs.access import allows
from simtool.fs.tree import ISIM_AID

log = logging.getLogger("simtool.emulator")

MAX_CHANNELS = 20  # channel 0 plus 1..19 (CLA 0X-03, 4X-4F: TS 102 221 §10.1.1)
SERVICE_GSM_ACCESS = 27  # UST: Kc in the 3G AUTHENTICATE answer
SERVICE_GSM_CONTEXT = 38  # UST: AUTHENTICATE in GSM security context
ISIM_AID_PREFIX = ISIM_AID[:7]  # RID + application code 1004 (TS 31.103)


# The status words this card answers, as wire bytes of `SW` (simtool.encoding.sw): module names, so the
# APDU path reads a global rather than an enum attribute.
OK = SW.OK.raw
WRONG_LENGTH = SW.WRONG_LENGTH.raw
NO_CHANNEL = SW.NO_CHANNEL.raw
SM_NOT_SUPPORTED = SW.SM_NOT_SUPPORTED.raw
CHAINING_NOT_SUPPORTED = SW.CHAINING_NOT_SUPPORTED.raw
WRONG_STRUCTURE = SW.WRONG_STRUCTURE.raw
SECURITY = SW.SECURITY.raw
BLOCKED = SW.BLOCKED.raw
INVALIDATED = SW.INVALIDATED.raw
CONDITIONS = SW.CONDITIONS.raw
NO_EF = SW.NO_EF.raw
WRONG_DATA = SW.WRONG_DATA.raw
FUNC_NOT_SUPPORTED = SW.FUNC_NOT_SUPPORTED.raw
NOT_FOUND = SW.NOT_FOUND.raw
RECORD_NOT_FOUND = SW.RECORD_NOT_FOUND.raw
BAD_P1P2 = SW.BAD_P1P2.raw
REF_NOT_FOUND = SW.REF_NOT_FOUND.raw
WRONG_OFFSET = SW.WRONG_OFFSET.raw
INS_NOT_SUPPORTED = SW.INS_NOT_SUPPORTED.raw
CLA_NOT_SUPPORTED = SW.CLA_NOT_SUPPORTED.raw
TECHNICAL = SW.TECHNICAL.raw
MEMORY = SW.MEMORY.raw
END_REACHED = SW.END_REACHED.raw
CONTEXT_NOT_SUPPORTED = SW.CONTEXT_NOT_SUPPORTED.raw

KEYREFS = {0x01: "pin1", 0x81: "pin2", 0x0A: "adm1"}
PUK_OF = {"pin1": "puk1", "pin2": "puk2"}
COND = {"pin1": Cond.PIN1, "pin2": Cond.PIN2, "adm1": Cond.ADM1}
PIN_NAMES = ("pin1", "puk1", "pin2", "puk2")
_NO_KEY_YET = object()


class _MemoryFailure(Exception):
    """The state file could not be written: the card answers 6581 with memory as before."""


class _Channel:
    """Selection state of one logical channel: current DF, EF, record pointer, active application."""

    __slots__ = ("app", "df", "ef", "rec")

    def __init__(self, df: Node, app: Node | None = None) -> None:
        self.df = df
        self.ef: Node | None = None
        self.rec = 0
        self.app = app


class _Port:
    """The card as the CAT runtime and the applet see it (`simtool.emulator.port.CardPort`)."""

    __slots__ = ("_card",)

    def __init__(self, card: Card) -> None:
        self._card = card

    @property
    def model(self) -> CardModel:
        return self._card.state.model

    def file_bytes(self, path: str) -> bytes:
        return self._card.file_bytes(path)

    def commit(self, changes: Mapping[str, bytes]) -> None:
        self._card._commit(changes)

    def case2(self, data: bytes, le: int | None) -> bytes:
        return self._card._case2(data, le)

    def case4(self, chn: int, data: bytes, le: int | None) -> bytes:
        return self._card._case4(chn, data, le)


def _valid_pin(value: bytes) -> bool:
    """4 to 8 ASCII digits, FF padded to 8 bytes (TS 102 221 §9.5.1)."""
    digits = value.rstrip(b"\xff")
    return 4 <= len(digits) <= 8 and digits.isdigit() and digits.isascii()


class Card:
    """One emulated card. Not thread-safe: a transport serialises the APDUs of one card."""

    def __init__(self, state: CardState, storage: CardFile | None = None) -> None:
        self.state = state
        self.storage = storage if storage is not None else CardFile(None)
        self.layout: Layout = layout_for(state.model, absent_files(state.model, state.files))
        self.apdu_count = 0
        self.internal_errors: list[str] = []
        self._max = max_tries(state.model)
        # Where the model keeps K/OPc, PINs and SQN settings: its secret layout (simtool.fs.cardmodel).
        self._secrets = state.model.secrets
        self._pin_paths = frozenset(self._secrets.pin_paths)
        self._key_paths = frozenset((*self._secrets.key_paths, *filter(None, (self._secrets.isim_key_path,))))
        self._sqn_path = self._secrets.sqn_path
        self._alg: dict[str, Any] = {}  # key-bound algorithm per context ("3g", "gsm", "ims"), from the key files
        self._ins: dict[int, tuple[Callable[..., bytes], bool]] = {
            0xA4: (self._select, False),
            0xB0: (self._read_binary, False),
            0xD6: (self._update_binary, False),
            0xB2: (self._read_record, False),
            0xDC: (self._update_record, False),
            0xA2: (self._search_record, False),
            0xF2: (self._status, True),
            0x20: (self._verify, False),
            0x24: (self._change, False),
            0x26: (self._disable, False),
            0x28: (self._enable, False),
            0x2C: (self._unblock, False),
            0x88: (self._authenticate, False),
            0x70: (self._manage_channel, False),
            0xC0: (self._get_response, False),
        }
        # CAT and the plan applet (simtool.emulator.cat / applet): TERMINAL PROFILE, FETCH, TERMINAL
        # RESPONSE, ENVELOPE; `self.cat.after` turns 9000 into 91xx while a proactive command waits.
        self.cat = CatRuntime(_Port(self), PlanApplet)
        for ins, name in ((0x10, "terminal_profile"), (0x12, "fetch"), (0x14, "terminal_response"),
                          (0xC2, "envelope")):
            self._ins[ins] = (getattr(self.cat, name), True)
        # The classic SIM command set (TS 51.011, CLA A0) over the same files: simtool.emulator.classic.
        self.classic = ClassicSim(self)
        self.reset()

    # --- construction ---------------------------------------------------------------------------------

    @classmethod
    def blank(
        cls, *, adm: bytes, iccid: str | None = None, protocol: str = "T=0", model: CardModel = DEFAULT_MODEL
    ) -> Card:
        """A fresh blank card in memory (`emu:` with no path)."""
        return cls(new_blank_card(model, adm=adm, iccid=iccid, protocol=protocol))

    @classmethod
    def load(cls, path: Any) -> Card:
        """The card kept in the state file `path`; every write is saved there before the answer."""
        storage = CardFile(path)
        return cls(storage.load(), storage)

    def __repr__(self) -> str:
        return f"<Card {self.state.model.name} {self.state.protocol} {self.storage!r}>"

    # --- public properties ------------------------------------------------------------------------------

    @property
    def model(self) -> CardModel:
        return self.state.model

    @property
    def protocol(self) -> str:
        return self.state.protocol

    @property
    def atr(self) -> bytes:
        return self.model.atr_t0 if self.state.protocol == "T=0" else self.model.atr_t1

    def file_bytes(self, path: str) -> bytes:
        """An EF's body as stored, bypassing access rules: for tests and diagnostics, not for the wire."""
        return bytes(self.state.files[path])

    def reset(self) -> bytes:
        """Power cycle: MF selected on channel 0, channels 1.. closed, verifications forgotten. The ATR."""
        self._channels: list[_Channel | None] = [None] * MAX_CHANNELS
        self._channels[0] = _Channel(self.layout.mf)
        self._verified: set[Cond] = set()
        self._pending: tuple[int, bytes, bytes] | None = None
        self._refresh_held()
        if hasattr(self, "cat"):
            self.cat.reset()
        return self.atr

    # --- the APDU entry point ---------------------------------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU (short form) with response data + SW1 SW2. Never raises on any bytes."""
        if not isinstance(apdu, bytes | bytearray | memoryview):
            raise TypeError(f"an APDU is bytes, not {type(apdu).__name__}")
        self.apdu_count += 1
        try:
            if self.storage.faults is not None:
                self.storage.faults.before_apdu()
            return self._process(bytes(apdu))
        except PowerCut as e:  # the card went away (simtool.emulator.faults): no answer at all
            raise CardPowerLoss(f"{self.storage!r}: {e}") from None
        except _MemoryFailure:
            return MEMORY
        except Exception as e:  # the wire must get a status word whatever happens
            ins = apdu[1] if len(apdu) > 1 else -1
            msg = f"INS {ins:02X}: {type(e).__name__}: {e}"
            self.internal_errors.append(msg)
            log.error("emulated card internal error, answering 6F00: %s", msg, exc_info=True)
            return TECHNICAL

    def _process(self, apdu: bytes) -> bytes:
        n = len(apdu)
        if n < 4:
            return WRONG_LENGTH
        cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
        if cla == 0xFF:
            return CLA_NOT_SUPPORTED
        if cla == 0xA0:  # the GSM SIM class (TS 51.011): its own dialect, basic channel only
            return self.cat.after(self.classic.process(apdu))
        if cla & 0x40:  # further interindustry class 4X-7X / CX-FX: channels 4-19
            chn = 4 + (cla & 0x0F)
            sm = cla & 0x20
        else:  # first interindustry class 0X / 8X: channels 0-3
            if cla & 0x20:  # 2X, 3X, AX (GSM 11.11), BX: not a UICC class
                return CLA_NOT_SUPPORTED
            chn = cla & 0x03
            sm = cla & 0x0C
        entry = self._ins.get(ins)
        if entry is None:
            return INS_NOT_SUPPORTED
        handler, proprietary = entry
        if bool(cla & 0x80) != proprietary:
            return CLA_NOT_SUPPORTED
        if sm:
            return SM_NOT_SUPPORTED
        if cla & 0x10:
            return CHAINING_NOT_SUPPORTED
        if n == 4:
            data, le = b"", None
        elif n == 5:
            data, le = b"", apdu[4] or 256
        else:
            lc = apdu[4]
            if lc == 0:  # extended length: not supported by this card
                return WRONG_LENGTH
            if n == 5 + lc:
                data, le = apdu[5:], None
            elif n == 6 + lc:
                data, le = apdu[5:-1], apdu[-1] or 256
            else:
                return WRONG_LENGTH
        ch = self._channels[chn]
        if ch is None:
            return NO_CHANNEL
        if ins != 0xC0:
            self._pending = None
        return self.cat.after(handler(chn, ch, p1, p2, data, le))

    # --- response helpers (T=0 / T=1) -------------------------------------------------------------------

    @property
    def _t0(self) -> bool:
        return self.state.protocol == "T=0"

    def _case4(self, chn: int, data: bytes, le: int | None) -> bytes:
        """Data out of a command that also took data in: T=0 answers 61xx and waits for GET RESPONSE;
        T=1 gives the data at once when Le asks for it (and 61xx for what Le left over)."""
        if self._t0 or le is None:
            self._pending = (chn, data, OK)
            return counted(SW1.RESPONSE_AVAILABLE, len(data))
        if le >= len(data):
            return data + OK
        self._pending = (chn, data[le:], OK)
        return data[:le] + counted(SW1.RESPONSE_AVAILABLE, len(data) - le)

    def _case2(self, data: bytes, le: int | None, sw: bytes = OK) -> bytes:
        """Data out of a command that took none, whose length the card knows (record, FCP, status):
        T=0 wants Le equal to it (Le 00 = 256), else 6Cxx; T=1 takes Le absent or 00 as "all", a short
        Le gets 6Cxx and a longer one the data."""
        size = len(data)
        if self._t0:
            if (le or 256) != size:
                return counted(SW1.WRONG_LE, size)
        elif le is not None and le != 256 and le < size:
            return counted(SW1.WRONG_LE, size)
        return data + sw

    # --- access and persistence -------------------------------------------------------------------------

    def _refresh_held(self) -> None:
        held = set(self._verified)
        pins = self._secrets.read_pins(self.state.files)
        pin1, pin2 = pins["pin1"].enabled, pins["pin2"].enabled
        if not pin1:
            held.add(Cond.PIN1)
        if not pin2:
            held.add(Cond.PIN2)
        self._held = frozenset(held)
        self._pin_bitmap = (0x80 if pin1 else 0) | (0x40 if pin2 else 0) | 0x20

    def _commit(self, changes: Mapping[str, bytes]) -> None:
        """`CardPort.commit`: new bodies for these EFs, durable in one save, or none of them (6581)."""
        files = self.state.files
        for path, body in changes.items():
            if len(body) != len(files[path]):
                raise ValueError(f"{path}: {len(body)} bytes for an EF of {len(files[path])}")
        old = {path: bytes(files[path]) for path in changes}
        for path, body in changes.items():
            files[path][:] = body

        def undo() -> None:
            for path, body in old.items():
                files[path][:] = body

        self._save(undo)

    def _save(self, undo: Callable[[], None]) -> None:
        """Make the state durable now; if the disk refuses, undo the change in memory and answer 6581."""
        try:
            self.storage.save(self.state)
        except OSError as e:
            undo()
            self._refresh_held()
            log.warning("emulated card could not save its state (%s): answering 6581", e.strerror or e)
            raise _MemoryFailure from None

    def _select_ef(self, ch: _Channel, node: Node) -> None:
        if ch.ef is not node:
            ch.df = node.parent  # type: ignore[assignment]
            ch.ef = node
            ch.rec = 0

    def _ef_for(self, ch: _Channel, sfi: int) -> Node | bytes:
        """The EF addressed by SFI (in the current DF) or the current EF; a SW bytes on failure."""
        if sfi:
            node = ch.df.sfis.get(sfi)
            return NOT_FOUND if node is None else node
        return NO_EF if ch.ef is None else ch.ef

    # --- SELECT -----------------------------------------------------------------------------------------

    def _by_fid(self, ch: _Channel, fid: int) -> Node | None:
        """TS 102 221 §8.4.1 order: MF, the active ADF (7FFF), children of the current DF, the current
        DF itself, its parent, and the parent's DF children (siblings)."""
        if fid == 0x3F00:
            return self.layout.mf
        if fid == 0x7FFF:
            return ch.app
        df = ch.df
        node = df.children.get(fid)
        if node is not None:
            return node
        if fid == df.fid:
            return df
        parent = df.parent
        if parent is not None:
            if fid == parent.fid:
                return parent
            return parent.dfs.get(fid)
        return None

    def _walk(self, ch: _Channel, start: Node, path: bytes) -> Node | None:
        node = start
        for i in range(0, len(path), 2):
            if not node.is_df:
                return None
            fid = (path[i] << 8) | path[i + 1]
            if fid == 0x7FFF and ch.app is not None and (node is self.layout.mf or i == 0):
                node = ch.app
                continue
            nxt = node.children.get(fid)
            if nxt is None:
                return None
            node = nxt
        return node

    def _select(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        ret = p2 & 0x0C
        if p2 & 0x90 or ret == 0x08 or (p1 != 0x04 and p2 & 0x63) or (p1 == 0x04 and p2 & 0x20):
            return BAD_P1P2
        node: Node | None
        if p1 == 0x00:
            if not data:
                node = self.layout.mf
            elif len(data) != 2:
                return WRONG_LENGTH
            else:
                node = self._by_fid(ch, (data[0] << 8) | data[1])
        elif p1 == 0x01:
            if len(data) != 2:
                return WRONG_LENGTH
            fid = (data[0] << 8) | data[1]
            node = ch.app if fid == 0x7FFF else ch.df.dfs.get(fid)
        elif p1 == 0x03:
            if data:
                return WRONG_LENGTH
            node = ch.df.parent
        elif p1 == 0x04:
            if not 1 <= len(data) <= 16:
                return WRONG_LENGTH
            return self._select_aid(chn, ch, p2, data, le)
        elif p1 in (0x08, 0x09):
            if not data or len(data) % 2:
                return WRONG_LENGTH
            if p1 == 0x08:
                if data[:2] == b"\x3f\x00":  # tolerated: the path should not name the MF
                    data = data[2:]
                node = self._walk(ch, self.layout.mf, data) if data else self.layout.mf
            else:
                node = self._walk(ch, ch.df, data)
        else:
            return BAD_P1P2
        if node is None:
            return NOT_FOUND
        if node.is_df:
            ch.df, ch.ef, ch.rec = node, None, 0
            if node.is_adf:
                ch.app = node
        else:
            ch.df, ch.ef, ch.rec = node.parent, node, 0  # type: ignore[assignment]
        if ret == 0x0C:
            return OK
        return self._case4(chn, self._fcp(node), le)

    def _fcp(self, node: Node) -> bytes:
        return self.layout.df_fcp(node, self._pin_bitmap) if node.is_df else node.fcp

    def _select_aid(self, chn: int, ch: _Channel, p2: int, aid: bytes, le: int | None) -> bytes:
        hits = self.layout.adf_by_aid(aid)
        occurrence = p2 & 0x03
        if occurrence in (0x02, 0x03):  # next / previous relative to this channel's application
            if ch.app not in hits:
                return NOT_FOUND
            i = hits.index(ch.app) + (1 if occurrence == 0x02 else -1)
            hits = [hits[i]] if 0 <= i < len(hits) else []
        elif occurrence == 0x01:
            hits = hits[-1:]
        if not hits:
            return NOT_FOUND
        node = hits[0]
        if p2 & 0x40:  # terminate the application session
            if ch.app is not node:
                return NOT_FOUND
            ch.app, ch.df, ch.ef, ch.rec = None, self.layout.mf, None, 0
            return OK
        ch.app, ch.df, ch.ef, ch.rec = node, node, None, 0
        if p2 & 0x0C == 0x0C:
            return OK
        return self._case4(chn, self._fcp(node), le)

    # --- STATUS and GET RESPONSE ------------------------------------------------------------------------

    def _status(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if data:
            return WRONG_LENGTH
        if p1 > 0x02:
            return BAD_P1P2
        if p2 == 0x0C:
            return OK
        if p2 == 0x00:
            return self._case2(self._fcp(ch.df), le)
        if p2 == 0x01:
            if ch.app is None or ch.app.aid is None:
                return REF_NOT_FOUND
            return self._case2(tlv(0x84, ch.app.aid), le)
        return BAD_P1P2

    def _get_response(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 or p2:
            return BAD_P1P2
        if data:
            return WRONG_LENGTH
        pending = self._pending
        if pending is None or pending[0] != chn:
            self._pending = None
            return CONDITIONS
        _chn, body, sw = pending
        want = le or 256
        if want < len(body):
            self._pending = (chn, body[want:], sw)
            return body[:want] + counted(SW1.RESPONSE_AVAILABLE, len(body) - want)
        if want > len(body) and self._t0:
            return counted(SW1.WRONG_LE, len(body))  # pending data kept for the corrected Le
        self._pending = None
        return body + sw

    # --- transparent EFs --------------------------------------------------------------------------------

    def _binary_target(self, ch: _Channel, p1: int, p2: int) -> tuple[Node, int, bool] | bytes:
        if p1 & 0x80:
            if p1 & 0x60:
                return BAD_P1P2
            node = ch.df.sfis.get(p1 & 0x1F)
            if node is None:
                return NOT_FOUND
            return node, p2, True
        if ch.ef is None:
            return NO_EF
        return ch.ef, (p1 << 8) | p2, False

    def _read_binary(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if data:
            return WRONG_LENGTH
        target = self._binary_target(ch, p1, p2)
        if isinstance(target, bytes):
            return target
        node, offset, by_sfi = target
        if node.is_record:
            return WRONG_STRUCTURE
        if node.read_never or not allows(node.read, self._held):
            return SECURITY
        if by_sfi:
            self._select_ef(ch, node)
        avail = node.size - offset
        if avail <= 0:
            return WRONG_OFFSET
        body = self.state.files[node.path]
        if self._t0:
            want = le or 256
            if want > avail:
                return counted(SW1.WRONG_LE, avail)
            return bytes(body[offset : offset + want]) + OK
        if le is None or le == 256:
            return bytes(body[offset : offset + min(avail, 256)]) + OK
        if le > avail:
            return bytes(body[offset:]) + END_REACHED
        return bytes(body[offset : offset + le]) + OK

    def _update_binary(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if not data:
            return WRONG_LENGTH
        target = self._binary_target(ch, p1, p2)
        if isinstance(target, bytes):
            return target
        node, offset, by_sfi = target
        if node.is_record:
            return WRONG_STRUCTURE
        if node.update_never or not allows(node.update, self._held):
            return SECURITY
        if by_sfi:
            self._select_ef(ch, node)
        if offset >= node.size:
            return WRONG_OFFSET
        end = offset + len(data)
        if end > node.size:
            return WRONG_LENGTH
        body = self.state.files[node.path]
        old = bytes(body[offset:end])
        counters = dict(self.state.counters)
        adm1, sqn = self.state.adm1, self.state.sqn

        def undo() -> None:
            body[offset:end] = old
            self.state.counters.update(counters)
            self.state.adm1, self.state.sqn = adm1, sqn
            self._alg.clear()

        body[offset:end] = data
        if node.path in self._pin_paths:
            # New PIN values: counters start again (from the file, on families that keep them there),
            # and old verifications no longer count.
            self._counters_from_files()
            self._verified -= {Cond.PIN1, Cond.PIN2}
        elif node.path in self._key_paths:
            self._alg.clear()
        elif node.path == self._sqn_path:
            self._sqn_from_file()
        self._save(undo)
        if node.path in self._pin_paths:
            self._refresh_held()
        return OK

    def _counters_from_files(self) -> None:
        """After a PIN file was written: the counters it holds (families that keep them in the file), or
        full counters; and the ADM1 key, where the family keeps it in a file."""
        pins = self._secrets.read_pins(self.state.files)
        for name in (*PIN_NAMES, "adm1"):
            pin = pins.get(name)
            if pin is not None and pin.tries is not None:
                self.state.counters[name] = max(0, min(pin.tries, self._max[name]))
            elif name != "adm1":
                self.state.counters[name] = self._max[name]
        if "adm1" in pins:
            self.state.adm1 = pins["adm1"].value

    def _sqn_from_file(self) -> None:
        """After the family's SQN file was written: its settings and slots become the SQN memory (a file
        that does not describe a valid SQN memory leaves it as it was)."""
        try:
            doc = self._secrets.read_sqn(self.state.files)
            if doc is not None:
                self.state.sqn = SqnState.from_dict(doc)
        except (ValueError, InputError) as e:
            log.warning("emulated card: SQN file written with unusable settings (%s); SQN memory kept", e)

    # --- record EFs -------------------------------------------------------------------------------------

    def _record_target(self, ch: _Channel, p2: int, access: str) -> Node | bytes:
        node = self._ef_for(ch, p2 >> 3)
        if isinstance(node, bytes):
            return node
        if not node.is_record:
            return WRONG_STRUCTURE
        if access == "read":
            if node.read_never or not allows(node.read, self._held):
                return SECURITY
        elif node.update_never or not allows(node.update, self._held):
            return SECURITY
        self._select_ef(ch, node)
        return node

    def _record_number(self, ch: _Channel, node: Node, p1: int, mode: int) -> tuple[int, bool] | bytes:
        """(record number, whether the record pointer moves to it) for modes 02/03/04 (§11.1.5)."""
        count = node.rec_count
        cyclic = node.structure == "cyclic"
        if mode == 0x04:
            if p1 == 0:
                return (ch.rec, False) if ch.rec else RECORD_NOT_FOUND
            return (p1, False) if p1 <= count else RECORD_NOT_FOUND
        if mode not in (0x02, 0x03) or p1 != 0:
            return BAD_P1P2
        if mode == 0x02:
            rec = ch.rec + 1
            if rec > count:
                if not cyclic:
                    return RECORD_NOT_FOUND
                rec = 1
        else:
            rec = ch.rec - 1 if ch.rec else count
            if rec < 1:
                if not cyclic:
                    return RECORD_NOT_FOUND
                rec = count
        return rec, True

    def _read_record(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if data:
            return WRONG_LENGTH
        node = self._record_target(ch, p2, "read")
        if isinstance(node, bytes):
            return node
        found = self._record_number(ch, node, p1, p2 & 0x07)
        if isinstance(found, bytes):
            return found
        rec, move = found
        n = node.rec_len
        start = (rec - 1) * n
        record = bytes(self.state.files[node.path][start : start + n])
        if not self._t0 and le is not None and le != 256 and le > n:
            out = record + END_REACHED
        else:
            out = self._case2(record, le)
        if move and out[-2] != 0x6C:
            ch.rec = rec
        return out

    def _update_record(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if not data:
            return WRONG_LENGTH
        node = self._record_target(ch, p2, "update")
        if isinstance(node, bytes):
            return node
        mode = p2 & 0x07
        n = node.rec_len
        if node.structure == "cyclic":
            if mode != 0x03 or p1 != 0:
                return BAD_P1P2
            if len(data) != n:
                return WRONG_LENGTH
            body = self.state.files[node.path]
            old = bytes(body)
            body[:] = data + old[:-n]  # the oldest record is replaced and becomes record 1
            self._save(lambda: body.__setitem__(slice(None), old))
            ch.rec = 1
            return OK
        found = self._record_number(ch, node, p1, mode)
        if isinstance(found, bytes):
            return found
        if len(data) != n:
            return WRONG_LENGTH
        rec, move = found
        body = self.state.files[node.path]
        start = (rec - 1) * n
        old = bytes(body[start : start + n])
        body[start : start + n] = data
        self._save(lambda: body.__setitem__(slice(start, start + n), old))
        if node.path in self._key_paths:
            self._alg.clear()
        if move:
            ch.rec = rec
        return OK

    def _search_record(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if not data:
            return WRONG_LENGTH
        node = self._record_target(ch, p2, "read")
        if isinstance(node, bytes):
            return node
        mode = p2 & 0x07
        if mode in (0x06, 0x07):  # enhanced and proprietary search
            return FUNC_NOT_SUPPORTED
        if mode not in (0x04, 0x05):
            return BAD_P1P2
        count, n = node.rec_count, node.rec_len
        start = p1 or ch.rec
        if not 1 <= start <= count:
            return RECORD_NOT_FOUND
        if len(data) > n:
            return WRONG_LENGTH
        order = range(start, count + 1) if mode == 0x04 else range(start, 0, -1)
        body = self.state.files[node.path]
        hits = bytes(r for r in order if body[(r - 1) * n : (r - 1) * n + len(data)] == data)
        if not hits:
            return END_REACHED
        ch.rec = hits[0]
        return self._case4(chn, hits, le)

    # --- PINs -------------------------------------------------------------------------------------------

    # PIN values, enable flags and (on some families) counters live in the model's PIN files; the model's
    # secret layout reads and writes them. The ADM1 key and all counters are also in the card's private
    # memory (state.adm1, state.counters); where a family keeps them in a file, both change together.

    def _write_pins(self, changes: dict[str, dict[str, Any]]) -> None:
        for path, body in self._secrets.write_pins(self.state.files, changes).items():
            self.state.files[path][:] = body

    def _stored(self, name: str) -> bytes:
        if name in self._secrets.kept:
            return self._secrets.read_pins(self.state.files)[name].value
        return self.state.adm1

    def _set_value(self, name: str, value: bytes) -> None:
        if name in self._secrets.kept:
            self._write_pins({name: {"value": bytes(value)}})
        if name == "adm1":
            self.state.adm1 = bytes(value)

    def _enabled(self, name: str) -> bool:
        return self._secrets.read_pins(self.state.files)[name].enabled

    def _set_enabled(self, name: str, on: bool) -> None:
        self._write_pins({name: {"enabled": on}})

    def _set_counter(self, name: str, value: int) -> None:
        self.state.counters[name] = value
        if self._secrets.counters_in_files and name in self._secrets.kept:
            self._write_pins({name: {"tries": value}})

    def _snapshot(self) -> Callable[[], None]:
        """An undo for PIN-related state: counters, PIN files and ADM key as they are now."""
        counters = dict(self.state.counters)
        stores = {p: bytes(self.state.files[p]) for p in self._pin_paths}
        adm1 = self.state.adm1

        def undo() -> None:
            self.state.counters.update(counters)
            for p, body in stores.items():
                self.state.files[p][:] = body
            self.state.adm1 = adm1

        return undo

    def _secret_equal(self, presented: bytes, stored: bytes) -> bool:
        """Constant-time comparison (a method so tests can check the disk at the moment of comparing)."""
        return hmac.compare_digest(presented, stored)

    def _attempt(self, counter: str, presented: bytes, stored: bytes, on_success: Callable[[], None]) -> bool:
        """One try against a retry counter: the counter goes down on disk BEFORE the comparison, and is
        restored (with `on_success`'s changes) in a second durable write when the value matched."""
        undo = self._snapshot()
        self._set_counter(counter, self.state.counters[counter] - 1)
        self._save(undo)
        if not self._secret_equal(presented, stored):
            return False
        undo = self._snapshot()
        self._set_counter(counter, self._max[counter])
        on_success()
        self._save(undo)
        self._refresh_held()
        return True

    def _tries(self, name: str) -> bytes:
        return counted(SW1.VERIFY_FAILED, 0xC0 | min(self.state.counters[name], 15))

    def _keyref(self, p1: int, p2: int, allow_p1: tuple[int, ...] = (0x00,)) -> str | bytes:
        if p1 not in allow_p1:
            return BAD_P1P2
        name = KEYREFS.get(p2)
        return REF_NOT_FOUND if name is None else name

    def _verify(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        name = self._keyref(p1, p2)
        if isinstance(name, bytes):
            return name
        if not data:
            return self._tries(name)  # retry-counter query: 63CX in every state (specfacts §4.3)
        if len(data) != 8:
            return WRONG_LENGTH
        if self.state.counters[name] == 0:
            return BLOCKED
        return self._pin_try(name, data)

    def _change(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        name = self._keyref(p1, p2)
        if isinstance(name, bytes):
            return name
        if len(data) != 16:
            return WRONG_LENGTH
        if name != "adm1" and not self._enabled(name):
            return INVALIDATED
        if self.state.counters[name] == 0:
            return BLOCKED
        old, new = data[:8], data[8:]
        if name != "adm1" and not _valid_pin(new):
            return WRONG_DATA
        return self._pin_try(name, old, lambda: self._set_value(name, new))

    def _pin_try(self, name: str, presented: bytes, change: Callable[[], None] | None = None) -> bytes:
        """VERIFY, CHANGE, ENABLE, DISABLE: one counted try; success applies `change` and counts as
        verification, failure drops any earlier verification of that PIN and answers the tries left."""
        cond = COND[name]

        def apply() -> None:
            if change is not None:
                change()
            self._verified.add(cond)

        if self._attempt(name, presented, self._stored(name), apply):
            return OK
        self._verified.discard(cond)
        self._refresh_held()
        return self._tries(name)

    def _enable_disable(self, p1: int, p2: int, data: bytes, enable: bool) -> bytes:
        name = self._keyref(p1, p2)
        if isinstance(name, bytes):
            return name
        if name == "adm1":
            return CONDITIONS  # an ADM key is never disabled
        if len(data) != 8:
            return WRONG_LENGTH
        if self._enabled(name) == enable:
            return CONDITIONS
        if self.state.counters[name] == 0:
            return BLOCKED
        return self._pin_try(name, data, lambda: self._set_enabled(name, enable))

    def _disable(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        return self._enable_disable(p1, p2, data, enable=False)

    def _enable(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        return self._enable_disable(p1, p2, data, enable=True)

    def _unblock(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        name = self._keyref(p1, p2)
        if isinstance(name, bytes):
            return name
        if name == "adm1":
            return CONDITIONS  # no unblocking key for ADM
        puk = PUK_OF[name]
        if not data:
            return self._tries(puk)
        if len(data) != 16:
            return WRONG_LENGTH
        if self.state.counters[puk] == 0:
            return BLOCKED
        new = data[8:]
        if not _valid_pin(new):
            return WRONG_DATA
        cond = COND[name]

        def apply() -> None:
            self._set_value(name, new)
            self._set_enabled(name, True)
            self._set_counter(name, self._max[name])
            self._verified.add(cond)

        if self._attempt(puk, data[:8], self._stored(puk), apply):
            return OK
        return self._tries(puk)

    # --- AUTHENTICATE -----------------------------------------------------------------------------------

    def _algorithm(self, context: str) -> Any:
        """The key-bound algorithm for "3g", "gsm" or "ims" context, from the model's key file(s); None: no key."""
        alg = self._alg.get(context, _NO_KEY_YET)
        if alg is _NO_KEY_YET:
            try:
                key = self._secrets.read_key(self.state.files, context)
            except ValueError as e:
                raise auth.KeyFileError(str(e)) from None
            alg = self._alg[context] = auth.algorithm_from_key(key)
        return alg

    def _service(self, app: Node, n: int) -> bool:
        ust = self.layout.ust.get(app.path)
        if ust is None:
            return False
        body = self.state.files[ust.path]
        i = (n - 1) // 8
        return i < len(body) and bool(body[i] & (1 << ((n - 1) % 8)))

    def _authenticate(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 != 0x00:
            return BAD_P1P2
        if p2 not in (0x80, 0x81):
            return CONTEXT_NOT_SUPPORTED if p2 & 0x80 else BAD_P1P2
        app = ch.app
        if app is None:
            return CONDITIONS
        # The ISIM knows the IMS AKA context only (TS 31.103 §7.1.2: P2 81); GSM context is the USIM's.
        isim = app.aid is not None and app.aid.startswith(ISIM_AID_PREFIX)
        if isim and p2 != 0x81:
            return CONTEXT_NOT_SUPPORTED
        if Cond.PIN1 not in self._held:
            return SECURITY
        try:
            alg = self._algorithm("ims" if isim else "gsm" if p2 == 0x80 else "3g")
        except auth.KeyFileError:
            alg = None
        if alg is None:
            return CONDITIONS
        if p2 == 0x80:
            if not self._service(app, SERVICE_GSM_CONTEXT):
                return CONTEXT_NOT_SUPPORTED
            rand = auth.parse_gsm(data)
            if rand is None:
                return WRONG_LENGTH
            return self._case4(chn, auth.run_gsm(alg, rand), le)
        parsed = auth.parse_3g(data)
        if parsed is None:
            return WRONG_LENGTH
        rand, autn = parsed
        out, sw, new_sqn = auth.run_3g(
            alg, self.state.sqn, rand, autn, self._service(app, SERVICE_GSM_ACCESS)
        )
        if new_sqn is not None:
            old = self.state.sqn
            self.state.sqn = new_sqn
            try:
                mirror = self._secrets.write_sqn(self.state.files, new_sqn.to_dict()) if self._sqn_path else {}
            except ValueError:  # an SQN file holding something else: the card's memory still counts
                mirror = {}
            before = {p: bytes(self.state.files[p]) for p in mirror}
            for p, body in mirror.items():  # a family with an SQN file keeps its slots there too
                self.state.files[p][:] = body

            def undo() -> None:
                self.state.sqn = old
                for p, body in before.items():
                    self.state.files[p][:] = body

            self._save(undo)
        if sw != SW.OK:
            return sw.raw
        return self._case4(chn, out, le)

    # --- MANAGE CHANNEL ---------------------------------------------------------------------------------

    def _manage_channel(self, chn: int, ch: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if data:
            return WRONG_LENGTH
        if p1 == 0x00:
            if p2 == 0x00:
                if self._t0 and (le or 256) != 1:
                    return counted(SW1.WRONG_LE, 1)
                free = next((i for i in range(1, MAX_CHANNELS) if self._channels[i] is None), None)
                if free is None:
                    return FUNC_NOT_SUPPORTED
                out = bytes([free]) + OK
            elif p2 < MAX_CHANNELS:
                if self._channels[p2] is not None:
                    return CONDITIONS
                free, out = p2, OK
            else:
                return BAD_P1P2
            # Opened from the basic channel: MF. From another channel: its DF and application.
            self._channels[free] = _Channel(ch.df, ch.app) if chn else _Channel(self.layout.mf)
            return out
        if p1 == 0x80:
            target = p2 or chn
            if target == 0 or target >= MAX_CHANNELS:
                return BAD_P1P2
            if self._channels[target] is None:
                return NO_CHANNEL
            self._channels[target] = None
            return OK
        return BAD_P1P2

    # --- for tests and tools ----------------------------------------------------------------------------

    def open_channels(self) -> list[int]:
        return [i for i, c in enumerate(self._channels) if c is not None]

    def selection(self, channel: int = 0) -> dict[str, Any]:
        """What a channel has selected: current DF/EF paths, record pointer and application."""
        ch = self._channels[channel]
        if ch is None:
            raise ValueError(f"channel {channel} is not open")
        return {
            "df": ch.df.path,
            "ef": ch.ef.path if ch.ef else None,
            "record": ch.rec,
            "app": ch.app.path if ch.app else None,
        }

    @property
    def verified(self) -> frozenset[Cond]:
        """The access conditions held now (verified PINs/ADM, and disabled PINs)."""
        return self._held

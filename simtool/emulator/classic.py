"""The classic SIM command set (TS 51.011 §9, CLA A0) on the emulated UICC, as real UICCs answer it.

Tools written for GSM SIMs (osmocom's pySim-read and pySim-prog) talk CLA A0 to any card they do not know
by its ATR; real UICCs answer them. `Card.process` hands every CLA A0 command here. The file tree, the
access sets, the PIN values and counters, the key and the durable commit are the card's own: this module
only speaks the other dialect over them (basic channel only, as TS 51.011 has no logical channels).

* SELECT takes a FID (and, as UICCs do, an AID with P1 04) and answers `9Fxx`; GET RESPONSE gives the
  TS 51.011 §9.2.1 layout (MF/DF: 23 bytes, EF: 15 bytes), or its first P3 bytes.
* Access sets show as TS 51.011 nibbles (`simtool.fs.access.GSM_LEVEL`); retry counters show in the DF
  response's CHV status bytes, not in status words (`9804` wrong, `9840` blocked).
* Data lengths are exact: P3 longer than the data answers `67xx` with the length the card has.
* The status words of the shared code paths (UPDATE, the CHV commands) are mapped by `FROM_UICC`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simtool.emulator import auth
from simtool.emulator.layout import Node
from simtool.encoding.sw import SW, GsmSW, GsmSW1
from simtool.fs import Cond
from simtool.fs.access import GSM_CHV_REF, KEYREF, allows, gsm_level

if TYPE_CHECKING:
    from simtool.emulator.card import Card, _Channel

G_OK = GsmSW.OK.raw
DF_GSM = 0x7F20
RUN_GSM_RAND = 16
# TS 51.011 §9.3 / §10: the structure byte of an EF's response, and the file type byte.
STRUCTURE = {"transparent": 0x00, "linear_fixed": 0x01, "cyclic": 0x03}
TYPE_MF, TYPE_DF, TYPE_EF = 0x01, 0x02, 0x04
# File characteristics (DF byte 14): b1 clock stop allowed, b5/b6 3 V and 1.8 V technology (specfacts §15.2
# says the voltage bits rest on implementations, not the 51.011 text); b8 is set while CHV1 is disabled.
FILE_CHARACTERISTICS = 0x31
CHV1_DISABLED = 0x80
SECRET_INITIALISED = 0x80  # CHV status bytes: b8 the secret code is initialised, b4..b1 tries left
CHV_COUNT = 4  # CHV1, UNBLOCK CHV1, CHV2, UNBLOCK CHV2 (the ADM key is not counted)

# UICC status words of the shared code paths → the TS 51.011 word saying the same (§9.4).
FROM_UICC: dict[int, GsmSW] = {
    SW.OK: GsmSW.OK,
    SW.SECURITY: GsmSW.ACCESS,
    SW.BLOCKED: GsmSW.CHV_BLOCKED,
    SW.INVALIDATED: GsmSW.CHV_STATUS,
    SW.CONDITIONS: GsmSW.CHV_STATUS,
    SW.WRONG_STRUCTURE: GsmSW.INCONSISTENT,
    SW.NO_EF: GsmSW.NO_EF,
    SW.NOT_FOUND: GsmSW.NOT_FOUND,
    SW.RECORD_NOT_FOUND: GsmSW.OUT_OF_RANGE,
    SW.WRONG_OFFSET: GsmSW.OUT_OF_RANGE,
    SW.WRONG_LENGTH: GsmSW.WRONG_P3,
    SW.WRONG_DATA: GsmSW.CHV_STATUS,  # a new CHV that is no CHV (not 4..8 digits)
    SW.BAD_P1P2: GsmSW.BAD_P1P2,
    SW.REF_NOT_FOUND: GsmSW.BAD_P1P2,
    SW.MEMORY: GsmSW.MEMORY,
}


def _counted(sw1: GsmSW1, n: int) -> bytes:
    return bytes([sw1, n & 0xFF])


def from_uicc(answer: bytes) -> bytes:
    """A UICC answer of the shared code (data + SW) with its status word in TS 51.011 terms."""
    data, sw = answer[:-2], int.from_bytes(answer[-2:], "big")
    if sw >> 8 == 0x63:  # 63Cx: a wrong CHV/UNBLOCK CHV; none left is "blocked"
        return data + (GsmSW.ACCESS.raw if sw & 0x0F else GsmSW.CHV_BLOCKED.raw)
    mapped = FROM_UICC.get(sw)
    return data + (mapped.raw if mapped is not None else GsmSW.TECHNICAL.raw)


def ef_response(node: Node) -> bytes:
    """TS 51.011 §9.2.1 EF response: size, FID, type, access nibbles, status, structure, record length."""
    read, update = gsm_level(node.read), gsm_level(node.update)
    return (
        b"\x00\x00"
        + node.size.to_bytes(2, "big")
        + node.fid.to_bytes(2, "big")
        + bytes([TYPE_EF, 0x00])
        + bytes([read << 4 | update, 0xFF, 0xFF])  # INCREASE never, REHABILITATE/INVALIDATE never (not offered)
        + bytes([0x01, 0x02, STRUCTURE[node.structure], node.rec_len])
    )


class ClassicSim:
    """The CLA A0 dialect of one `Card` (same files, PINs, keys and commit path)."""

    def __init__(self, card: Card) -> None:
        self.card = card
        self._ins = {
            0xA4: self._select, 0xC0: self._get_response, 0xF2: self._status,
            0xB0: self._read_binary, 0xD6: self._update_binary, 0xB2: self._read_record,
            0xDC: self._update_record, 0xA2: self._seek, 0x20: self._verify, 0x24: self._change,
            0x26: self._disable, 0x28: self._enable, 0x2C: self._unblock, 0x88: self._run_gsm,
        }
        self._ef_cache: dict[int, bytes] = {}

    def process(self, apdu: bytes) -> bytes:
        """One CLA A0 command: `A0 INS P1 P2 P3 [data]`, with data exactly P3 long when it goes in."""
        if len(apdu) < 5:
            return _counted(GsmSW1.WRONG_P3, 0)
        ins, p1, p2, p3 = apdu[1], apdu[2], apdu[3], apdu[4]
        handler = self._ins.get(ins)
        if handler is None:
            return GsmSW.INS_NOT_SUPPORTED.raw
        data = apdu[5:]
        if data and len(data) != p3:
            return _counted(GsmSW1.WRONG_P3, 0)
        ch = self.card._channels[0]
        assert ch is not None  # the basic channel is always open
        if ins != 0xC0:
            self.card._pending = None
        return handler(ch, p1, p2, p3, data)

    # --- responses ------------------------------------------------------------------------------------

    def df_response(self, node: Node) -> bytes:
        """TS 51.011 §9.2.1 MF/DF response (23 bytes): FID, type, characteristics, children, CHV status."""
        card = self.card
        c = card.state.counters
        pins = card._secrets.read_pins(card.state.files)
        dfs = sum(1 for n in node.children.values() if n.is_df)
        efs = len(node.children) - dfs
        chars = FILE_CHARACTERISTICS | (0 if pins["pin1"].enabled else CHV1_DISABLED)
        status = bytes(SECRET_INITIALISED | min(c[n], 15) for n in ("pin1", "puk1", "pin2", "puk2"))
        gsm = bytes([chars, dfs, efs, CHV_COUNT, 0x00]) + status + b"\x00"
        return (
            b"\x00\x00\x00\x00"
            + node.fid.to_bytes(2, "big")
            + bytes([TYPE_MF if node is card.layout.mf else TYPE_DF])
            + b"\x00" * 5
            + bytes([len(gsm)])
            + gsm
        )

    def response(self, node: Node) -> bytes:
        if node.is_df:
            return self.df_response(node)
        out = self._ef_cache.get(id(node))
        if out is None:
            out = self._ef_cache[id(node)] = ef_response(node)
        return out

    def _pending(self, data: bytes) -> bytes:
        self.card._pending = (0, data, G_OK)
        return _counted(GsmSW1.RESPONSE_AVAILABLE, len(data))

    @staticmethod
    def _out(data: bytes, p3: int) -> bytes:
        """Data out, P3 long (P3 00 = 256): all of it or its first P3 bytes; more than there is: 67xx."""
        want = p3 or 256
        if want > len(data):
            return _counted(GsmSW1.WRONG_P3, len(data))
        return data[:want] + G_OK

    # --- SELECT, GET RESPONSE, STATUS ------------------------------------------------------------------

    def _select(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        card = self.card
        if p1 == 0x04:  # by AID, as UICCs take it under CLA A0 too (pySim-prog selects ADF.USIM so)
            if p2 not in (0x00, 0x04) or not 1 <= len(data) <= 16:
                return GsmSW.BAD_P1P2.raw if data else _counted(GsmSW1.WRONG_P3, 0)
            hits = card.layout.adf_by_aid(data)
            if not hits:
                return GsmSW.NOT_FOUND.raw
            node = hits[0]
            ch.app, ch.df, ch.ef, ch.rec = node, node, None, 0
            return self._pending(self.response(node))
        if p1 or p2:
            return GsmSW.BAD_P1P2.raw
        if len(data) != 2:
            return _counted(GsmSW1.WRONG_P3, 2)
        found = card._by_fid(ch, (data[0] << 8) | data[1])
        if found is None:
            return GsmSW.NOT_FOUND.raw
        if found.is_df:
            ch.df, ch.ef, ch.rec = found, None, 0
            if found.is_adf:
                ch.app = found
        else:
            card._select_ef(ch, found)
            ch.rec = 0
        return self._pending(self.response(found))

    def _get_response(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        if p1 or p2:
            return GsmSW.BAD_P1P2.raw
        if data:
            return _counted(GsmSW1.WRONG_P3, 0)
        pending = self.card._pending
        if pending is None or pending[0] != 0:
            return GsmSW.CHV_STATUS.raw  # nothing to give (51.011 names no word for it; the UICC's is 6985)
        out = self._out(pending[1], p3)
        if out[-2] != GsmSW1.WRONG_P3:
            self.card._pending = None
        return out

    def _status(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        if p1 or p2:
            return GsmSW.BAD_P1P2.raw
        if data:
            return _counted(GsmSW1.WRONG_P3, 0)
        return self._out(self.df_response(ch.df), p3)

    # --- transparent EFs -------------------------------------------------------------------------------

    def _current_ef(self, ch: _Channel, record: bool) -> Node | bytes:
        node = ch.ef
        if node is None:
            return GsmSW.NO_EF.raw
        if node.is_record != record:
            return GsmSW.INCONSISTENT.raw
        return node

    def _readable(self, node: Node) -> bool:
        return not node.read_never and allows(node.read, self.card._held)

    def _read_binary(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        if data:
            return _counted(GsmSW1.WRONG_P3, 0)
        node = self._current_ef(ch, record=False)
        if isinstance(node, bytes):
            return node
        if not self._readable(node):
            return GsmSW.ACCESS.raw
        offset = (p1 << 8) | p2
        if p1 & 0x80 or offset >= node.size:
            return GsmSW.OUT_OF_RANGE.raw
        want = p3 or 256
        avail = node.size - offset
        if want > avail:
            return _counted(GsmSW1.WRONG_P3, avail)
        return bytes(self.card.state.files[node.path][offset : offset + want]) + G_OK

    def _update_binary(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        if not data:
            return _counted(GsmSW1.WRONG_P3, 0)
        node = self._current_ef(ch, record=False)
        if isinstance(node, bytes):
            return node
        if p1 & 0x80:
            return GsmSW.OUT_OF_RANGE.raw
        # The UICC's UPDATE BINARY: the same access check, PIN/key/SQN file handling and durable save.
        return from_uicc(self.card._update_binary(0, ch, p1, p2, data, None))

    # --- record EFs ------------------------------------------------------------------------------------

    def _read_record(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        if data:
            return _counted(GsmSW1.WRONG_P3, 0)
        node = self._current_ef(ch, record=True)
        if isinstance(node, bytes):
            return node
        if not self._readable(node):
            return GsmSW.ACCESS.raw
        if (p3 or 256) != node.rec_len:
            return _counted(GsmSW1.WRONG_P3, node.rec_len)
        found = self.card._record_number(ch, node, p1, p2)
        if isinstance(found, bytes):
            return from_uicc(found)
        rec, move = found
        if move:
            ch.rec = rec
        start = (rec - 1) * node.rec_len
        return bytes(self.card.state.files[node.path][start : start + node.rec_len]) + G_OK

    def _update_record(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        if not data:
            return _counted(GsmSW1.WRONG_P3, 0)
        node = self._current_ef(ch, record=True)
        if isinstance(node, bytes):
            return node
        if len(data) != node.rec_len:
            return _counted(GsmSW1.WRONG_P3, node.rec_len)
        if p2 not in (0x02, 0x03, 0x04):
            return GsmSW.BAD_P1P2.raw
        # The UICC's UPDATE RECORD on the current EF (SFI 0): same access check, cyclic rule and save.
        return from_uicc(self.card._update_record(0, ch, p1, p2, data, None))

    def _seek(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        """SEEK (§9.2.5): P2 high nibble the type (0: set the record pointer, 1: also give the record
        number), low nibble the mode (0 from the start, 1 from the end, 2 next, 3 previous)."""
        if not data:
            return _counted(GsmSW1.WRONG_P3, 0)
        node = self._current_ef(ch, record=True)
        if isinstance(node, bytes):
            return node
        kind, mode = p2 >> 4, p2 & 0x0F
        if p1 or kind > 1 or mode > 3:
            return GsmSW.BAD_P1P2.raw
        if not self._readable(node):
            return GsmSW.ACCESS.raw
        count, n = node.rec_count, node.rec_len
        if len(data) > n:
            return _counted(GsmSW1.WRONG_P3, n)
        order = {0: range(1, count + 1), 1: range(count, 0, -1), 2: range(ch.rec + 1, count + 1),
                 3: range((ch.rec or count + 1) - 1, 0, -1)}[mode]
        body = self.card.state.files[node.path]
        hit = next((r for r in order if body[(r - 1) * n : (r - 1) * n + len(data)] == data), None)
        if hit is None:
            return GsmSW.NOT_FOUND.raw
        ch.rec = hit
        return self._pending(bytes([hit])) if kind else G_OK

    # --- CHV commands (the UICC's code paths: one counted try, durable before comparing) ------------------

    def _keyref(self, p1: int, p2: int) -> int | bytes:
        cond = GSM_CHV_REF.get(p2)
        if p1 or cond is None:
            return GsmSW.BAD_P1P2.raw
        return KEYREF[cond]

    def _chv(self, ch: _Channel, p1: int, p2: int, data: bytes, size: int, ins: int) -> bytes:
        if len(data) != size:
            return _counted(GsmSW1.WRONG_P3, size)
        ref = self._keyref(p1, p2)
        if isinstance(ref, bytes):
            return ref
        handler = self.card._ins[ins][0]
        return from_uicc(handler(0, ch, 0x00, ref, data, None))

    def _verify(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        return self._chv(ch, p1, p2, data, 8, 0x20)

    def _change(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        return self._chv(ch, p1, p2, data, 16, 0x24)

    def _disable(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        if p2 != 0x01:  # only CHV1 can be disabled (§9.2.11)
            return GsmSW.BAD_P1P2.raw
        return self._chv(ch, p1, p2, data, 8, 0x26)

    def _enable(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        if p2 != 0x01:
            return GsmSW.BAD_P1P2.raw
        return self._chv(ch, p1, p2, data, 8, 0x28)

    def _unblock(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        # §9.2.12 gives P2 00 for CHV1; pySim sends the CHV number (01). Both unblock CHV1, 02 CHV2.
        return self._chv(ch, p1, p2 or 0x01, data, 16, 0x2C)

    # --- RUN GSM ALGORITHM -----------------------------------------------------------------------------

    def _run_gsm(self, ch: _Channel, p1: int, p2: int, p3: int, data: bytes) -> bytes:
        """§9.2.16: RAND in, `9F0C`, then SRES(4) Kc(8) by GET RESPONSE; DF.GSM selected, CHV1 held."""
        if p1 or p2:
            return GsmSW.BAD_P1P2.raw
        if len(data) != RUN_GSM_RAND:
            return _counted(GsmSW1.WRONG_P3, RUN_GSM_RAND)
        if ch.df.fid != DF_GSM or ch.df.parent is not self.card.layout.mf:
            return GsmSW.INCONSISTENT.raw
        if Cond.PIN1 not in self.card._held:
            return GsmSW.ACCESS.raw
        try:
            alg = self.card._algorithm("gsm")
        except auth.KeyFileError:  # a key file no algorithm here can use (COMP128 is not emulated)
            alg = None
        if alg is None:
            return GsmSW.CHV_STATUS.raw
        return self._pending(auth.run_gsm_algorithm(alg, data))

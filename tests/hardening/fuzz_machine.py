"""A hypothesis state machine that drives an emulated card with valid-ish and random APDUs (issue 9).

It SELECTs over the model's tree, READs and UPDATEs with random offsets, records and SFIs, presents right
and wrong PINs, PUKs and ADM keys (VERIFY, CHANGE, DISABLE, ENABLE, UNBLOCK), opens and closes logical
channels, AUTHENTICATEs (with vectors built from the card's own keys, and with noise), asks for GET
RESPONSE, resets the card and reloads it from its state file, on every card model in every protocol it
speaks, starting from a blank card or from a personalized one; and the same over the classic SIM command set
(CLA A0, TS 51.011: SELECT by FID, GET RESPONSE, STATUS, READ/UPDATE, SEEK, the CHV commands, RUN GSM
ALGORITHM), whose tries count on the same counters. After every APDU it checks:

* the answer ends in a valid two-byte status word, never 6F00, and the card logged no internal error;
* no retry counter goes up except through the right PIN/PUK (or a PIN-file write under ADM1), and a
  wrong value always costs exactly one try (the model's counters and PIN values are tracked here);
* no answer carries a secret: the PIN, PUK and ADM values, K and OPc, or anything written into a key or
  PIN file; READ BINARY on those files is always 6982;
* the file tree stays consistent: every EF holds exactly the model's size, and reloading the state file
  gives the state the card has in memory.

Used by tests/hardening/test_hardening_fuzz_apdu.py (bounded) and fuzz/ (`make fuzz`, longer runs).

TODO(issue 9, applet part): once the plan applet and its OTA receiver (simtool/emulator/{applet,cat,ota}.py)
have landed, add rules that send ENVELOPE (SMS-PP download) with packets from simtool.crypto.ota, valid and
tampered (MAC, counter, TAR, padding), and the invariant that EF.BALANCE, EF.VALIDITY and EF.OTA_CNTR change
only for a packet with a valid MAC and a counter above the stored one. The random rules already reach the
CAT instructions (TERMINAL PROFILE, FETCH, TERMINAL RESPONSE, ENVELOPE) with noise.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from simtool.crypto import aka
from simtool.emulator import Card, create_card_file
from simtool.emulator.state import COUNTERS, expected_files, max_tries
from simtool.fs import EF, MODELS, Cond
from simtool.personalize.flash import flash
from simtool.profile import Identity, load_profile
from simtool.profile.capacity import capacities_for_model
from simtool.profile.render import render
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport

ROOT = Path(__file__).resolve().parents[2]
COMBOS = [(m.name, p) for m in MODELS.values() for p in m.protocols]
ADM = bytes.fromhex("3834313937353230")  # ASCII "84197520": the vendor's ADM1 of these cards
IDENT = dict(iccid="8931080000000000019", imsi="204080000000001", ki="5a1c9e33d07b48f2a6e1c0d9b3f47e28",
             opc="c3b2a1908f7e6d5c4b3a29180f1e2d3c", adm1_hex=ADM.hex(), pin1="471108", puk1="83920174",
             pin2="592817", puk2="61830592")
KEYREFS = {0x01: "pin1", 0x81: "pin2", 0x0A: "adm1"}
PUK_OF = {"pin1": "puk1", "pin2": "puk2"}
PIN_INS = {0x20: "VERIFY", 0x24: "CHANGE", 0x26: "DISABLE", 0x28: "ENABLE", 0x2C: "UNBLOCK"}
# Status word first bytes a UICC may answer with (TS 102 221 §10.2): 6F00 is checked apart.
SW1_VALID = {0x61, 0x62, 0x63, 0x64, 0x65, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x90, 0x91,
             0x92, 0x93, 0x98, 0x94, 0x9F}  # 94xx, 9Fxx: the classic SIM's (CLA A0, TS 51.011 §9.4)
# CLA A0 (the classic SIM command set): CHV references in P2 (UNBLOCK's P2 00 is CHV1 too).
GSM_KEYREFS = {0x00: "pin1", 0x01: "pin1", 0x02: "pin2", 0x0A: "adm1"}
CLASSIC_INS = [0xA4, 0xC0, 0xF2, 0xB0, 0xD6, 0xB2, 0xDC, 0xA2, 0x20, 0x24, 0x26, 0x28, 0x2C, 0x88, 0x32, 0x04]
KNOWN_INS = [0xA4, 0xB0, 0xD6, 0xB2, 0xDC, 0xA2, 0xF2, 0x20, 0x24, 0x26, 0x28, 0x2C, 0x88, 0x70, 0xC0, 0x10,
             0x12, 0x14, 0xC2]


def pin(value: str) -> bytes:
    return value.encode() + b"\xff" * (8 - len(value))


@cache
def personalized_state(model_name: str, protocol: str) -> str:
    """The state file (JSON text) of a card of this model personalized with the 1 GB profile and IDENT."""
    model = MODELS[model_name]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "card.json"
        src = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
        keep = capacities_for_model(model).oplmn_entries
        lines, section, n = [], None, 0
        for line in src.read_text(encoding="utf-8").splitlines(keepends=True):
            if line[:1].isalpha():
                section = line.split(":", 1)[0]
            if section == "oplmn_wact" and line.startswith("  - "):
                n += 1
                if n > keep:
                    continue
            lines.append(line)
        prof_path = Path(d) / src.name
        prof_path.write_text("".join(lines), encoding="utf-8")
        profile = load_profile(prof_path, capacities_for_model(model))
        ident = Identity.create(**IDENT)
        create_card_file(path, ADM, protocol=protocol, model=model)
        card = Card.load(path)
        flash(Reader(EmulatedTransport(card, "emu:fuzz")), profile, ident, image=render(profile, ident, model))
        return path.read_text()


def _fid_path(entry: Any) -> bytes:
    """SELECT by path from the MF (P1=08): FIDs below the MF, ADFs as 7FFF."""
    fids = [0x7FFF if p.aid is not None else p.fid for p in entry.parents[1:]]
    node = entry.node
    fids.append(0x7FFF if getattr(node, "aid", None) is not None else node.fid)
    return b"".join(f.to_bytes(2, "big") for f in fids)


def _cla(channel: int, proprietary: bool = False) -> int:
    base = channel if channel < 4 else 0x40 | (channel - 4)
    return base | (0x80 if proprietary else 0)


def _apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    out = bytes([cla, ins, p1 & 0xFF, p2 & 0xFF])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        out += bytes([le & 0xFF])
    return out


channels = st.one_of(st.just(0), st.integers(0, 39))  # 20..39: one of the open channels (see _ch)
offsets = st.one_of(st.integers(0, 40), st.integers(0, 0x7FFF))
les = st.one_of(st.none(), st.integers(0, 255))
records = st.integers(0, 255)
small_data = st.binary(min_size=1, max_size=80)
sfis = st.one_of(st.just(0), st.integers(1, 31))
choice = st.sampled_from(["right", "wrong", "wrong", "short", "none"])
new_pins = st.sampled_from(["1234", "0000", "98765432", "55555", "12a4", "", "123"])


class ApduMachine(RuleBasedStateMachine):
    """One emulated card per run, on disk in a temp directory; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.dir: Path | None = None
        self.apdus = 0

    # --- setup and teardown -------------------------------------------------------------------------

    @initialize(combo=st.sampled_from(COMBOS), personalized=st.booleans())
    def boot(self, combo: tuple[str, str], personalized: bool) -> None:
        model_name, protocol = combo
        self.model = MODELS[model_name]
        self.dir = Path(tempfile.mkdtemp(prefix="simtool-fuzz-"))
        self.path = self.dir / "card.json"
        if personalized:
            self.path.write_text(personalized_state(model_name, protocol))
            self.path.chmod(0o600)
        else:
            create_card_file(self.path, ADM, protocol=protocol, model=self.model)
        self.card = Card.load(self.path)
        fs = self.model.fs
        self.entries = [e for e in fs.walk() if e.parents]  # everything below the MF
        self.secret_paths = [e.path for e in fs.efs() if e.ef.secret]
        self.pin_paths = set(self.model.secrets.pin_paths)
        self.sizes = expected_files(self.model)
        self.max = max_tries(self.model)
        self.aids = [e.df.aid for e in fs.dfs() if e.df.aid is not None]
        # The model of what the card must remember: PIN/PUK/ADM values and retry counters.
        self.values = self._card_values()
        self.counters = dict(self.card.state.counters)
        self.secret_writes: set[bytes] = set()  # what this run wrote into key and PIN files
        self.keys = [bytes.fromhex(IDENT["ki"]), bytes.fromhex(IDENT["opc"])] if personalized else []
        self.sqn = 1 << 12

    def teardown(self) -> None:
        if self.dir is not None:
            try:
                if hasattr(self, "card"):
                    self._check_reload()
            finally:
                shutil.rmtree(self.dir, ignore_errors=True)

    # --- the one way APDUs go to the card, with the per-APDU checks --------------------------------

    def _card_values(self) -> dict[str, bytes]:
        pins = self.model.secrets.read_pins(self.card.state.files)
        values = {n: p.value for n, p in pins.items()}
        values["adm1"] = self.card.state.adm1
        return values

    def send(self, apdu: bytes) -> bytes:
        card = self.card
        before = dict(card.state.counters)
        held = card.verified
        pin_files = {p: bytes(card.state.files[p]) for p in self.pin_paths}
        out = card.process(apdu)
        self.apdus += 1
        assert isinstance(out, bytes) and len(out) >= 2, f"{apdu.hex()}: answer {out!r} has no status word"
        sw = int.from_bytes(out[-2:], "big")
        assert not card.internal_errors, f"{apdu.hex()}: internal error {card.internal_errors}"
        assert sw != 0x6F00, f"{apdu.hex()}: 6F00"
        assert out[-2] in SW1_VALID, f"{apdu.hex()}: SW {sw:04X} is not a status word a UICC gives"
        written = {p for p, b in pin_files.items() if bytes(card.state.files[p]) != b}
        self._check_pins(apdu, sw, before, held, written)
        self._check_no_secret(apdu, out[:-2])
        return out

    def _command_data(self, apdu: bytes) -> bytes | None:
        if len(apdu) < 6 or apdu[4] == 0:
            return None
        lc = apdu[4]
        return apdu[5 : 5 + lc] if len(apdu) in (5 + lc, 6 + lc) else None

    def _check_pins(self, apdu: bytes, sw: int, before: dict[str, int], held: frozenset, written: set[str]) -> None:
        """Counters and PIN values change only as the standard allows (against this test's own model)."""
        card = self.card
        after = card.state.counters
        ins = apdu[1] if len(apdu) > 1 else -1
        data = self._command_data(apdu)
        classic = bool(apdu) and apdu[0] == 0xA0
        is_pin_cmd = ins in PIN_INS and len(apdu) > 3 and (apdu[0] & 0x80 == 0 or classic) and apdu[2] == 0
        name = (GSM_KEYREFS if classic else KEYREFS).get(apdu[3]) if is_pin_cmd else None
        if classic and name is not None and apdu[3] == 0x00 and ins != 0x2C:
            name = None  # P2 00 names CHV1 for UNBLOCK only
        tried = {0x9804, 0x9840} if classic else set(range(0x63C0, 0x63D0))  # a wrong value's answers
        file_update = ins == 0xD6 and written
        if file_update:
            # A PIN file written through UPDATE BINARY: only with ADM1 held; counters and values follow it.
            assert sw == 0x9000 and Cond.ADM1 in held, f"{apdu.hex()}: PIN file changed without ADM1"
            self.values = self._card_values()
            self.counters = dict(after)
            return
        assert before == self.counters, f"counters {before} differ from the model {self.counters}"
        target = (PUK_OF.get(name) if ins == 0x2C else name) if name else None
        for c in COUNTERS:
            old, new = before[c], after[c]
            if new == old:
                continue
            assert target is not None and data is not None, f"{apdu.hex()}: counter {c} {old}->{new}"
            presented = data[:8]
            if new > old:  # only the right value restores a counter, and then to the full count
                assert sw == 0x9000, f"{apdu.hex()}: counter {c} up {old}->{new} with SW {sw:04X}"
                assert presented == self.values[target], f"{apdu.hex()}: counter {c} up with a wrong value"
                assert c == target or (ins == 0x2C and c == name), f"{apdu.hex()}: counter {c} up"
                assert new == self.max[c], f"{apdu.hex()}: counter {c} restored to {new}, not {self.max[c]}"
            else:
                assert c == target and new == old - 1, f"{apdu.hex()}: counter {c} {old}->{new}"
                assert presented != self.values[target], f"{apdu.hex()}: the right value cost a try"
                want = (0x9804 if new else 0x9840) if classic else 0x63C0 | min(new, 15)
                assert sw == want, f"{apdu.hex()}: wrong value answered {sw:04X}"
        if target is not None and data is not None and sw & 0xFFF0 == 0x63C0 and not classic:
            assert after[target] == before[target] - 1, f"{apdu.hex()}: a wrong value cost no try"
        if sw == 0x9000 and target is not None and data is not None and ins in (0x24, 0x2C):
            self.values[name] = data[8:16]  # CHANGE / UNBLOCK: the new value is the second 8 bytes
        self.counters = dict(after)
        if written:  # outside UPDATE BINARY, only a PIN command that was carried out changes a PIN file
            assert is_pin_cmd and (sw == 0x9000 or sw in tried), f"{apdu.hex()}: PIN file changed ({sw:04X})"
        assert self._card_values() == self.values, f"{apdu.hex()}: PIN values differ from the model"

    def _needles(self) -> set[bytes]:
        needles = {v for v in self.values.values() if len(set(v)) > 1}
        needles |= set(self.keys)
        needles |= self.secret_writes
        return needles

    def _check_no_secret(self, apdu: bytes, data: bytes) -> None:
        if len(data) < 8:
            return
        hits = [n for n in self._needles() if n in data]
        if not hits:
            return
        # Allowed only where the same bytes are also in a readable file (the fuzzer may write them there).
        public = b"|".join(bytes(b) for p, b in self.card.state.files.items() if p not in self.secret_paths)
        leaked = [n.hex() for n in hits if n not in public]
        assert not leaked, f"{apdu.hex()}: the answer carries secret bytes {leaked}"

    def _check_reload(self) -> None:
        again = Card.load(self.path)
        assert again.state.to_json() == self.card.state.to_json(), "the state file differs from the card's memory"

    # --- invariants ---------------------------------------------------------------------------------

    @invariant()
    def files_keep_their_sizes(self) -> None:
        if not hasattr(self, "card"):
            return
        files = self.card.state.files
        assert set(files) == set(self.sizes)
        bad = [p for p, n in self.sizes.items() if len(files[p]) != n]
        assert not bad, f"files resized: {bad}"
        assert self.card.state.counters == self.counters
        assert all(0 <= v <= self.max[k] for k, v in self.counters.items())

    # --- SELECT ---------------------------------------------------------------------------------------

    def _ch(self, c: int) -> int:
        """Channels 0..19 as drawn (most of them closed: 6881), 20..39 one of the channels open now."""
        if c < 20:
            return c
        open_now = self.card.open_channels()
        return open_now[c % len(open_now)]

    def _entry(self, i: int) -> Any:
        return self.entries[i % len(self.entries)]

    def _select_entry(self, entry: Any, ch: int = 0, fcp: bool = False) -> int:
        if "/ADF." in entry.path:
            aid = self.aids[0]
            self.send(_apdu(_cla(self._ch(ch)), 0xA4, 0x04, 0x0C, aid))
        p = _fid_path(entry)
        out = self.send(_apdu(_cla(self._ch(ch)), 0xA4, 0x08, 0x04 if fcp else 0x0C, p, 0 if fcp else None))
        return int.from_bytes(out[-2:], "big")

    @rule(i=st.integers(0, 10_000), ch=channels, fcp=st.booleans())
    def select_by_path(self, i: int, ch: int, fcp: bool) -> None:
        self._select_entry(self._entry(i), ch, fcp)

    @rule(i=st.integers(0, 10_000), ch=channels, p1=st.sampled_from([0x00, 0x01, 0x09]),
          p2=st.sampled_from([0x04, 0x0C, 0x00]), junk=st.booleans())
    def select_by_fid(self, i: int, ch: int, p1: int, p2: int, junk: bool) -> None:
        fid = self._entry(i).node.fid if not junk else i & 0xFFFF
        self.send(_apdu(_cla(self._ch(ch)), 0xA4, p1, p2, fid.to_bytes(2, "big")))

    @rule(ch=channels, cut=st.integers(1, 16), p2=st.sampled_from([0x04, 0x0C, 0x00, 0x02, 0x42, 0x4C, 0x01]),
          noise=st.binary(max_size=16))
    def select_by_aid(self, ch: int, cut: int, p2: int, noise: bytes) -> None:
        aid = (noise or self.aids[0][:cut]) or b"\xa0"
        self.send(_apdu(_cla(self._ch(ch)), 0xA4, 0x04, p2, aid))

    @rule(ch=channels, p1=st.integers(0, 255), p2=st.integers(0, 255), data=st.binary(max_size=18), le=les)
    def select_random(self, ch: int, p1: int, p2: int, data: bytes, le: int | None) -> None:
        self.send(_apdu(_cla(self._ch(ch)), 0xA4, p1, p2, data, le))

    # --- transparent and record EFs -------------------------------------------------------------------

    @rule(ch=channels, sfi=sfis, offset=offsets, le=les)
    def read_binary(self, ch: int, sfi: int, offset: int, le: int | None) -> None:
        p1, p2 = (0x80 | sfi, offset & 0xFF) if sfi else (offset >> 8, offset & 0xFF)
        self.send(_apdu(_cla(self._ch(ch)), 0xB0, p1, p2, b"", 0 if le is None else le))

    @rule(ch=channels, sfi=sfis, offset=offsets, data=small_data)
    def update_binary(self, ch: int, sfi: int, offset: int, data: bytes) -> None:
        p1, p2 = (0x80 | sfi, offset & 0xFF) if sfi else (offset >> 8, offset & 0xFF)
        target = self._binary_target(self._ch(ch), sfi)
        out = self.send(_apdu(_cla(self._ch(ch)), 0xD6, p1, p2, data))
        if target in self.secret_paths and out[-2:] == b"\x90\x00" and len(data) >= 8:
            self.secret_writes.add(data)

    def _binary_target(self, ch: int, sfi: int) -> str | None:
        if ch not in self.card.open_channels():
            return None
        sel = self.card.selection(ch)
        if not sfi:
            return sel["ef"]
        node = self.card.layout.nodes[sel["df"]].sfis.get(sfi)
        return node.path if node is not None else None

    @rule(i=st.integers(0, 10_000), offset=offsets, data=small_data, le=les, adm=st.booleans())
    def select_then_write_and_read(self, i: int, offset: int, data: bytes, le: int | None, adm: bool) -> None:
        """A real file, then UPDATE and READ at an offset inside it (most random offsets fall outside)."""
        if adm and self.counters["adm1"] > 1:
            self.send(_apdu(0, 0x20, 0x00, 0x0A, self.values["adm1"]))
        entry = self._entry(i)
        if self._select_entry(entry) != 0x9000 or not isinstance(entry.node, EF):
            return
        size = self.sizes[entry.path]
        off = offset % max(size, 1)
        if entry.ef.is_record:
            n = entry.ef.record_length
            rec = 1 + offset % entry.ef.record_count
            body = (data * (n // len(data) + 1))[:n]
            out = self.send(_apdu(0, 0xDC, rec, 0x04, body))
            self.send(_apdu(0, 0xB2, rec, 0x04, b"", n if le is None else le))
        else:
            out = self.send(_apdu(0, 0xD6, off >> 8, off & 0xFF, data[: size - off] or data[:1]))
            self.send(_apdu(0, 0xB0, off >> 8, off & 0xFF, b"", le if le is not None else min(size - off, 255)))
        if entry.path in self.secret_paths and out[-2:] == b"\x90\x00" and len(data) >= 8:
            self.secret_writes.add(data[: size - off] if not entry.ef.is_record else data)

    @rule(ch=channels, rec=records, mode=st.sampled_from([2, 3, 4, 4, 0, 5, 7]), sfi=sfis, le=les)
    def read_record(self, ch: int, rec: int, mode: int, sfi: int, le: int | None) -> None:
        self.send(_apdu(_cla(self._ch(ch)), 0xB2, rec, (sfi << 3) | mode, b"", 0 if le is None else le))

    @rule(ch=channels, rec=records, mode=st.sampled_from([2, 3, 4, 4, 0, 5]), sfi=sfis, data=small_data)
    def update_record(self, ch: int, rec: int, mode: int, sfi: int, data: bytes) -> None:
        self.send(_apdu(_cla(self._ch(ch)), 0xDC, rec, (sfi << 3) | mode, data))

    @rule(ch=channels, rec=records, mode=st.sampled_from([4, 5, 6, 7, 0]), sfi=sfis, data=small_data, le=les)
    def search_record(self, ch: int, rec: int, mode: int, sfi: int, data: bytes, le: int | None) -> None:
        self.send(_apdu(_cla(self._ch(ch)), 0xA2, rec, (sfi << 3) | mode, data[:20], le))

    @rule(i=st.integers(0, 1000), offset=offsets, le=les, how=st.sampled_from(["binary", "record", "search"]))
    def read_secret_file(self, i: int, offset: int, le: int | None, how: str) -> None:
        """A key or PIN file, selected by path: READ BINARY is 6982 whatever was verified; records, none."""
        path = self.secret_paths[i % len(self.secret_paths)]
        entry = self.model.fs[path]
        assert self._select_entry(entry) == 0x9000
        if how == "binary":
            out = self.send(_apdu(0, 0xB0, (offset >> 8) & 0x7F, offset & 0xFF, b"", 0 if le is None else le))
            assert out == b"\x69\x82", f"READ BINARY of {path} answered {out.hex()}"
            if entry.ef.sfi:
                out = self.send(_apdu(0, 0xB0, 0x80 | entry.ef.sfi, offset & 0xFF, b"", le or 0))
                assert out == b"\x69\x82", f"READ BINARY by SFI of {path} answered {out.hex()}"
        elif how == "record":
            out = self.send(_apdu(0, 0xB2, 1 + offset % 4, 0x04, b"", le or 0))
            assert out in (b"\x69\x81", b"\x69\x82"), f"READ RECORD of {path} answered {out.hex()}"
        else:
            out = self.send(_apdu(0, 0xA2, 1, 0x04, b"\xff", le))
            assert out in (b"\x69\x81", b"\x69\x82"), f"SEARCH RECORD of {path} answered {out.hex()}"

    # --- PINs, PUKs, ADM ------------------------------------------------------------------------------

    def _value(self, name: str, how: str, noise: bytes) -> bytes | None:
        right = self.values[name]
        if how == "right":
            return right
        if how == "none":
            return None
        if how == "short":
            return noise[:5] or b"\x31"
        wrong = (noise + b"\x39" * 8)[:8]
        return wrong if wrong != right else bytes([right[0] ^ 1]) + right[1:]

    @rule(keyref=st.sampled_from([0x01, 0x81, 0x0A, 0x0A, 0x02, 0x8A]), how=choice, noise=st.binary(max_size=9),
          ch=channels)
    def verify(self, keyref: int, how: str, noise: bytes, ch: int) -> None:
        name = KEYREFS.get(keyref, "pin1")
        value = self._value(name, how, noise)
        self.send(_apdu(_cla(self._ch(ch)), 0x20, 0x00, keyref, value or b""))

    @rule(keyref=st.sampled_from([0x01, 0x81, 0x0A]), how=choice, new=new_pins, noise=st.binary(max_size=9))
    def change(self, keyref: int, how: str, new: str, noise: bytes) -> None:
        name = KEYREFS[keyref]
        if keyref == 0x0A and new and new.isdigit():
            new = new.ljust(8, "0")[:8]  # an ADM key stays 8 bytes; a change of it is rare but allowed
        old = self._value(name, how, noise) or b""
        self.send(_apdu(0, 0x24, 0x00, keyref, old.ljust(8, b"\xff")[:8] + pin(new)[:8] if how != "short" else old))

    @rule(ins=st.sampled_from([0x26, 0x28]), keyref=st.sampled_from([0x01, 0x81, 0x0A]), how=choice,
          noise=st.binary(max_size=9))
    def enable_disable(self, ins: int, keyref: int, how: str, noise: bytes) -> None:
        name = KEYREFS[keyref]
        self.send(_apdu(0, ins, 0x00, keyref, self._value(name, how, noise) or b""))

    @rule(keyref=st.sampled_from([0x01, 0x81, 0x0A]), how=choice, new=new_pins, noise=st.binary(max_size=9))
    def unblock(self, keyref: int, how: str, new: str, noise: bytes) -> None:
        name = KEYREFS[keyref]
        puk = self._value(PUK_OF.get(name, "puk1"), how, noise)
        if puk is None:
            self.send(_apdu(0, 0x2C, 0x00, keyref))
        else:
            self.send(_apdu(0, 0x2C, 0x00, keyref, puk if how == "short" else puk + pin(new)[:8]))

    @rule(name=st.sampled_from(["pin1", "pin2", "adm1"]))
    def block_then_unblock(self, name: str) -> None:
        """Spend every try with wrong values, then (for PINs) unblock with the right PUK."""
        keyref = {v: k for k, v in KEYREFS.items()}[name]
        if name == "adm1" and self.counters["adm1"] > 1:
            return  # keep ADM1 usable most of the time; the plain VERIFY rule still spends its tries
        for _ in range(self.max[name] + 1):
            self.send(_apdu(0, 0x20, 0x00, keyref, self._value(name, "wrong", b"")))
        if name != "adm1":
            self.send(_apdu(0, 0x2C, 0x00, keyref, self.values[PUK_OF[name]] + pin("2580")))

    @rule(i=st.integers(0, 1000), offset=st.integers(0, 40), data=small_data)
    def write_pin_file(self, i: int, offset: int, data: bytes) -> None:
        """Under ADM1 (if the right key still works): new PIN file content, even garbage."""
        if self.counters["adm1"] == 0:
            return
        self.send(_apdu(0, 0x20, 0x00, 0x0A, self.values["adm1"]))
        paths = sorted(set(self.secret_paths))
        path = paths[i % len(paths)]
        if self._select_entry(self.model.fs[path]) != 0x9000:
            return
        size = self.sizes[path]
        off = offset % size
        chunk = data[: size - off]
        out = self.send(_apdu(0, 0xD6, 0, off, chunk))
        if out[-2:] == b"\x90\x00" and len(chunk) >= 8:
            self.secret_writes.add(chunk)

    # --- AUTHENTICATE, channels, GET RESPONSE, STATUS ---------------------------------------------------

    @precondition(lambda self: bool(self.keys))
    @rule(rand=st.binary(min_size=16, max_size=16), p2=st.sampled_from([0x81, 0x81, 0x80]), le=les,
          stale=st.booleans())
    def authenticate_with_the_keys(self, rand: bytes, p2: int, le: int | None, stale: bool) -> None:
        self.send(_apdu(0, 0xA4, 0x04, 0x0C, self.aids[0]))
        alg = aka.Milenage(self.keys[0], self.keys[1])
        if p2 == 0x80:
            data = bytes([16]) + rand
        else:
            if not stale:
                self.sqn += 32
            autn = aka.build_autn(alg, rand, aka.int_to_sqn(self.sqn), b"\x80\x00")
            data = bytes([16]) + rand + bytes([16]) + autn
        self.send(_apdu(0, 0x88, 0x00, p2, data, le))

    # --- the classic SIM command set (CLA A0, TS 51.011): same files, PINs and counters ---------------------

    def _classic_select(self, entry: Any) -> int:
        """SELECT by FID from the MF down to `entry` (ADFs by AID, as UICCs take it under A0 too)."""
        out = self.send(_apdu(0xA0, 0xA4, 0x00, 0x00, b"\x3f\x00"))
        for parent in [*entry.parents[1:], entry.node]:
            aid = getattr(parent, "aid", None)
            if aid is not None:
                out = self.send(_apdu(0xA0, 0xA4, 0x04, 0x04, aid))
            else:
                out = self.send(_apdu(0xA0, 0xA4, 0x00, 0x00, parent.fid.to_bytes(2, "big")))
            if out[-2] != 0x9F:
                break
        return int.from_bytes(out[-2:], "big")

    @rule(i=st.integers(0, 10_000), p3=st.one_of(st.none(), st.integers(0, 255)), offset=st.integers(0, 300),
          data=st.one_of(st.none(), small_data), rec=records, mode=st.sampled_from([2, 3, 4, 4, 0]))
    def classic_select_read_update(self, i: int, p3: int | None, offset: int, data: bytes | None, rec: int,
                                   mode: int) -> None:
        entry = self._entry(i)
        sw = self._classic_select(entry)
        if sw >> 8 != 0x9F:
            return
        self.send(bytes([0xA0, 0xC0, 0x00, 0x00, sw & 0xFF if p3 is None else p3]))
        if not isinstance(entry.node, EF):
            self.send(bytes([0xA0, 0xF2, 0x00, 0x00, p3 or 0x17]))
            return
        ef = entry.node
        if ef.is_record:
            n = ef.record_length if p3 is None else p3
            if data is None:
                self.send(bytes([0xA0, 0xB2, rec, mode, n]))
            else:
                self.send(_apdu(0xA0, 0xDC, rec, mode, (data * 8)[:n] or data))
        elif data is None:
            n = max(0, ef.size - offset) & 0xFF if p3 is None else p3
            self.send(bytes([0xA0, 0xB0, offset >> 8, offset & 0xFF, n]))
        else:
            self.send(_apdu(0xA0, 0xD6, offset >> 8, offset & 0xFF, data))

    @rule(i=st.integers(0, 10_000), pattern=st.binary(min_size=1, max_size=6), p2=st.integers(0, 0x13))
    def classic_seek(self, i: int, pattern: bytes, p2: int) -> None:
        if self._classic_select(self._entry(i)) >> 8 == 0x9F:
            out = self.send(_apdu(0xA0, 0xA2, 0x00, p2, pattern))
            if out[-2] == 0x9F:
                self.send(bytes([0xA0, 0xC0, 0x00, 0x00, out[-1]]))

    @rule(ins=st.sampled_from([0x20, 0x24, 0x26, 0x28, 0x2C]), chv=st.sampled_from([0x01, 0x02, 0x0A, 0x00]),
          how=choice, new=new_pins, noise=st.binary(max_size=9))
    def classic_chv(self, ins: int, chv: int, how: str, new: str, noise: bytes) -> None:
        name = GSM_KEYREFS[chv]
        if ins == 0x2C:
            name = PUK_OF.get(name, "puk1")
        value = self._value(name, how, noise) or b""
        if ins in (0x24, 0x2C) and how != "short":
            value = value.ljust(8, b"\xff")[:8] + pin(new if chv != 0x0A else new.ljust(8, "0")[:8])[:8]
        self.send(_apdu(0xA0, ins, 0x00, chv, value))

    @rule(rand=st.binary(min_size=16, max_size=16), in_gsm=st.booleans())
    def classic_run_gsm_algorithm(self, rand: bytes, in_gsm: bool) -> None:
        self.send(_apdu(0xA0, 0xA4, 0x00, 0x00, b"\x3f\x00"))
        if in_gsm:
            self.send(_apdu(0xA0, 0xA4, 0x00, 0x00, b"\x7f\x20"))
        out = self.send(_apdu(0xA0, 0x88, 0x00, 0x00, rand))
        if out == b"\x9f\x0c":
            sres_kc = self.send(bytes([0xA0, 0xC0, 0x00, 0x00, 0x0C]))
            assert sres_kc[-2:] == b"\x90\x00" and len(sres_kc) == 14

    @rule(ins=st.sampled_from(CLASSIC_INS), p1=st.integers(0, 255), p2=st.integers(0, 255),
          p3=st.integers(0, 255), data=st.binary(max_size=20))
    def classic_noise(self, ins: int, p1: int, p2: int, p3: int, data: bytes) -> None:
        self.send(bytes([0xA0, ins, p1, p2, p3]) + data)

    @rule(ch=channels, p1=st.sampled_from([0, 0, 1]), p2=st.sampled_from([0x80, 0x81, 0x82, 0x00]),
          data=st.binary(max_size=40), le=les)
    def authenticate_noise(self, ch: int, p1: int, p2: int, data: bytes, le: int | None) -> None:
        self.send(_apdu(_cla(self._ch(ch)), 0x88, p1, p2, data, le))

    @rule(ch=channels, close=st.booleans(), p2=st.one_of(st.just(0), st.integers(0, 25)), le=les)
    def manage_channel(self, ch: int, close: bool, p2: int, le: int | None) -> None:
        self.send(_apdu(_cla(self._ch(ch)), 0x70, 0x80 if close else 0x00, p2, b"", le if not close else None))

    @rule(ch=channels, le=st.integers(0, 255), p1=st.sampled_from([0, 0, 1]))
    def get_response(self, ch: int, le: int, p1: int) -> None:
        self.send(_apdu(_cla(self._ch(ch)), 0xC0, p1, 0x00, b"", le))

    @rule(ch=channels, p1=st.integers(0, 3), p2=st.sampled_from([0x00, 0x01, 0x0C, 0x02]), le=les)
    def status(self, ch: int, p1: int, p2: int, le: int | None) -> None:
        self.send(_apdu(_cla(self._ch(ch), proprietary=True), 0xF2, p1, p2, b"", le))

    # --- noise ----------------------------------------------------------------------------------------

    @rule(cla=st.one_of(st.sampled_from([0x00, 0x80, 0x01, 0x43, 0x4F, 0xA0, 0xFF, 0x0C, 0x10, 0xE0]),
                        st.integers(0, 255)),
          ins=st.one_of(st.sampled_from(KNOWN_INS), st.integers(0, 255)), p1=st.integers(0, 255),
          p2=st.integers(0, 255), data=st.binary(max_size=260), le=les, lc=st.one_of(st.none(), st.integers(0, 255)))
    def random_command(self, cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None,
                       lc: int | None) -> None:
        apdu = bytes([cla, ins, p1, p2])
        if data or lc is not None:
            apdu += bytes([len(data) & 0xFF if lc is None else lc]) + data[:255]
        if le is not None:
            apdu += bytes([le])
        self.send(apdu)

    @rule(raw=st.binary(max_size=300))
    def raw_bytes(self, raw: bytes) -> None:
        self.send(raw)

    # --- power ----------------------------------------------------------------------------------------

    @rule()
    def reset(self) -> None:
        """A warm reset: the ATR, MF selected, verifications forgotten, nothing remembered changes."""
        counters = dict(self.card.state.counters)
        atr = self.card.reset()
        assert atr == self.card.atr and atr in self.model.atrs
        assert self.card.open_channels() == [0]
        assert self.card.state.counters == counters
        assert Cond.ADM1 not in self.card.verified

    @rule()
    def power_cycle_from_state_file(self) -> None:
        """Power off and on: the card as its state file keeps it, which is what it had in memory."""
        self._check_reload()
        self.card = Card.load(self.path)
        assert self._card_values() == self.values

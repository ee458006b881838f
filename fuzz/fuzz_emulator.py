#!/usr/bin/env python3
"""atheris harness: the emulated card's command processor on sequences of APDUs.

Input: byte 0 picks the card (model x protocol, blank or personalized; in memory, as `emu:` is). Then a
sequence of items, each a length byte L followed by L bytes of APDU, except for these L values:
  FF  VERIFY ADM1 with the right key      FE  warm reset
  FD  VERIFY PIN1 with the right value     FC  VERIFY PIN2 with the right value
  FB  SELECT the model's file number N (next byte), by path from the MF (ADF first)
  FA  AUTHENTICATE with a vector built from the card's keys (next 16 bytes: RAND)

After every APDU: the answer ends in a valid status word, never 6F00, no internal error; no answer
carries K, OPc or a PIN/PUK/ADM value (unless a readable file holds the same bytes); data read with
READ BINARY/RECORD never comes from a key or PIN file; no retry counter goes up except on a 9000 of a
PIN command or of a PIN-file UPDATE. A failed check raises AssertionError, which atheris reports.

    python fuzz/fuzz_emulator.py -max_total_time=60 CORPUS_DIR     # libFuzzer flags; see fuzz/run.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["simtool"]):
    from simtool.commands import run as host_run
    from simtool.commands import uicc
    from simtool.crypto import aka
    from simtool.crypto.aka import SqnState
    from simtool.emulator import Card, CardState, create_card_file
    from simtool.fs import MODELS
    from simtool.personalize.flash import flash
    from simtool.profile import Identity, load_profile
    from simtool.profile.capacity import capacities_for_model
    from simtool.profile.render import render
    from simtool.transport.base import Reader

ADM = bytes.fromhex("3834313937353230")
IDENT = dict(iccid="8931080000000000019", imsi="204080000000001", ki="5a1c9e33d07b48f2a6e1c0d9b3f47e28",
             opc="c3b2a1908f7e6d5c4b3a29180f1e2d3c", adm1_hex=ADM.hex(), pin1="471108", puk1="83920174",
             pin2="592817", puk2="61830592")
COMBOS = [(m, p) for m in MODELS.values() for p in m.protocols]
SW1_VALID = {0x61, 0x62, 0x63, 0x64, 0x65, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x90, 0x91,
             0x92, 0x93, 0x98}
RAISING_INS = {0x20, 0x24, 0x26, 0x28, 0x2C, 0xD6}  # the commands after which a counter may go up (on 9000)


class _Transport:
    def __init__(self, card: Card) -> None:
        self.card, self.name = card, "emu:fuzz"

    atr = property(lambda self: self.card.atr)
    protocol = property(lambda self: self.card.protocol)

    def transmit(self, apdu: bytes) -> bytes:
        return self.card.process(apdu)

    def reset(self) -> bytes:
        return self.card.reset()

    def close(self) -> None:
        pass


def _templates() -> list[tuple[CardState, bool]]:
    """(state, personalized) per combo: blank, and flashed with the 1 GB profile and IDENT."""
    out = []
    ident = Identity.create(**IDENT)
    with tempfile.TemporaryDirectory() as d:
        for model, protocol in COMBOS:
            lines, section, n, keep = [], None, 0, capacities_for_model(model).oplmn_entries
            src = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
            for line in src.read_text(encoding="utf-8").splitlines(keepends=True):
                if line[:1].isalpha():
                    section = line.split(":", 1)[0]
                if section == "oplmn_wact" and line.startswith("  - "):
                    n += 1
                    if n > keep:
                        continue
                lines.append(line)
            prof = Path(d) / f"{model.name}-{protocol[-1]}" / src.name
            prof.parent.mkdir()
            prof.write_text("".join(lines), encoding="utf-8")
            profile = load_profile(prof, capacities_for_model(model))
            blank = Card.blank(adm=ADM, protocol=protocol, model=model)
            out.append((blank.state, False))
            path = prof.parent / "card.json"
            create_card_file(path, ADM, protocol=protocol, model=model)
            card = Card.load(path)
            flash(Reader(_Transport(card)), profile, ident, image=render(profile, ident, model))
            out.append((card.state, True))
    return out


TEMPLATES = _templates()
KEYS = (bytes.fromhex(IDENT["ki"]), bytes.fromhex(IDENT["opc"]))


def _copy(state: CardState) -> CardState:
    return CardState(state.model, state.protocol, {p: bytearray(b) for p, b in state.files.items()},
                     dict(state.counters), state.adm1, SqnState.from_dict(state.sqn.to_dict()))


def _fid_path(entry) -> bytes:
    fids = [0x7FFF if p.aid is not None else p.fid for p in entry.parents[1:]]
    node = entry.node
    fids.append(0x7FFF if getattr(node, "aid", None) is not None else node.fid)
    return b"".join(f.to_bytes(2, "big") for f in fids)


class Session:
    def __init__(self, selector: int) -> None:
        state, self.personalized = TEMPLATES[selector % len(TEMPLATES)]
        self.card = Card(_copy(state))
        model = self.card.model
        self.entries = [e for e in model.fs.walk() if e.parents]
        self.secret = {e.path for e in model.fs.efs() if e.ef.secret}
        self.aid = next(e.df.aid for e in model.fs.dfs() if e.df.aid is not None)
        self.sqn = 1 << 12

    def values(self) -> dict[str, bytes]:
        pins = self.card.model.secrets.read_pins(self.card.state.files)
        out = {n: p.value for n, p in pins.items()}
        out["adm1"] = self.card.state.adm1
        return out

    def send(self, apdu: bytes) -> bytes:
        card = self.card
        before = dict(card.state.counters)
        out = card.process(apdu)
        assert isinstance(out, bytes) and len(out) >= 2, f"{apdu.hex()}: no status word"
        assert not card.internal_errors, card.internal_errors
        sw = int.from_bytes(out[-2:], "big")
        assert sw != 0x6F00 and out[-2] in SW1_VALID, f"{apdu.hex()}: SW {sw:04X}"
        ins = apdu[1] if len(apdu) > 1 else -1
        for name, value in card.state.counters.items():
            if value > before[name]:
                assert sw == 0x9000 and ins in RAISING_INS, f"{apdu.hex()}: counter {name} up with SW {sw:04X}"
        data = out[:-2]
        if data and ins in (0xB0, 0xB2) and len(apdu) >= 4:
            chn = apdu[0] & 0x03 if not apdu[0] & 0x40 else 4 + (apdu[0] & 0x0F)
            if chn in card.open_channels():
                ef = card.selection(chn)["ef"]
                assert ef not in self.secret, f"{apdu.hex()}: data read from {ef}"
        if len(data) >= 8:
            needles = [v for v in self.values().values() if len(set(v)) > 1]
            if self.personalized:
                needles += list(KEYS)
            hits = [n for n in needles if n in data]
            if hits:
                public = b"|".join(bytes(b) for p, b in card.state.files.items() if p not in self.secret)
                leaked = [n.hex() for n in hits if n not in public]
                assert not leaked, f"{apdu.hex()}: secret bytes in the answer"
        return out

    def step(self, data: bytes, i: int) -> int:
        """Run the item at data[i]; the index of the next item."""
        n = data[i]
        i += 1
        if n == 0xFF:
            self.send(b"\x00\x20\x00\x0a\x08" + self.values()["adm1"])
        elif n == 0xFE:
            counters = dict(self.card.state.counters)
            assert self.card.reset() == self.card.atr
            assert self.card.state.counters == counters
        elif n in (0xFD, 0xFC):
            name, ref = ("pin1", 0x01) if n == 0xFD else ("pin2", 0x81)
            self.send(bytes([0, 0x20, 0, ref, 8]) + self.values()[name])
        elif n == 0xFB:
            entry = self.entries[(data[i] if i < len(data) else 0) % len(self.entries)]
            i += 1
            if "/ADF." in entry.path:
                self.send(bytes([0, 0xA4, 0x04, 0x0C, len(self.aid)]) + self.aid)
            p = _fid_path(entry)
            self.send(bytes([0, 0xA4, 0x08, 0x0C, len(p)]) + p)
        elif n == 0xFA:
            rand = data[i : i + 16].ljust(16, b"\x00")
            i += 16
            self.sqn += 32
            alg = aka.Milenage(*KEYS)
            autn = aka.build_autn(alg, rand, aka.int_to_sqn(self.sqn), b"\x80\x00")
            if self.personalized:
                host_run(uicc.authenticate_3g(rand, autn), self.card.protocol, self.send)
        else:
            self.send(data[i : i + n])
            i += n
        return i


def check(data: bytes) -> None:
    if not data:
        return
    session = Session(data[0])
    sizes = {p: len(b) for p, b in session.card.state.files.items()}
    i, steps = 1, 0
    while i < len(data) and steps < 64:
        i = session.step(data, i)
        steps += 1
    assert {p: len(b) for p, b in session.card.state.files.items()} == sizes, "a file changed its size"


def seeds() -> list[bytes]:
    """Seed inputs: each card, with ADM verified, a few selects and reads, and the APDUs of a flash."""
    out = []
    for i in range(len(TEMPLATES)):
        body = b"\xff"
        for j in range(0, 60, 7):
            body += bytes([0xFB, j, 5, 0, 0xB0, 0, 0, 0])
        out.append(bytes([i]) + body + b"\xfa" + bytes(range(16)))
    return out


def main() -> None:
    if sys.argv[1:2] == ["--write-seeds"]:  # fuzz/run.py: put the seed inputs into a corpus directory
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        for n, seed in enumerate(seeds()):
            (out / f"seed-{n:04d}").write_bytes(seed)
        return
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

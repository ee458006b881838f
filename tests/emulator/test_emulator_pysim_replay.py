"""pySim-read and pySim-prog against the emulated card (docs/interop.md), replayed byte for byte in-process.

The traces in tests/emulator/data were recorded on the card side (what the card received, what it answered)
while the real tools ran through pcscd + vpcd; pySim is not needed here. The replay builds the same card,
sends every command and wants every answer as recorded; then checks what the tools left on the card.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.crypto import aka
from simtool.emulator import Card
from simtool.emulator.blank import new_blank_card
from simtool.fs import MODELS
from simtool.personalize.flash import flash
from simtool.profile import Identity, load_profile
from simtool.transport import open_reader

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
SJA2_ADM = b"87654321"
KI = bytes.fromhex("5a1c9e33d07b48f2a6e1c0d9b3f47e28")
OPC = bytes.fromhex("c3b2a1908f7e6d5c4b3a29180f1e2d3c")
SECRETS = {"{ADM1}": SJA2_ADM.hex(), "{KI}": KI.hex(), "{OPC}": OPC.hex()}


def exchanges(name: str) -> list[tuple[str, str]]:
    out = []
    for line in (DATA / name).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        for k, v in SECRETS.items():
            line = line.replace(k, v)
        cmd, _, answer = line.partition(" ")
        out.append((cmd, answer))
    return out


def replay(card: Card, name: str) -> list[tuple[str, str]]:
    """Every exchange of the trace on `card`; the mismatches (index, command, recorded, got)."""
    wrong = []
    for i, (cmd, want) in enumerate(exchanges(name)):
        if cmd == "reset":
            card.reset()
            continue
        got = card.process(bytes.fromhex(cmd)).hex()
        if got != want:
            wrong.append((i, cmd, want, got))
    return wrong


def test_pysim_read_replay() -> None:
    """pySim-read falls back to CLA A0 (its SimCard class) for a card it does not know by ATR and reads
    ICCID, IMSI, SMSP, SPN, PLMNsel, the PLMNwAcT lists, ACC, MSISDN, AD and SST in TS 51.011 terms."""
    identity = Identity.sample()
    reader = open_reader(f"emu:?adm_hex={identity.adm1.hex()}")
    try:
        flash(reader, load_profile(ROOT / "profiles/kpn-wechat-1gb-15d.yaml"), identity)
        card = reader.transport.card
        ex = exchanges("pysim-read.trace")
        assert sum(c.startswith("a0") for c, _ in ex) > 80  # the classic dialect, not the UICC one
        assert replay(card, "pysim-read.trace") == []
        assert card.internal_errors == []
    finally:
        reader.close()


def _auth_ok(card: Card, sqn: int = 32) -> bool:
    """A 3G AUTHENTICATE with a vector from Ki/OPc succeeds (RES as computed)."""
    alg = aka.Milenage(KI, OPC)
    rand = bytes(range(16))
    autn = aka.build_autn(alg, rand, sqn.to_bytes(6, "big"), b"\x80\x00")
    aid = MODELS["sysmoISIM-SJA2"].fs["MF/ADF.USIM"].df.aid
    assert aid is not None
    assert card.process(bytes([0x00, 0xA4, 0x04, 0x0C, len(aid)]) + aid)[-2:] == b"\x90\x00"
    out = card.process(bytes([0x00, 0x88, 0x00, 0x81, 34, 16]) + rand + bytes([16]) + autn)
    if out[0] != 0x61:
        return False
    data = card.process(bytes([0x00, 0xC0, 0x00, 0x00, out[1]]))
    res = alg.f2345(rand)[0]
    return data[:2 + len(res)] == bytes([0xDB, len(res)]) + res


def test_pysim_prog_sja2_replay() -> None:
    """pySim-prog -t sysmoISIM-SJA2 programs a blank SJA2 card (CLA 00: its SJA2 class is a UICC class);
    afterwards the files decode as it meant them and the card authenticates with its Ki/OPc."""
    model = MODELS["sysmoISIM-SJA2"]
    card = Card(new_blank_card(model, adm=SJA2_ADM, iccid="8988211000000467343"))
    assert replay(card, "pysim-prog-sja2.trace") == []
    assert card.internal_errors == []
    fs = model.fs

    def value(path: str) -> object:
        return fs[path].ef.codec.decode(card.file_bytes(path))

    assert value("MF/EF.ICCID") == "8988211000000467343"  # pySim-prog does not write this card type's ICCID
    assert value("MF/DF.GSM/EF.IMSI") == "204080000000042"
    assert value("MF/DF.GSM/EF.SPN")["name"] == "KPN"  # type: ignore[index]
    assert value("MF/DF.GSM/EF.PLMNsel") == [{"mcc": "204", "mnc": "08"}]
    assert value("MF/ADF.USIM/EF.EHPLMN") == [{"mcc": "204", "mnc": "08"}]
    key = model.secrets.read_key(card.state.files)
    assert key is not None and (key["k"], key["opc"], key["algorithm"]) == (KI, OPC, "milenage")
    gsm_key = model.secrets.read_key(card.state.files, "gsm")
    assert gsm_key is not None and (gsm_key["k"], gsm_key["opc"]) == (KI, OPC)
    # pySim-prog leaves PIN1 as the card was shipped (enabled, 0000): AUTHENTICATE wants it.
    assert not _auth_ok(card)
    assert card.process(bytes.fromhex("0020000108") + b"0000\xff\xff\xff\xff") == b"\x90\x00"
    assert _auth_ok(card)
    # The classic SIM's RUN GSM ALGORITHM with the 2G key pySim-prog wrote (6F20): GSM-Milenage c2/c3.
    assert card.process(bytes.fromhex("a0a40000027f20"))[-2] == 0x9F
    assert card.process(bytes.fromhex("a088000010") + bytes(16)) == b"\x9f\x0c"
    sres_kc = card.process(bytes.fromhex("a0c000000c"))
    from simtool.emulator.auth import run_gsm_algorithm

    assert sres_kc == run_gsm_algorithm(aka.Milenage(KI, OPC), bytes(16)) + b"\x90\x00"


@pytest.mark.parametrize("name", ["pysim-read.trace", "pysim-prog-sja2.trace"])
def test_traces_carry_no_secret(name: str) -> None:
    text = (DATA / name).read_text().lower()
    for secret in SECRETS.values():
        assert secret not in text

"""Shared facts and helpers for the card-model tests (tests/models).

The expected file contents are written out here from the codings (applet_spec/files.md for simtool-emu,
sysmocom's SJA2 file codings for sysmoISIM-SJA2), not taken from the code under test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from simtool.cli.main import main
from simtool.commands import Apdu, Response, run, uicc
from simtool.emulator import Card
from simtool.fs import MODELS, CardModel
from simtool.personalize import plan
from simtool.profile import Identity
from simtool.transport import open_reader

ROOT = Path(__file__).resolve().parents[2]
PROFILE_1G = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"

EMU = MODELS["simtool-emu"]
SJA2 = MODELS["sysmoISIM-SJA2"]
SJA2_ATRS = [bytes.fromhex(a) for a in (
    "3b9f96801f878031e073fe211b674a4c753034054ba9",
    "3b9f96801f878031e073fe211b674a4c7531330251b2",
    "3b9f96801f878031e073fe211b674a4c5275310451d5",
)]

ICCID = "8931080000000000019"
IMSI = "204080000000001"
KI = "000102030405060708090a0b0c0d0e0f"
OPC = "0f0e0d0c0b0a09080706050403020100"
ADM_HEX = "3131313131313131"  # ASCII "11111111"
ADM = bytes.fromhex(ADM_HEX)
PIN1, PUK1, PIN2, PUK2 = "471108", "83920174", "592817", "61830592"

# sysmoISIM-SJA2 paths
CHV1 = "MF/DF.SYSTEM/EF.CHV1"
CHV2 = "MF/DF.SYSTEM/EF.CHV2"
ADM1 = "MF/DF.SYSTEM/EF.ADM1"
KEY_2G = "MF/DF.SYSTEM/EF.SIM_AUTH_KEY"
USIM_KEY = "MF/ADF.USIM/EF.USIM_AUTH_KEY"
ISIM_KEY = "MF/ADF.ISIM/EF.ISIM_AUTH_KEY"
USIM_SQN = "MF/ADF.USIM/EF.USIM_SQN"
# simtool-emu paths
EMU_KEY = "MF/EF.AUTH_KEY"
EMU_PINS = "MF/EF.PINS"

SHIPPED_SQN = bytes.fromhex("d503" + "000200000000" * 2 + "00" * 6 * 32)


def pin(value: str) -> bytes:
    """A PIN/PUK as VERIFY presents it and both models store it: ASCII digits, FF padded to 8 bytes."""
    return value.encode() + b"\xff" * (8 - len(value))


def sja2_chv(pin_value: str, puk_value: str, *, disabled: bool, tries: int = 3, puk_tries: int = 10) -> bytes:
    """DF.SYSTEM PIN file: state (b8 valid, b7 change-able, b6 unblock-able, b5 disable-able, b1 disabled),
    tries left, maximum, PIN(8); PUK tries left, maximum, PUK(8)."""
    return (bytes([0xF0 | (0x01 if disabled else 0), tries, 3]) + pin(pin_value)
            + bytes([puk_tries, 10]) + pin(puk_value))


def sja2_adm(adm: bytes, tries: int = 3) -> bytes:
    return bytes([0xC0, tries, 3]) + adm


def sja2_key(k: str, opc: str, size: int = 67, alg: int = 4) -> bytes:
    """cfg (b5 = OPc, b4..b1 algorithm) ‖ K ‖ OPc, FF to the file's size."""
    raw = bytes([0x10 | alg]) + bytes.fromhex(k) + bytes.fromhex(opc)
    return raw + b"\xff" * (size - len(raw))


def emu_key(k: str, opc: str, alg: int = 1, size: int = 80) -> bytes:
    """applet_spec/files.md: algorithm, len K, K, len OPc, OPc, FF padding."""
    raw = bytes([alg, len(k) // 2]) + bytes.fromhex(k) + bytes([len(opc) // 2]) + bytes.fromhex(opc)
    return raw + b"\xff" * (size - len(raw))


def identity(**kw: Any) -> Identity:
    values: dict[str, Any] = {"iccid": ICCID, "imsi": IMSI, "ki": KI, "opc": OPC, "adm1_hex": ADM_HEX,
                              "pin1": PIN1, "puk1": PUK1, "pin2": PIN2, "puk2": PUK2}
    values.update(kw)
    return Identity.create(**values)


def profile_for(model: CardModel, tmp_path: Path, edit: dict[str, str] | None = None) -> Path:
    """The 1 GB travel profile with its roaming list cut to what the model's EF.OPLMNwACT holds (a stock
    sysmoISIM-SJA2 has room for 12 of its 14 partners: the last, least used ones go). Same file name."""
    from simtool.profile.capacity import capacities_for_model

    keep = capacities_for_model(model).oplmn_entries
    out, section, n = [], None, 0
    for line in PROFILE_1G.read_text(encoding="utf-8").splitlines(keepends=True):
        if re.match(r"^[a-z_]+:", line):
            section = line.split(":", 1)[0]
        if section == "oplmn_wact" and line.startswith("  - "):
            n += 1
            if n > keep:
                continue
        out.append(line)
    text = "".join(out)
    for old, new in (edit or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    d = tmp_path / f"profile-{model.name}-{len(list(tmp_path.glob('profile-*')))}"
    d.mkdir()
    path = d / PROFILE_1G.name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(argv: list[Any], capsys: Any) -> tuple[int, str, str]:
    """`simtool ARGV` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tx(card: Card, apdu: bytes) -> tuple[bytes, int]:
    out = card.process(apdu)
    assert len(out) >= 2
    return out[:-2], int.from_bytes(out[-2:], "big")


def host(card: Card, apdu: Apdu) -> Response:
    """As a PC/SC program sends it: through simtool.commands' T=0/T=1 exchange rules."""
    return run(apdu, card.protocol, card.process)


def select(card: Card, path: str) -> int:
    """Select the DF of `path` (by AID for ADFs), then the EF by FID."""
    fs = card.model.fs
    entry = fs[path]
    resp = host(card, plan.df_select(fs, entry.df_path))
    if resp.sw != 0x9000 or entry.df_path == path:
        return resp.sw
    return host(card, uicc.select_fid(entry.ef.fid, fcp=False)).sw


def update(card: Card, path: str, raw: bytes, offset: int = 0) -> int:
    assert select(card, path) == 0x9000
    return host(card, uicc.update_binary(offset, raw)).sw


def read(card: Card, path: str) -> Response:
    assert select(card, path) == 0x9000
    return host(card, uicc.read_binary(0, min(card.model.fs[path].ef.size, 256)))


def verify(card: Card, keyref: int, value: bytes | None) -> int:
    return host(card, uicc.verify_pin(keyref, value)).sw


def write_files_under_adm(card_uri: str, files: dict[str, bytes], adm: bytes = ADM) -> None:
    """Write raw file bodies through APDUs under ADM1, as another tool would (the key file, the SQN file)."""
    with open_reader(card_uri) as reader:
        reader.send(uicc.verify_pin(uicc.ADM1, adm)).check("VERIFY ADM1")
        fs = MODELS[model_name_of(reader.atr)].fs
        for path, raw in files.items():
            entry = fs[path]
            reader.send(plan.df_select(fs, entry.df_path)).check(f"SELECT {entry.df_path}")
            reader.send(uicc.select_fid(entry.ef.fid, fcp=False)).check(f"SELECT {path}")
            reader.send(uicc.update_binary(0, raw)).check(f"UPDATE {path}")


def model_name_of(atr: bytes) -> str:
    from simtool.fs import model_for_atr

    m = model_for_atr(atr)
    assert m is not None, atr.hex()
    return m.name

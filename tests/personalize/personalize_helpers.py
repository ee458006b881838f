"""Shared facts and helpers for the host-side tests (tests/personalize, tests/cli).

Everything a test compares against is stated here independently of the code under test where that
matters: the lower bound of DESIGN.md §6 is recomputed from the model, the key and PIN file codings from
applet_spec/files.md, the profile's values from its YAML.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from simtool.cli.main import main
from simtool.emulator import create_card_file
from simtool.fs import DEFAULT_MODEL
from simtool.profile import Identity

ROOT = Path(__file__).resolve().parents[2]
PROFILE_1G = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
PROFILE_4G = ROOT / "profiles" / "kpn-wechat-4gb-28d.yaml"
FS = DEFAULT_MODEL.fs

# The identity of the acceptance commands.
ICCID = "8931080000000000019"
IMSI = "204080000000001"
KI = "000102030405060708090a0b0c0d0e0f"
OPC = "0f0e0d0c0b0a09080706050403020100"
ADM_HEX = "3131313131313131"  # ASCII "11111111"
ADM = bytes.fromhex(ADM_HEX)

# Distinctive PINs, so that a leak cannot hide behind a common value.
PIN1, PUK1, PIN2, PUK2 = "471108", "83920174", "592817", "61830592"

KEY_PATH = "MF/EF.AUTH_KEY"
PINS_PATH = "MF/EF.PINS"


def identity(**kw: Any) -> Identity:
    values: dict[str, Any] = {"iccid": ICCID, "imsi": IMSI, "ki": KI, "opc": OPC, "adm1_hex": ADM_HEX,
                              "pin1": PIN1, "puk1": PUK1, "pin2": PIN2, "puk2": PUK2}
    values.update(kw)
    return Identity.create(**values)


def new_card(path: Path, *, adm: bytes = ADM, iccid: str | None = None, protocol: str = "T=0") -> Path:
    create_card_file(path, adm, iccid=iccid, protocol=protocol)
    return path


def state(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def body(content: bytes | list[bytes]) -> bytes:
    """An image entry as the card stores it (records concatenated)."""
    return b"".join(content) if isinstance(content, list) else content


def key_file_bytes(ki: str, opc: str, size: int) -> bytes:
    """applet_spec/files.md: algorithm 01 (Milenage), len K, K, len OPc, OPc, FF padding."""
    raw = bytes([0x01, 16]) + bytes.fromhex(ki) + bytes([16]) + bytes.fromhex(opc)
    return raw + b"\xff" * (size - len(raw))


def pin_file_bytes(pin1: str, puk1: str, pin2: str, puk2: str, pin1_enabled: bool, size: int = 33) -> bytes:
    """applet_spec/files.md: four 8-byte values (ASCII digits, FF padded), then flags (b1 PIN1, b2 PIN2)."""
    raw = b"".join(v.encode().ljust(8, b"\xff") for v in (pin1, puk1, pin2, puk2))
    raw += bytes([(0x01 if pin1_enabled else 0) | 0x02])
    return raw + b"\xff" * (size - len(raw))


def lower_bound(files: dict[str, bytes | list[bytes]], blank_card: bool = True, free_df: str | None = "MF") -> int:
    """DESIGN.md §6, recomputed from the model: the ADM1 retry query and VERIFY; one SELECT per DF/ADF
    visited, except `free_df`, the one the card is in when the writes begin (the MF after a reset);
    ceil(size/255) UPDATEs per transparent file with an SFI; one SELECT plus its UPDATEs per file without
    one; one UPDATE RECORD per record written (on a blank card, a record that is all FF is already there).
    A file with nothing to write is not visited, nor is a DF with no such file. `free_df=None`: no DF is
    free, as when the flasher must write EF.ICCID (MF) first on a card its IMSI guard left in ADF.USIM."""
    n = 2
    visited: set[str] = set()
    for path, content in files.items():
        ef = FS[path].ef
        if isinstance(content, list):
            assert ef.structure != "transparent"
            updates = sum(1 for r in content if not (blank_card and set(r) == {0xFF}))
        else:
            assert ef.structure == "transparent" and len(content) == ef.size
            updates = math.ceil(len(content) / 255)
        if not updates:
            continue
        n += updates + (1 if ef.sfi is None else 0)
        visited.add(path.rsplit("/", 1)[0])
    return n + len(visited - {free_df})


def run_cli(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    """`simtool ARGV` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_sub(argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python -m simtool ARGV` as a separate process, as a user runs it."""
    import os

    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "simtool", *map(str, argv)], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=60)


def profile_yaml(path: Path = PROFILE_1G) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def profile_copy(tmp_path: Path, edit: dict[str, str] | None = None, drop: list[str] | None = None,
                 src: Path = PROFILE_1G) -> Path:
    """A copy of a shipped profile (same file name, so no name warning) with lines replaced or dropped."""
    text = src.read_text(encoding="utf-8")
    for old, new in (edit or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    for pattern in drop or []:
        text2 = re.sub(pattern, "", text, flags=re.M)
        assert text2 != text, pattern
        text = text2
    d = tmp_path / f"copy{len(list(tmp_path.glob('copy*')))}"
    d.mkdir()
    out = d / src.name
    out.write_text(text, encoding="utf-8")
    return out


def commands(trace_lines: list[str]) -> list[str]:
    """The command APDUs (hex, masked as traced) of a `Reader` trace."""
    return [line[3:].strip() for line in trace_lines if line.startswith(">>")]


def flash_args(card: Path | str, profile: Path = PROFILE_1G, **kw: str) -> list[str]:
    args = {"--profile": str(profile), "--reader": card if str(card).startswith("emu:") else f"emu:{card}",
            "--iccid": ICCID, "--imsi": IMSI, "--ki": KI, "--opc": OPC, "--adm-hex": ADM_HEX}
    args.update({k if k.startswith("--") else "--" + k.replace("_", "-"): v for k, v in kw.items()})
    out = ["flash"]
    for k, v in args.items():
        if v is not None:
            out += [k, str(v)]
    return out

"""Shared values and functions for the batch tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROFILE = str(ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml")
ADM_HEX = "3131313131313131"
ICCID0 = "8931080000000000019"
IMSI0 = "204080000000001"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.splitlines() if line.startswith("{")]


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    """`python -m simtool ARGS` as a separate process (for signals)."""
    return subprocess.run([sys.executable, "-m", "simtool", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, **kw)


def card_files(*dirs: Path) -> list[Path]:
    return sorted(p for d in dirs for p in d.rglob("card-*.json"))


def card_ids(path: Path) -> tuple[str | None, str | None]:
    """(ICCID, IMSI) stored on an emulated card (its state file: the card's own memory)."""
    from simtool.emulator.state import CardFile
    from simtool.encoding.efs import ICCID, IMSI

    state = CardFile(path).load()
    fs = state.model.fs
    iccid = ICCID.decode(bytes(state.files[fs.find("EF.ICCID").path])) or None
    imsi = IMSI.decode(bytes(state.files["MF/ADF.USIM/EF.IMSI"]))
    return iccid, imsi or None


# A ledger row as the pure rules see it (tests of lifecycle.py and decide.py), and the stations asking.
ME, OTHER, NOW = "host:1:100:aaaaaa", "host:2:200:bbbbbb", 1000.0


@dataclass(frozen=True)
class Row:
    state: str
    lease_owner: str | None = None
    lease_reader: str | None = None
    lease_until: float | None = None
    token: int = 7
    iccid: str = "8931080000000000019"
    reason: str | None = None

"""`simtool emulator serve --feed DIR`: the blank cards a vendor delivers, from `DIR/template.json`.

The template (`{"adm_hex": "...", "protocol": "T=0", "iccid": "..."}`, mode 0600: it holds the vendor ADM
key) describes the cards; each new card is a file of the emulator's tray (simtool.emulator.tray),
`DIR/card-NNNNNN.json`, made atomically. With an `iccid` in the template the cards carry consecutive vendor
ICCIDs from it (card n gets the (n-1)-th, Luhn digit recomputed). An ejected card's file stays in DIR.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simtool.emulator.card import Card
from simtool.emulator.tray import Tray, next_iccid
from simtool.errors import InputError

TEMPLATE_NAME = "template.json"


@dataclass
class Feed:
    """A directory of blank cards made from `template.json`, handed out one by one."""

    directory: Path
    adm: bytes
    protocol: str = "T=0"
    iccid: str | None = None
    tray: Tray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self.tray = Tray(self.directory)

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> Feed:
        d = Path(directory)
        path = d / TEMPLATE_NAME
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"--feed {d}: no {TEMPLATE_NAME} (write one, e.g. "
                             '{"adm_hex": "3131313131313131", "protocol": "T=0"}, or pass --adm-hex)') from None
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: not a feed template: {e}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("adm_hex"), str):
            raise InputError(f"{path}: adm_hex: the vendor's ADM1 key is missing (16 hex digits)")
        try:
            adm = bytes.fromhex(doc["adm_hex"])
        except ValueError:
            raise InputError(f"{path}: adm_hex: not hex") from None
        if len(adm) != 8:
            raise InputError(f"{path}: adm_hex: must be 8 bytes (16 hex digits)")
        protocol = doc.get("protocol", "T=0")
        if protocol not in ("T=0", "T=1"):
            raise InputError(f"{path}: protocol: must be T=0 or T=1")
        iccid = doc.get("iccid")
        if iccid is not None and (not isinstance(iccid, str) or not iccid.isdigit() or not 18 <= len(iccid) <= 20):
            raise InputError(f"{path}: iccid: must be 18 to 20 digits")
        return cls(d, adm, protocol, iccid)

    @staticmethod
    def write_template(directory: str | os.PathLike[str], adm: bytes, protocol: str = "T=0",
                       iccid: str | None = None) -> Path:
        """Create `DIR/template.json` (mode 0600: it holds the vendor ADM key)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {"adm_hex": adm.hex(), "protocol": protocol}
        if iccid:
            doc["iccid"] = iccid
        path = d / TEMPLATE_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        return path

    def cards(self) -> list[Path]:
        """The card files in the feed directory, oldest first."""
        return self.tray.pending()

    def new_card(self) -> tuple[Card, Path]:
        """A fresh blank card in a new state file `card-NNNNNN.json` (never overwrites one)."""
        first = self.iccid
        path = self.tray.new_card(self.adm, protocol=self.protocol,
                                  iccid=(lambda n: next_iccid(first, n - 1)) if first else None)
        return Card.load(path), path

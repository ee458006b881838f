"""The emulated UICC/USIM: a card model's file tree, PINs, AUTHENTICATE and a durable state file.

    card = Card.blank(adm=bytes.fromhex("3131313131313131"))      # in memory (`emu:`)
    card = load_card("/tmp/c.json")                                # `emu:/tmp/c.json`
    card.process(bytes.fromhex("00A4000C023F00"))                  # -> b"\\x90\\x00"

It knows no reader and no factory (DESIGN.md §2 layer 5): transports feed it bytes.
"""

from __future__ import annotations

import os

from simtool.emulator.blank import create_card_file, new_blank_card
from simtool.emulator.card import MAX_CHANNELS, Card
from simtool.emulator.faults import CardPowerLoss, FaultPlan
from simtool.emulator.state import CardFile, CardFileError, CardState


def load_card(path: str | os.PathLike[str]) -> Card:
    """The card kept in state file `path` (validated; CardFileError names the file if it is broken)."""
    return Card.load(path)


__all__ = [
    "MAX_CHANNELS",
    "Card",
    "CardPowerLoss",
    "CardFile",
    "CardFileError",
    "CardState",
    "FaultPlan",
    "create_card_file",
    "load_card",
    "new_blank_card",
]

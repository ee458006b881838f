"""In-process transport to an emulated card: `emu:PATH` (a card state file) or `emu:` (in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from simtool.emulator.card import Card
from simtool.errors import InputError, NoCardError

if TYPE_CHECKING:
    from simtool.transport.base import Transport

# The vendor ADM1 of a throw-away `emu:` card when the URI names none (ASCII "11111111").
DEFAULT_EMU_ADM = bytes.fromhex("3131313131313131")


class EmulatedTransport:
    def __init__(self, card: Card, name: str):
        self.card = card
        self.name = name

    @property
    def atr(self) -> bytes:
        return self.card.atr

    @property
    def protocol(self) -> str:
        return self.card.protocol

    def transmit(self, apdu: bytes) -> bytes:
        return self.card.process(apdu)

    def reset(self) -> bytes:
        return self.card.reset()

    def close(self) -> None:
        pass


def open_emulated(path: str, params: dict[str, str]) -> EmulatedTransport:
    if not path:
        try:
            adm = bytes.fromhex(params.get("adm_hex", DEFAULT_EMU_ADM.hex()))
        except ValueError:
            adm = b""
        if len(adm) != 8:
            raise InputError("emu:?adm_hex=...: the ADM1 key must be 16 hex digits")
        card = Card.blank(adm=adm, iccid=params.get("iccid"), protocol=params.get("protocol", "T=0"))
        return EmulatedTransport(card, "emu:")
    if not Path(path).exists():
        raise NoCardError(f"emu:{path}: no such card file (create one with `simtool emulator new {path}`)")
    return EmulatedTransport(Card.load(path), f"emu:{path}")


if TYPE_CHECKING:
    def _is_a_transport(t: EmulatedTransport) -> Transport:
        """mypy's check that this class satisfies the `Transport` protocol, so the two cannot drift."""
        return t

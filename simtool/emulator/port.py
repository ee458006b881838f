"""The door between the card and what runs on it (the CAT runtime, the plan applet).

They see the card only through `CardPort`: its model, a read-only look at an EF's body, `commit` to change
bodies as one durable write, and the two ways the card shapes data out for a command case (TS 102 221
§7.2/§7.3, T=0 or T=1). `Card` hands them its port (`simtool.emulator.card`); nothing else of the card is
theirs, so the card can change its insides without them, and they import nothing of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from simtool.fs import CardModel


class CardPort(Protocol):
    """What the CAT runtime and the applet may ask of their card."""

    @property
    def model(self) -> CardModel:
        """The card model: the file tree the applet looks its files up in."""
        ...

    def file_bytes(self, path: str) -> bytes:
        """An EF's body as stored (a copy: changing it changes nothing on the card)."""
        ...

    def commit(self, changes: Mapping[str, bytes]) -> None:
        """Replace the bodies of the EFs at these paths (same sizes) and make them durable in one write
        before the command is answered. If the disk refuses, memory stays as before and the command that
        caused it answers 6581 (the exception this raises is the card's, and must be let through)."""
        ...

    def case2(self, data: bytes, le: int | None) -> bytes:
        """The answer of a command that took no data and returns `data` of a length the card knows:
        `data` + 9000, or 6Cxx when Le does not fit (per protocol)."""
        ...

    def case4(self, chn: int, data: bytes, le: int | None) -> bytes:
        """The answer of a command that took data and returns `data`: 61xx and GET RESPONSE on channel
        `chn` (T=0, or T=1 without Le), or the data at once (T=1)."""
        ...

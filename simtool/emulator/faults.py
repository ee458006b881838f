"""Fault injection for the emulated card: the power goes away after the k-th APDU, or inside a durable write.

    cut = FaultPlan(after_apdus=17)                      # APDUs 1..17 are answered, the 18th finds no card
    cut = FaultPlan(in_save=4, stage="written")          # 4th durable write: temp file on disk, not renamed
    cut = FaultPlan(in_save=4, stage="renamed")          # 4th durable write: renamed, but no answer sent
    arm(card, cut)
    ...                                                 # the transport raises CardPowerLoss (exit 3)
    card = restart(card)                                # power back: the card as its state file keeps it

A cut card answers nothing until it is restarted: every APDU raises `CardPowerLoss`, a `NoCardError`
("the card went away", exit code 3). A cut inside a write runs no clean-up (the temp file stays beside the
state file, as after a real power loss) and leaves the card's memory as its state file has it: the old
state for "written", the new one for "renamed". Restarting means loading the state file again, which is
what a real card does when it is powered up.

The hooks are two calls: `Card.process` asks `before_apdu()` and `CardFile.save` asks `at_save(stage)`,
both through `CardFile.faults` (None: no fault, the normal case, one attribute test per APDU).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self, TypeVar

from simtool.errors import NoCardError

STAGES = ("written", "renamed")  # inside CardFile.save: temp file fsynced / renamed over the state file


class CardPowerLoss(NoCardError):
    """The card lost its power mid-session and answers nothing (exit code 3): take it out, put it back."""


class PowerCut(BaseException):  # noqa: N818 - a signal, not an error: BaseException so no `except Exception` eats it
    """Raised inside the card at the moment of the cut; `Card.process` turns it into `CardPowerLoss`."""


@dataclass
class FaultPlan:
    """Where to cut the power. `after_apdus`: answer that many APDUs, then nothing. `in_save`: cut inside
    the n-th durable write (1-based, counted from arming) at `stage` ("written" or "renamed")."""

    after_apdus: int | None = None
    in_save: int | None = None
    stage: str = "written"
    apdus: int = 0  # APDUs the card began to process since arming
    saves: int = 0  # durable writes begun since arming
    fired: str | None = None  # where the power went, once it has
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {self.stage!r}")

    @property
    def dead(self) -> bool:
        return self.fired is not None

    def _cut(self, where: str) -> None:
        self.fired = where
        self.log.append(where)
        raise PowerCut(where)

    def before_apdu(self) -> None:
        """Called by `Card.process` before it looks at an APDU."""
        if self.fired is not None:
            raise PowerCut(f"no power since {self.fired}")
        if self.after_apdus is not None and self.apdus >= self.after_apdus:
            self._cut(f"power cut after APDU {self.apdus}")
        self.apdus += 1

    def at_save(self, stage: str) -> None:
        """Called by `CardFile.save` once the temp file is durable ("written") and once it has replaced the
        state file ("renamed"), before the card answers."""
        if stage == "written":
            self.saves += 1
        if self.in_save is not None and self.saves == self.in_save and stage == self.stage:
            self._cut(f"power cut in write {self.saves} ({stage}) of APDU {self.apdus}")


class _Storage(Protocol):
    path: Path | None
    faults: FaultPlan | None


class Powered(Protocol):
    """A card as this module needs it (`simtool.emulator.card.Card`): its storage, and loading one again
    from a state file. A protocol, so that the card imports this module and not the other way round."""

    @property
    def storage(self) -> _Storage: ...

    @classmethod
    def load(cls, path: Path) -> Self: ...


_C = TypeVar("_C", bound=Powered)


def arm(card: Powered, plan: FaultPlan) -> FaultPlan:
    """Attach `plan` to `card` (through its storage, so that saves see it too)."""
    card.storage.faults = plan
    return plan


def restart(card: _C) -> _C:
    """Power the card up again: a new card of its class from its state file, no fault armed. An in-memory
    card has nothing to come back from (its memory is gone with the power)."""
    if card.storage.path is None:
        raise CardPowerLoss("an in-memory card keeps nothing across a power cut")
    return type(card).load(card.storage.path)

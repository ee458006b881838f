"""`hlr load`: put a batch's subscribers into a running osmo-hlr over its VTY, and prove they are there.

Per chunk of subscribers (pipelined on one VTY session): read each one (`show`), decide with
`osmohlr.plan` (create / update only what differs / leave untouched), send the commands, read back and
compare. A subscriber whose read-back differs, or whose command the HLR refused, is `failed` with the
HLR's answer; an answer to an aud3g command is never quoted (osmo-hlr echoes a refused K in it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from simtool.network.osmohlr import Action, Subscriber, matches, parse_show, plan, show_command

CHUNK = 200  # subscribers per pipelined round trip: a few tens of kB each way, well inside socket buffers
_COUNTER = {"create": "created", "update": "updated", "unchanged": "unchanged"}
_OK_ANSWERS = ("% Created subscriber", "% Updated subscriber")


class Vty(Protocol):
    def commands(self, lines: list[str]) -> list[str]: ...


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)  # {"imsi", "reason"}: no key in any
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "failed": self.failed, "failures": self.failures, "dry_run": self.dry_run}

    def count(self, action: str) -> None:
        name = _COUNTER[action]
        setattr(self, name, getattr(self, name) + 1)


def _refusal(command: str, answer: str) -> str | None:
    """Why the HLR refused `command`, or None. osmo-hlr answers success silently or with a known `%` line."""
    text = answer.strip()
    if not text or text.startswith(_OK_ANSWERS):
        return None
    if " create" in command and text.startswith("% Subscriber already exists"):
        return None  # created meanwhile by someone else: the updates below still set it right
    if " aud3g " in command:
        return "the HLR refused the aud3g (K/OPc) update"
    return text.splitlines()[0] if text.startswith("%") else None


def _read(vty: Vty, subs: Sequence[Subscriber]) -> list[Any]:
    """Each subscriber as the HLR holds it (an HlrRecord, None if absent, or a str: why it cannot be read)."""
    out: list[Any] = []
    for _sub, text in zip(subs, vty.commands([show_command(s.imsi) for s in subs]), strict=True):
        try:
            out.append(parse_show(text))
        except ValueError as e:
            out.append(f"cannot read the subscriber back: {e}")
    return out


def load(subs: Sequence[Subscriber], vty: Vty, *, dry_run: bool = False,
         progress: Callable[[int], None] | None = None) -> LoadReport:
    report = LoadReport(dry_run=dry_run)
    for start in range(0, len(subs), CHUNK):
        chunk = subs[start: start + CHUNK]
        current = _read(vty, chunk)
        todo: list[tuple[Subscriber, Action, list[str]]] = []
        for sub, rec in zip(chunk, current, strict=True):
            if isinstance(rec, str):
                report.failed += 1
                report.failures.append({"imsi": sub.imsi, "reason": rec})
                continue
            action, cmds = plan(rec, sub)
            if action == "unchanged" or dry_run:
                report.count(action)
            else:
                todo.append((sub, action, cmds))
        if todo:
            answers = iter(vty.commands([c for _, _, cmds in todo for c in cmds]))
            refused: dict[str, str] = {}
            for sub, _, cmds in todo:
                for c in cmds:
                    why = _refusal(c, next(answers))
                    if why and sub.imsi not in refused:
                        refused[sub.imsi] = why
            back = _read(vty, [s for s, _, _ in todo])
            for (sub, action, _), rec in zip(todo, back, strict=True):
                if sub.imsi in refused:
                    reason = refused[sub.imsi]
                elif isinstance(rec, str):
                    reason = rec
                elif not matches(rec, sub):
                    reason = "the HLR holds other values than were sent (read back after writing)"
                else:
                    report.count(action)
                    continue
                report.failed += 1
                report.failures.append({"imsi": sub.imsi, "reason": reason})
        if progress is not None:
            progress(min(start + CHUNK, len(subs)))
    return report

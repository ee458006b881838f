"""The factory screen of `batch run`: one line per reader (state, current ICCID, done/failed, cards/min) and a
footer with the batch's counts, throughput and ETA, redrawn a few times a second with `rich`.

Failures, refusals, damaged card files set aside and reader stops are also printed above the table, so they
stay on screen after the card moved on.
Nothing here shows a secret: the runner's events carry identifiers and reasons only.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from simtool.batch.runner import Runner

STYLE = {"flashing": "bold cyan", "waiting": "yellow", "done": "green", "stopped": "bold red", "starting": "dim"}


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _label(name: str, width: int = 28) -> str:
    """A reader's name that fits a column: `emu-feed:…/feed1` rather than a long directory path."""
    if len(name) <= width:
        return name
    scheme, _, rest = name.partition(":")
    short = f"{scheme}:…/{rest.rstrip('/').rsplit('/', 1)[-1]}"
    return short if len(short) <= width else "…" + name[-(width - 1):]


class LiveDisplay:
    def __init__(self, runner: Runner, console: Console | None = None) -> None:
        self.runner = runner
        self.console = console or Console(stderr=False)
        self._live: Live | None = None
        self._lock = threading.Lock()

    def render(self) -> Group:
        r = self.runner
        now = time.monotonic()
        t = Table(title=f"batch {r.batch.id} · {r.batch.profile_name} · KCV {r.batch.kcv}", expand=False)
        for col, just in (("reader", "left"), ("state", "left"), ("ICCID", "left"), ("done", "right"),
                          ("failed", "right"), ("refused", "right"), ("cards/min", "right")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for st in r.stats:
            state = Text(st.state + (f": {st.note}" if st.note else ""), style=STYLE.get(st.state, ""))
            label = _label(st.name)
            t.add_row(label, state, st.iccid or "", str(st.done), str(st.failed), str(st.refused),
                      f"{st.cards_per_min(now):.1f}")
        c = r.counts
        left = c["free"] + c["leased"] + c["writing"]
        done = sum(s.done for s in r.stats)
        elapsed = now - r.started
        rate = 60.0 * done / elapsed if elapsed > 0 and done else 0.0
        eta = _clock(60.0 * left / rate) if rate and left else ("--:--" if left else "00:00")
        foot = Text.assemble(
            ("verified ", "bold"), (str(c["verified"]), "green"), "  failed ", (str(c["failed"]), "red"),
            f"  voided {c['voided']}  left ", (str(left), "bold"),
            f"  │ {rate:.1f} cards/min  ETA {eta}  elapsed {_clock(elapsed)}")
        return Group(t, foot)

    def on_event(self, ev: dict[str, Any]) -> None:
        """Failures, refusals and reader stops get a permanent line above the table."""
        state = ev.get("state")
        if ev.get("event") == "card" and state in ("failed", "refused", "rejected"):
            line = Text.assemble((f"{state:8}", "red"), f" {ev.get('reader')} {ev.get('iccid') or '-'}: ",
                                 str(ev.get("detail")))
        elif ev.get("event") == "reader" and state == "stopped":
            line = Text.assemble(("stopped ", "bold red"), f" {ev.get('reader')}: {ev.get('detail')}")
        elif ev.get("event") == "run" and state == "stopping":
            line = Text(str(ev.get("detail")), style="yellow")
        else:
            return
        with self._lock:
            (self._live.console if self._live else self.console).print(line)

    def __enter__(self) -> LiveDisplay:
        self._live = Live(console=self.console, get_renderable=self.render, refresh_per_second=4,
                          redirect_stdout=False, redirect_stderr=False)
        self._live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

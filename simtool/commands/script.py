"""APDU conformance scripts (applet_spec/behaviour.md §11), sans I/O: parse, substitute, match.

    reset                                  power-cycle the card
    > 80100000 09 0B4101211101000449       send an APDU; {sw2} and {cmd} are filled in
    < 91 0F                                expect data + SW: hex, `.` any nibble, `*` any bytes, `|` or
    ota set-balance --remaining 734MB      a secured SMS built by the runner's `ota` callback

`run_script` drives a script through callables (send, reset, ota), so the same script runs in process, over
PC/SC or against a recorded trace. Its log is masked like every trace (`commands.trace`: no PIN or key data);
a command that a guard holds back (`GuardError` from `send`, e.g. the ADM guard of `transport.Reader`) ends
the script as `held`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simtool.commands.trace import Tracer, mask_apdu
from simtool.errors import GuardError, InputError


@dataclass(frozen=True)
class Step:
    kind: str  # "reset" | "send" | "expect" | "ota"
    line: int
    text: str  # hex template, pattern, or the ota arguments


@dataclass
class Script:
    name: str
    steps: list[Step]

    @property
    def needs_ota(self) -> bool:
        return any(s.kind == "ota" for s in self.steps)


@dataclass
class Outcome:
    name: str
    status: str = "passed"  # passed | failed | skipped | held (a guard refused to send a command)
    steps: int = 0
    line: int | None = None
    reason: str = ""
    expected: str = ""
    got: str = ""
    log: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"script": self.name, "status": self.status, "steps": self.steps}
        if self.status != "passed":
            doc.update(line=self.line, reason=self.reason)
            if self.expected:
                doc.update(expected=self.expected, got=self.got)
        return doc


_HEX_TEMPLATE = re.compile(r"(?:[0-9A-Fa-f]{2}|\{sw2\}|\{cmd\})*")
_PATTERN = re.compile(r"(?:[0-9A-Fa-f.]{2}|\*)+")


def parse_script(text: str, name: str) -> Script:
    """Parse a script; every problem raises InputError `NAME:LINE: reason` (all of them at once)."""
    steps, errors = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "reset":
            steps.append(Step("reset", n, ""))
        elif line.startswith(">"):
            body = "".join(line[1:].split())
            if not body or not _HEX_TEMPLATE.fullmatch(body):
                errors.append(f"{name}:{n}: an APDU is hex digits (and {{sw2}} / {{cmd}}), got {line[1:].strip()!r}")
            steps.append(Step("send", n, body))
        elif line.startswith("<"):
            body = "".join(line[1:].split())
            alternatives = body.split("|")
            if not body or not all(_PATTERN.fullmatch(a) for a in alternatives):
                errors.append(f"{name}:{n}: a response pattern is hex digits, '.', '*' and '|', "
                              f"got {line[1:].strip()!r}")
            steps.append(Step("expect", n, body))
        elif line.split()[0] == "ota":
            steps.append(Step("ota", n, line[3:].strip()))
        else:
            errors.append(f"{name}:{n}: unknown line {line!r} (reset, > APDU, < RESPONSE, ota ...)")
    if errors:
        raise InputError(errors)
    if not steps:
        raise InputError(f"{name}: no steps")
    return Script(name, steps)


def matches(pattern: str, response: bytes) -> bool:
    """Whether response bytes (data + SW) match a pattern of hex, `.` (any nibble), `*` (any bytes), `|`."""
    got = response.hex().upper()
    for alt in pattern.upper().split("|"):
        rx = "".join("(?:[0-9A-F]{2})*" if tok == "*" else tok.replace(".", "[0-9A-F]")
                     for tok in re.findall(r"\*|[0-9A-F.]{2}", alt))
        if re.fullmatch(rx, got):
            return True
    return False


def substitute(template: str, last: bytes | None, last_command: bytes | None) -> bytes:
    """Fill in {sw2} (previous response's SW2) and {cmd} (81 03 nn tt qq of the last proactive command)."""
    text = template
    if "{sw2}" in text:
        if last is None or len(last) < 2:
            raise ValueError("{sw2} before any response")
        text = text.replace("{sw2}", f"{last[-1]:02X}")
    if "{cmd}" in text:
        if last_command is None:
            raise ValueError("{cmd} before any proactive command was fetched")
        text = text.replace("{cmd}", last_command.hex())
    return bytes.fromhex(text)


def command_details(data: bytes) -> bytes | None:
    """`81 03 nn tt qq` of a proactive command (`D0 L …`), or None."""
    if len(data) < 2 or data[0] != 0xD0:
        return None
    i = 3 if data[1] == 0x81 else 2
    head = data[i : i + 5]
    return head if len(head) == 5 and head[0] & 0x7F == 0x01 and head[1] == 3 else None


def run_script(script: Script, send: Callable[[bytes], bytes], reset: Callable[[], Any],
               ota: Callable[[list[str]], bytes] | None, tracer: Tracer | None = None) -> Outcome:
    """Run every step; the first mismatch ends the script as failed, a GuardError from `send` as held.
    `send(apdu) -> data + SW` follows the transmission protocol itself; `ota(args)` builds an APDU for an
    `ota` line (None: skip the script). `tracer` masks the log (give it the card's secret files)."""
    tracer = tracer or Tracer(keep=False)
    out = Outcome(script.name)
    if script.needs_ota and ota is None:
        out.status, out.reason = "skipped", "has ota lines: needs --ota-keys"
        return out
    last: bytes | None = None
    last_command: bytes | None = None
    for step in script.steps:
        out.steps += 1
        out.line = step.line
        if step.kind == "reset":
            reset()
            tracer.selected.clear()  # a reset selects the MF on every channel
            last = last_command = None
            out.log.append("reset")
            continue
        if step.kind == "expect":
            if last is None:
                out.status, out.reason = "failed", "an expected response before any command"
                return out
            if not matches(step.text, last):
                out.status, out.reason = "failed", "response does not match"
                out.expected, out.got = step.text, last.hex().upper()
                return out
            continue
        try:
            apdu = (ota(shlex.split(step.text)) if step.kind == "ota" and ota is not None
                    else substitute(step.text, last, last_command))
        except (ValueError, InputError) as e:
            out.status, out.reason = "failed", str(e)
            return out
        shown = tracer.command(apdu)[3:]
        try:
            last = send(apdu)
        except ValueError as e:  # not a consistent short APDU (Lc), or a response that is not one
            out.status, out.reason = "failed", f"cannot send {mask_apdu(apdu)}: {e}"
            return out
        except GuardError as e:
            out.status, out.reason = "held", f"held back: {e}"
            out.log.append(f"> {shown}\n< (not sent: held back by a guard)")
            return out
        out.log.append(f"> {shown}\n< {tracer.response(last)[3:]}")
        details = command_details(last[:-2])
        if details is not None:
            last_command = details
    out.line = None
    return out

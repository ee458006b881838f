"""Shared CLI plumbing: JSON/text output, secrets from flags/files/environment, error reporting."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simtool.errors import InputError

if TYPE_CHECKING:
    from simtool.transport.base import Reader


def emit_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=_json_default)
    sys.stdout.write("\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, bytes):
        return o.hex()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --- numeric options, checked at parse time ------------------------------------------------------------
# Each checker is an argparse `type`: a bad value exits 2 with "argument --OPT: reason" before any file,
# ledger or reader is touched. `bad` lists values each must refuse (the test walks every option with them).


class NumberType:
    """An argparse type for a number in [lo, hi] (either bound open with `lo_open`/`hi_open`, or None)."""

    def __init__(self, kind: type, lo: float | None = None, hi: float | None = None, *,
                 lo_open: bool = False, bad: tuple[str, ...] = ()) -> None:
        self.kind, self.lo, self.hi, self.lo_open = kind, lo, hi, lo_open
        self.bad = bad
        self.__name__ = self.describe()  # argparse names the type in "invalid <name> value"

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        if self.lo is not None and self.hi is not None:
            return f"{what} from {_fmt(self.lo)} to {_fmt(self.hi)}"
        if self.lo is not None:
            return f"{what} {'>' if self.lo_open else '>='} {_fmt(self.lo)}"
        return what

    def __call__(self, text: str) -> int | float:
        try:
            value: int | float = self.kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {text!r}")
        low_bad = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        if low_bad or (self.hi is not None and value > self.hi):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {text!r}")
        return value

    def __repr__(self) -> str:
        return f"NumberType({self.describe()})"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def int_range(lo: int, hi: int) -> NumberType:
    return NumberType(int, lo, hi, bad=(str(lo - 1), str(hi + 1), "x", "1.5"))


def positive_int() -> NumberType:
    return NumberType(int, 1, bad=("0", "-1", "x", "1.5"))


def nonneg_int(hi: int | None = None) -> NumberType:
    return NumberType(int, 0, hi, bad=("-1", "x") + ((str(hi + 1),) if hi is not None else ()))


def positive_float(hi: float | None = None) -> NumberType:
    return NumberType(float, 0, hi, lo_open=True, bad=("0", "-1", "nan", "inf", "x"))


def nonneg_float(hi: float | None = None) -> NumberType:
    return NumberType(float, 0, hi, bad=("-1", "-0.5", "nan", "x") + ((str(hi * 2),) if hi is not None else ()))


MIN_ADM_TRIES: Callable[[str], int | float] = NumberType(int, 1, 10, bad=("0", "-1", "11", "x"))
"""--min-adm-tries: with no try left ADM1 is blocked, so the guard's bar is at least 1 (and a card has <= 10)."""


def add_min_adm_tries(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-adm-tries", type=MIN_ADM_TRIES, default=3, metavar="N",
                   help="the ADM guard: refuse to VERIFY ADM1 when fewer tries remain (1..10, default 3)")


def err(msg: str) -> None:
    print(msg, file=sys.stderr)


def env_name(flag: str) -> str:
    return "SIMTOOL_" + flag.strip("-").replace("-", "_").upper()


# What each secret's file must hold, for the error about a file that does not (never its content).
SECRET_EXPECT = {
    "--ki": "32 hex digits", "--opc": "32 hex digits", "--op": "32 hex digits", "--adm-hex": "16 hex digits",
    "--adm": "ASCII digits such as 11111111", "--pin1": "4 to 8 digits", "--pin2": "4 to 8 digits",
    "--puk1": "8 digits", "--puk2": "8 digits",
}


def add_secret(p: argparse.ArgumentParser, flag: str, help: str, required: bool = False) -> None:
    """`--ki HEX`, `--ki-file FILE` or $SIMTOOL_KI: scripts need not put keys where `ps` shows them."""
    dest = flag.strip("-").replace("-", "_")
    g = p.add_argument_group(flag)
    g.add_argument(flag, dest=dest, metavar="VALUE", help=f"{help} (or {flag}-file FILE, or ${env_name(flag)})")
    g.add_argument(flag + "-file", dest=dest + "_file", metavar="FILE", help=argparse.SUPPRESS)
    p.set_defaults(**{f"_secret_{dest}": (flag, required)})


def secret(args: argparse.Namespace, flag: str) -> str | None:
    """The secret's text from the flag, its file (first line; read as bytes with a size limit, errors showing
    none of it) or the environment, in that order."""
    from simtool.crypto.secrets import read_secret_text

    dest = flag.strip("-").replace("-", "_")
    value = getattr(args, dest, None)
    if value is not None:
        return str(value).strip()
    path = getattr(args, dest + "_file", None)
    if path is not None:
        return read_secret_text(path, f"{path}:1: {dest}", SECRET_EXPECT.get(flag, "the value"))
    env = os.environ.get(env_name(flag))
    return env.strip() if env else None


def group(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
          help: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The sub-command group `name` (e.g. `emulator`), shared by every module that adds actions to it.

    Found through the parser itself, never through a cache keyed by `id()`: a parser built by an earlier
    `main()` call may be gone and its id reused, which made a second parser re-add `emulator new`."""
    parser = sub.choices.get(name)
    if parser is None:
        parser = sub.add_parser(name, help=help)
        parser.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if len(actions) != 1:
        raise ValueError(f"`{name}` is a command, not a group of commands")
    return actions[0]


def reader_uri(text: str) -> str:
    """An argparse type for --reader: the URI's parameters (latency_ms=) are checked before anything runs."""
    from simtool.transport import check_uri_params

    try:
        check_uri_params(text)
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix(f"--reader {text!r}: ")) from None
    return text


def add_reader_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reader", required=True, metavar="URI", type=reader_uri,
                   help="emu:PATH (emulated card file), emu: (in memory), pcsc:N or pcsc:NAME")
    p.add_argument("--shared", action="store_true", help="share the PC/SC reader (default: exclusive)")
    p.add_argument("--trace", action="store_true", help="print the APDUs (PIN and key data masked) to stderr")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def open_reader_from_args(args: argparse.Namespace) -> Reader:
    from simtool.transport import open_reader

    trace = (lambda line: print(line, file=sys.stderr)) if getattr(args, "trace", False) else None
    return open_reader(args.reader, trace=trace, shared=getattr(args, "shared", False))

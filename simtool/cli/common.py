"""Shared CLI plumbing: JSON/text output, secrets from flags/files/environment, error reporting."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from simtool.errors import InputError


def emit_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=_json_default)
    sys.stdout.write("\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, bytes):
        return o.hex()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def err(msg: str) -> None:
    print(msg, file=sys.stderr)


def env_name(flag: str) -> str:
    return "SIMTOOL_" + flag.strip("-").replace("-", "_").upper()


def add_secret(p: argparse.ArgumentParser, flag: str, help: str, required: bool = False) -> None:
    """`--ki HEX`, `--ki-file FILE` or $SIMTOOL_KI: scripts need not put keys where `ps` shows them."""
    dest = flag.strip("-").replace("-", "_")
    g = p.add_argument_group(flag)
    g.add_argument(flag, dest=dest, metavar="VALUE", help=f"{help} (or {flag}-file FILE, or ${env_name(flag)})")
    g.add_argument(flag + "-file", dest=dest + "_file", metavar="FILE", help=argparse.SUPPRESS)
    p.set_defaults(**{f"_secret_{dest}": (flag, required)})


def secret(args: argparse.Namespace, flag: str) -> str | None:
    """The secret's text from the flag, its file (first line) or the environment, in that order."""
    dest = flag.strip("-").replace("-", "_")
    value = getattr(args, dest, None)
    if value is not None:
        return str(value).strip()
    path = getattr(args, dest + "_file", None)
    if path is not None:
        try:
            return Path(path).read_text().strip()
        except OSError as e:
            raise InputError(f"{flag}-file {path}: cannot read: {e.strerror}") from None
    env = os.environ.get(env_name(flag))
    return env.strip() if env else None


def group(sub: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
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


def add_reader_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reader", required=True, metavar="URI",
                   help="emu:PATH (emulated card file), emu: (in memory), pcsc:N or pcsc:NAME")
    p.add_argument("--shared", action="store_true", help="share the PC/SC reader (default: exclusive)")
    p.add_argument("--trace", action="store_true", help="print the APDUs (PIN and key data masked) to stderr")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def open_reader_from_args(args: argparse.Namespace):
    from simtool.transport import open_reader

    trace = (lambda line: print(line, file=sys.stderr)) if getattr(args, "trace", False) else None
    return open_reader(args.reader, trace=trace, shared=getattr(args, "shared", False))

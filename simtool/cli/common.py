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

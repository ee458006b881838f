"""`simtool` entry point: builds the argument parser from each command module and maps errors to
the exit codes of DESIGN.md §5. No command prints a traceback for an expected failure."""

from __future__ import annotations

import argparse
import logging
import sys

from simtool.errors import EXIT_USAGE, InputError, SimtoolError


def build_parser() -> argparse.ArgumentParser:
    from simtool.cli import (
        cmd_applet,
        cmd_batch,
        cmd_card,
        cmd_esim,
        cmd_files,
        cmd_hlr,
        cmd_pcsc,
        cmd_profile,
        cmd_suci,
    )

    p = argparse.ArgumentParser(prog="simtool", description="Personalize UICC/USIM cards.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in (cmd_profile, cmd_files, cmd_card, cmd_pcsc, cmd_batch, cmd_hlr, cmd_applet, cmd_esim, cmd_suci):
        mod.register(sub)
    _add_verbose_everywhere(sub)
    return p


def _add_verbose_everywhere(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`-v` works after the command too (`simtool flash ... -v`), adding to any `-v` given before it."""
    for parser in sub.choices.values():
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            for n in nested:
                _add_verbose_everywhere(n)
            continue
        if not any("-v" in a.option_strings for a in parser._actions):
            parser.add_argument("-v", "--verbose", dest="verbose_sub", action="count", default=0,
                                help="more log output (-vv for debug)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    verbose = args.verbose + getattr(args, "verbose_sub", 0)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        for line in e.errors:
            print(f"error: {line}" if not _located(line) else line, file=sys.stderr)
        _json_error(args, EXIT_USAGE, e.errors, e)
        return EXIT_USAGE
    except SimtoolError as e:
        print(f"error: {e}", file=sys.stderr)
        _json_error(args, e.exit_code, [str(e)], e)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _json_error(args: argparse.Namespace, code: int, errors: list[str], exc: BaseException) -> None:
    """With `--json`, scripts get a document on stdout for a failure too (the messages hold no secrets)."""
    if not getattr(args, "json", False):
        return
    from simtool.cli.common import emit_json

    doc = {"ok": False, "exit_code": code, "error": type(exc).__name__, "errors": errors}
    doc.update(getattr(exc, "details", None) or {})
    emit_json(doc)


def _located(line: str) -> bool:
    """Lines like `FILE:LINE: field: reason` are printed as they are, so editors can jump to them."""
    head = line.split(": ", 1)[0]
    return ":" in head and head.rsplit(":", 1)[-1].isdigit()


if __name__ == "__main__":
    sys.exit(main())

"""`simtool` entry point: builds the argument parser from each command module and maps errors to
the exit codes of DESIGN.md §5. No command prints a traceback for an expected failure."""

from __future__ import annotations

import argparse
import logging
import sys

from simtool.errors import EXIT_USAGE, InputError, SimtoolError


def build_parser() -> argparse.ArgumentParser:
    from simtool.cli import cmd_card, cmd_files, cmd_profile

    p = argparse.ArgumentParser(prog="simtool", description="Personalize UICC/USIM cards.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in (cmd_profile, cmd_files, cmd_card):
        mod.register(sub)
    return p


class _Parser(argparse.ArgumentParser):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        for line in e.errors:
            print(f"error: {line}" if not _located(line) else line, file=sys.stderr)
        return EXIT_USAGE
    except SimtoolError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _located(line: str) -> bool:
    """Lines like `FILE:LINE: field: reason` are printed as they are, so editors can jump to them."""
    head = line.split(": ", 1)[0]
    return ":" in head and head.rsplit(":", 1)[-1].isdigit()


if __name__ == "__main__":
    sys.exit(main())

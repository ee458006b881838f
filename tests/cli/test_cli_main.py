"""The entry point: a parser built many times in one process, `-v` on either side, usage errors."""

from __future__ import annotations

import gc

import pytest

from simtool.cli.main import build_parser
from tests.personalize.personalize_helpers import run_cli


def test_parser_can_be_built_again_and_again() -> None:
    # `common.group` used to cache the `emulator` group by id(): once an old parser was collected and its
    # id reused, the next build re-added `emulator new` and argparse raised "conflicting subparser".
    for _ in range(150):
        parser = build_parser()
        args = parser.parse_args(["emulator", "new", "x.json", "--adm-hex", "00"])
        assert args.emulator_command == "new"
        del parser, args
        gc.collect()


def test_verbose_before_and_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["-v", "files", "--json", "-v"], capsys)[0] == 0
    args = build_parser().parse_args(["-v", "profile", "validate", "p.yaml", "-vv"])
    assert args.verbose + args.verbose_sub == 3


@pytest.mark.parametrize("argv", [[], ["nope"], ["flash"], ["profile", "render", "x.yaml"]])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and "usage:" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["flash", "--help"], capsys)
    assert code == 0 and "--card-data" in out and "--min-adm-tries" in out

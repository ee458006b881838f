"""Every numeric option of every command is checked at parse time (issue 12 item 2): a bad value exits 2
naming the option, before any file, ledger or reader is touched. The options are found by walking the real
argparse parser, so a new option with a bare `type=int` fails here."""

from __future__ import annotations

import argparse

import pytest

from simtool.cli.common import NumberType, reader_uri
from simtool.cli.main import build_parser, main


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every parser with its command path: the groups too (`ota build` has options and sub-commands)."""
    yield path, parser
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for sub in subs:
        for name, child in sub.choices.items():
            yield from _leaves(child, path + (name,))


LEAVES = list(_leaves(build_parser()))
NUMERIC = [(path, a) for path, p in LEAVES for a in p._actions
           if a.option_strings and isinstance(a.type, NumberType)]
READERS = [(path, a) for path, p in LEAVES for a in p._actions if a.type is reader_uri]


def test_no_option_takes_an_unchecked_number() -> None:
    bare = [f"{' '.join(path)} {a.option_strings[0]}" for path, p in LEAVES for a in p._actions
            if a.type in (int, float)]
    assert bare == []
    assert len(NUMERIC) >= 25  # every command's counts, tries, ports, slots, timeouts, latencies
    names = {a.option_strings[0] for _, a in NUMERIC}
    assert {"--lease-ttl", "--min-adm-tries", "--max-failures", "--count", "--slots", "--timeout",
            "--latency-ms", "--kvn", "--counter", "--row", "--port", "--slot"} <= names


@pytest.mark.parametrize("path,action", NUMERIC, ids=[f"{' '.join(p)} {a.option_strings[0]}" for p, a in NUMERIC])
def test_bad_values_exit_2_naming_the_option(path, action, capsys) -> None:
    flag = action.option_strings[0]
    assert action.type.bad, f"{flag}: no bad values declared"
    for bad in action.type.bad:
        assert main([*path, f"{flag}={bad}"]) == 2, (path, flag, bad)
        err = capsys.readouterr().err
        assert f"argument {flag}: must be" in err, err
        assert "Traceback" not in err
    default = action.default
    if isinstance(default, int | float) and not isinstance(default, bool):
        assert action.type(str(default)) == default  # the default itself passes its own check


@pytest.mark.parametrize("path,action", READERS, ids=[" ".join(p) for p, _ in READERS])
def test_reader_latency_is_checked_at_parse_time(path, action, capsys, tmp_path) -> None:
    for uri in ("emu:?latency_ms=-1", f"emu-feed:{tmp_path}?latency_ms=-1", "pcsc:0?latency_ms=nan",
                "emu:?latency_ms=1e9"):
        assert main([*path, "--reader", uri]) == 2
        err = capsys.readouterr().err
        assert "argument --reader: latency_ms must be" in err, err
    assert not any(tmp_path.iterdir())


def test_the_issue_examples(capsys, tmp_path) -> None:
    missing = tmp_path / "no-batch"
    assert main(["batch", "run", str(missing), "--reader", f"emu-feed:{missing}/f1", "--lease-ttl", "0"]) == 2
    assert "argument --lease-ttl: must be a number > 0, got '0'" in capsys.readouterr().err
    assert not missing.exists()
    card = tmp_path / "c.json"
    assert main(["read", "--reader", f"emu:{card}", "--adm-hex", "3131313131313131", "--min-adm-tries", "0"]) == 2
    assert "argument --min-adm-tries: must be an integer from 1 to 10, got '0'" in capsys.readouterr().err

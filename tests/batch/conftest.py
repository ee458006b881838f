"""Fixtures for the batch tests: the CLI in-process, a transport key, a created batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simtool.cli.main import main

# PC/SC and PostgreSQL fixtures of simtool's pytest plugin, for a checkout where simtool is not pip-installed.
from simtool.testing.plugin import postgres_url, simtool_pcscd, simtool_postgres  # noqa: F401
from tests.batch.batch_helpers import ADM_HEX, ICCID0, IMSI0, PROFILE, Result


@pytest.fixture
def sim(capsys) -> Callable[..., Result]:
    """Run `simtool ARGS` in this process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return run


@pytest.fixture
def key_file(tmp_path, sim) -> Path:
    path = tmp_path / "tk"
    assert sim("keys", "new", path).code == 0
    return path


@pytest.fixture
def make_batch(tmp_path, sim, key_file) -> Callable[..., Path]:
    def make(count: int = 8, name: str = "b", *extra: str) -> Path:
        d = tmp_path / name
        r = sim("batch", "create", d, "--profile", PROFILE, "--count", count, "--adm-hex", ADM_HEX,
                "--iccid-start", ICCID0, "--imsi-start", IMSI0, "--transport-key", key_file, *extra)
        assert r.code == 0, r.err
        return d

    return make


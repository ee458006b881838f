"""The ledger's front door: `open_ledger(url)` and the interface's names (from `ledger_base.py`).

The engines import `ledger_base` and `lifecycle`, never this module, so nothing here is imported back: the
engine is chosen by the URL's scheme and imported when a ledger of that kind is opened (psycopg only then).
"""

from __future__ import annotations

import os

from simtool.batch import ledger_base
from simtool.batch.ledger_base import *  # noqa: F403 - this module is the interface's public name
from simtool.batch.ledger_base import Ledger, redact_url
from simtool.errors import InputError

__all__ = [*ledger_base.__all__, "default_url", "open_ledger"]


def default_url(batch_dir: str) -> str:
    """``sqlite:///DIR/ledger.db`` with DIR made absolute, so the URL means the same from any directory."""
    return "sqlite://" + os.path.join(os.path.abspath(batch_dir), "ledger.db")


def open_ledger(url: str, *, create: bool = False) -> Ledger:
    """The ledger behind `url`: ``sqlite:///abs/path.db`` (or ``sqlite://relative.db``), or
    ``postgresql://user@host:port/dbname`` (`ledger_pg.py`, issue 8). Bad URLs raise InputError (exit 2)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise InputError(f"--ledger {redact_url(url)}: expected a URL such as sqlite:///path/ledger.db")
    if scheme == "sqlite":
        from simtool.batch.ledger_sqlite import SqliteLedger

        if not rest:
            raise InputError(f"--ledger {url}: no database path after sqlite://")
        return SqliteLedger(rest, url=url, create=create)
    if scheme in ("postgresql", "postgres"):
        from simtool.batch.ledger_pg import PgLedger

        return PgLedger(url, create=create)
    raise InputError(f"--ledger {redact_url(url)}: unknown ledger type {scheme!r} (sqlite:// or postgresql://)")

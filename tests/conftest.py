"""simtool's pytest plugin hooks (markers by fixture, pcscd restarts last) for a checkout where simtool is not
pip-installed: without the `pytest11` entry point nothing else would load them."""

from __future__ import annotations

from importlib.metadata import entry_points

if not any(ep.name == "simtool" for ep in entry_points(group="pytest11")):
    from simtool.testing.plugin import (  # noqa: F401
        pytest_addoption,
        pytest_collection_modifyitems,
        pytest_configure,
    )

"""PC/SC tests. The fixtures are simtool's pytest plugin (`simtool.testing`); imported here as well so
the tests run from a checkout where simtool is not pip-installed (no pytest11 entry point then)."""

from __future__ import annotations

from simtool.testing.plugin import emulated_card, pcsc_card, personalized_card, simtool_pcscd  # noqa: F401

"""simtool's pytest plugin (entry point `pytest11: simtool`): emulated cards as fixtures for any project.

    def test_select_mf(emulated_card):                 # a fresh blank card, in-process transport
        assert emulated_card.send(select_mf()).ok

    @pytest.mark.parametrize("personalized_card", ["profiles/kpn-wechat-4gb-28d.yaml"], indirect=True)
    def test_imsi(personalized_card): ...              # flashed with Identity.sample()

    def test_my_pcsc_tool(pcsc_card):                  # "Virtual PCD 00 00": a card behind pcscd + vpcd
        subprocess.run(["my-tool", "--reader", pcsc_card], check=True)

    def test_my_ledger(postgres_url):                  # a new database on a throw-away PostgreSQL cluster
        ledger = open_ledger(postgres_url, create=True)

    def test_my_hlr(osmo_hlr):                         # a real osmo-hlr on a fresh db and its own 127.42.N.M
        load(osmo_hlr.vty_address)

The fixtures live in `simtool.testing.plugin`; pcscd/vpcd helpers in `simtool.testing.pcscd`, the
PostgreSQL cluster in `simtool.testing.postgres`, osmo-hlr in `simtool.testing.osmohlr`. Loading the plugin
imports neither pyscard, psycopg nor the emulator: that happens when a fixture is used.
"""

from __future__ import annotations

try:  # the helpers in simtool.testing.pcscd work without pytest (bench, scripts)
    import pytest as _pytest  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    from simtool.testing.plugin import (  # noqa: F401
        emulated_card,
        osmo_hlr,
        osmo_hlr_factory,
        pcsc_card,
        personalized_card,
        postgres_url,
        pytest_addoption,
        pytest_collection_modifyitems,
        pytest_configure,
        simtool_pcscd,
        simtool_postgres,
    )

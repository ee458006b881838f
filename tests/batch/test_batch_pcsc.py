"""`batch run` on PC/SC readers: two vpcd slots behind a real pcscd, fed by the vpcd feed server, which the run
asks to swap each finished card for a fresh blank one (`pcsc:NAME?eject=SOCKET&slot=N`)."""

from __future__ import annotations

import itertools

import pytest

from simtool.testing.pcscd import pcscd_shared, vpcd_readers
from simtool.transport.pcsc import wait_for_card
from simtool.transport.vpcd import Feed, SlotBusyError, VpcdCardServer
from tests.batch.batch_helpers import card_files, card_ids


def _server_on_two_free_slots(feed: Feed, names: dict[int, str]) -> VpcdCardServer:
    for pair in itertools.combinations(sorted(names), 2):
        server = VpcdCardServer({s: feed.new_card()[0] for s in pair}, feed=feed)
        try:
            return server.start()
        except SlotBusyError:
            continue
    pytest.skip("no two free vpcd slots (other sessions use them)")


def test_run_on_pcsc_readers_with_a_vpcd_feed(simtool_pcscd, tmp_path, sim, make_batch):
    d = make_batch(4)
    Feed.write_template(tmp_path / "vpcd-feed", bytes.fromhex("3131313131313131"))
    feed = Feed.open(tmp_path / "vpcd-feed")
    with pcscd_shared():  # pcscd is not restarted by another session meanwhile
        names = vpcd_readers()
        server = _server_on_two_free_slots(feed, names)
        try:
            slots = sorted(server.slots)
            assert server.wait_connected(10)
            assert all(wait_for_card(names[s], present=True, timeout=10) for s in slots)
            control = server.status()["control"]
            readers = [x for s in slots for x in ("--reader", f"pcsc:{names[s]}?eject={control}&slot={s}")]
            r = sim("batch", "run", d, *readers, "--json")
        finally:
            server.stop()
    assert r.code == 0, r.err
    summary = r.lines()[-1]
    assert summary["counts"]["verified"] == 4
    assert {x["reader"] for x in summary["readers"]} == {f"pcsc:{names[s]}" for s in slots}
    flashed = [i for i, _ in map(card_ids, card_files(feed.directory)) if i]
    assert len(flashed) == 4 and len(set(flashed)) == 4

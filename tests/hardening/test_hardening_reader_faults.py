"""Reader faults through pcscd (issue 12), a sample of the sweep in tests/hardening/readerfaults.py: one point per
fault kind, each a different outcome. `batch run` on two `pcsc:` readers (two vpcd slots behind the real pcscd,
fed by a VpcdCardServer with a feed); the fault is fired by the first card itself at a phase boundary. The batch
goes on with the other reader, nothing is issued twice, no key is lost, and the card hit ends as docs/batch.md
says. `make soak` runs every fault at every phase.

The pcscd restart is marked `pcscd_restart`: simtool's pytest plugin runs such tests after all others, so a
restart (under `pcscd_exclusive`, which waits until other sessions' cards are out) never meets this session's
other PC/SC tests. Skipped when pcscd/vpcd/pyscard cannot be had, failed when CI=true (the `simtool_pcscd`
fixture)."""

from __future__ import annotations

import pytest

from simtool.testing import plugin
from simtool.testing.pcscd import in_ci
from tests.hardening import readerfaults

simtool_pcscd = plugin.simtool_pcscd  # the plugin's fixture, for a checkout where simtool is not installed

SAMPLE = [
    pytest.param("pull", "write", id="pull@write"),  # the card holds part of its identity: recovered with it
    pytest.param("close", "writing", id="close@writing"),  # `writing` journaled, card blank: the identity waits
    pytest.param("restart", "adm", id="restart@adm", marks=pytest.mark.pcscd_restart),  # released, flashed anew
]


@pytest.mark.parametrize(("fault", "phase"), SAMPLE)
def test_reader_fault_at_a_phase_boundary(simtool_pcscd, tmp_path, fault: str, phase: str) -> None:
    try:
        r = readerfaults.run_point(tmp_path, fault, phase, simtool_pcscd)
    except readerfaults.Unavailable as e:
        if in_ci():
            raise
        pytest.skip(str(e))
    assert r.problems == [], r.line()
    assert r.outcome == readerfaults.EXPECTED[phase], r.line()


def test_phase_triggers_on_an_undisturbed_flash() -> None:
    """The card-side triggers find each phase where the flash has it: one count per phase, in flash order."""
    writes, reads = readerfaults.reference_counts()
    assert writes > 10 and reads > 10  # a whole profile: many files written and read back
    assert readerfaults.trigger("write").mid_write == writes // 2
    seen = {}
    from simtool.emulator import Card
    from simtool.personalize.flash import flash
    from simtool.profile import Identity, load_profile
    from simtool.transport.base import Reader
    from simtool.transport.emulated import EmulatedTransport

    identity = Identity.sample()
    card = Card.blank(adm=identity.adm1)
    reader = Reader(EmulatedTransport(card, "emu"))
    triggers = {p: readerfaults.trigger(p) for p in readerfaults.PHASES if p != "verified"}
    inner = card.process

    def process(apdu: bytes) -> bytes:
        for p, t in triggers.items():
            if p not in seen and t.due(apdu):
                seen[p] = (reader.phase, reader.total.apdus)
        out = inner(apdu)
        for t in triggers.values():
            t.seen(apdu, out)
        return out

    card.process = process
    flash(reader, load_profile(readerfaults.batchcut.PROFILE), identity)
    assert [seen[p][0] for p in triggers] == ["adm", "guard", "write", "write", "verify"]
    order = [seen[p][1] for p in triggers]
    assert order == sorted(order) and len(set(order)) == len(order)

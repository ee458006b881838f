"""The ADM guard's rule, pure (commands/admguard.py): which commands present an ADM key, and when one is held."""

from __future__ import annotations

import pytest

from simtool.commands import admguard, uicc
from simtool.commands.apdu import Apdu
from simtool.errors import GuardError

KEY, OTHER = b"11111111", b"22222222"


@pytest.mark.parametrize(("apdu", "ref"), [
    (uicc.verify_pin(uicc.ADM1, KEY), 0x0A),
    (Apdu(0x01, 0x20, 0x00, 0x0E, KEY), 0x0E),  # logical channel 1, ADM5
    (Apdu(0x00, 0x20, 0x00, 0x8A, KEY), 0x8A),  # ADM6 (a local key reference)
    (Apdu(0x00, 0x24, 0x00, 0x0A, KEY + OTHER), 0x0A),  # CHANGE compares the old key too
    (Apdu(0x00, 0x26, 0x00, 0x0B, KEY), 0x0B),
    (Apdu(0x00, 0x28, 0x00, 0x0C, KEY), 0x0C),
    (uicc.verify_pin(uicc.ADM1, None), None),  # the tries query presents nothing
    (uicc.verify_pin(uicc.PIN1, KEY), None),
    (Apdu(0x00, 0x20, 0x00, 0x0F, KEY), None),
    (Apdu(0x00, 0x2C, 0x00, 0x0A, KEY), None),  # UNBLOCK presents the unblock key, not the ADM key
])
def test_which_commands_present_an_adm_key(apdu: Apdu, ref: int | None) -> None:
    assert admguard.adm_key_ref(apdu) == ref
    if ref is not None:
        q = admguard.tries_query(apdu)
        assert (q.cla, q.ins, q.p2, q.data) == (apdu.cla, 0x20, ref, b"")


def test_names_and_tries() -> None:
    assert [admguard.adm_name(r) for r in (0x0A, 0x0E, 0x8A, 0x8E)] == ["ADM1", "ADM5", "ADM6", "ADM10"]
    assert [admguard.tries_from_sw(sw) for sw in (0x63C3, 0x63C0, 0x6983, 0x9000, 0x6A88)] == [3, 0, 0, None, None]


def held(guard: admguard.AdmGuard, key: bytes, sw: int) -> str | None:
    try:
        guard.check("r", 0x0A, key, sw)
    except GuardError as e:
        assert e.exit_code == 4
        return str(e)
    return None


def test_threshold_and_unknown_answers() -> None:
    g = admguard.AdmGuard(min_tries=3)
    assert held(g, KEY, 0x63C3) is None and g.tries_before[0x0A] == 3
    assert "2 tries left, fewer than the guard's minimum of 3" in held(g, KEY, 0x63C2)
    assert "0 tries left" in held(g, KEY, 0x6983)
    assert "did not say how many ADM1 tries" in held(g, KEY, 0x6A88)
    assert held(g, KEY, 0x9000) is None  # already verified: nothing at stake
    with g.threshold(1):
        assert held(g, KEY, 0x63C1) is None
    assert g.min_tries == 3


def test_a_refused_key_is_never_retried_and_one_key_per_reference() -> None:
    g = admguard.AdmGuard()
    g.record(0x0A, OTHER, 0x63C2)
    assert "refused an ADM1 key earlier" in held(g, OTHER, 0x63C3)
    assert "refused an ADM1 key earlier" in held(g, KEY, 0x63C3)  # not with another key either
    g = admguard.AdmGuard()
    g.record(0x0A, KEY, 0x9000)
    assert held(g, KEY, 0x63C3) is None  # the accepted key again: costs nothing
    assert "accepted another ADM1 key" in held(g, OTHER, 0x63C3)
    g.record(0x0A, KEY, 0x6700)  # a wrong length: the guard does not guess whether a try was spent
    assert held(g, KEY, 0x63C3) is not None
    assert KEY.hex() not in repr(g) and "digest" not in repr(g)

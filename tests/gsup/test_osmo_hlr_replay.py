"""Replays of what osmo-hlr 1.5.0 said to GsupClient (pinned in simtool.gsup.message.VECTORS and below): every
captured tuple is recomputed with simtool.crypto (RES = XRES, CK, IK, AUTN's MAC and SQN, SRES/Kc by c2/c3),
the SQNs follow osmo-hlr's IND scheme, and our session produces exactly the handshake bytes osmo-hlr took."""

from __future__ import annotations

import pytest

from simtool.crypto import aka, gsm
from simtool.gsup import ipa
from simtool.gsup import message as m
from simtool.gsup.session import Session

ALG = aka.Milenage(bytes.fromhex(m.CAPTURED_K), bytes.fromhex(m.CAPTURED_OPC))
CAPTURED = [v for v in m.VECTORS if v.source.startswith("osmo-hlr 1.5.0")]
RESULTS = [v for v in CAPTURED if v.value.type is m.MsgType.SEND_AUTH_INFO_RESULT]
# the handshake as captured: osmo-hlr's ID_GET, our answer (ID_RESP + ID_ACK), osmo-hlr's ID_ACK
HANDSHAKE_RX = bytes.fromhex("0011fe0401080107010201030104010501010100")
HANDSHAKE_TX = bytes.fromhex("0034fe05000708302f302f3000000207000002020000020300000204000002050000090173696d746f6f"
                             "6c0000090073696d746f6f6c000001fe06")


@pytest.mark.parametrize("vector", RESULTS, ids=[v.source for v in RESULTS])
def test_captured_tuples_are_milenage_of_the_subscriber(vector):
    for t in vector.value.tuples:
        res, ck, ik, _ak = ALG.f2345(t.rand)
        assert (t.res, t.ck, t.ik) == (res, ck, ik)
        sqn, mac_ok = aka.check_autn(ALG, t.rand, t.autn)
        assert mac_ok and t.autn[6:8] == b"\x00\x00"  # AMF 0000 for a CS request
        assert aka.sqn_to_int(sqn) % 32 == 1  # IND 1: the slot osmo-hlr gave the IPA name "simtool"
        assert (t.sres, t.kc) == (gsm.c2(res), gsm.c3(ck, ik))


def test_captured_resync_follows_the_cards_sqn():
    req = next(v.value for v in m.VECTORS if v.value.auts is not None and v.source.startswith("sent to osmo-hlr"))
    assert aka.sqn_to_int(aka.recover_sqn_from_auts(ALG, req.rand, req.auts)) == 32001
    after = RESULTS[-1].value.tuples[0]
    sqn, _ = aka.check_autn(ALG, after.rand, after.autn)
    assert aka.sqn_to_int(sqn) == ((32001 + 32) & ~31) + 1  # next SEQ after SQN_MS, in the IND 1 slot


def test_session_answers_osmo_hlrs_id_get_as_captured():
    s = Session("simtool")
    s.receive(HANDSHAKE_RX)
    assert s.outgoing() == HANDSHAKE_TX
    s.receive(ipa.ID_ACK)
    assert s.ready

"""The VTY client and the osmo-hlr rules, replayed against sessions recorded with the real osmo-hlr 1.5.0
(tests/network/data/osmo-hlr-vty.json; `python -m tests.network.vty_replay` records them again)."""

from __future__ import annotations

import pytest

from simtool.errors import ServiceUnreachable
from simtool.network import osmohlr
from simtool.network.load import load
from simtool.network.vty import DO, WILL, VtyClient, VtyStream, parse_address, reply_text
from tests.network.vty_replay import HAND, K1, K2, OPC1, ReplaySocket, load_subscribers, sessions


def _replies(session: str, chunk: int) -> list[str]:
    """Every reply of a session's received bytes, fed `chunk` bytes at a time."""
    data = b"".join(v.encode("latin-1") for k, v in sessions()[session] if k == "recv")
    stream, out = VtyStream(), []
    for i in range(0, len(data), chunk):
        stream.feed(data[i: i + chunk])
        while (r := stream.reply()) is not None:
            out.append(r.text + "|" + r.prompt)
    assert stream.negotiations[:3] == [(WILL, 1), (WILL, 3), (254, 0x22)] and (DO, 0x1F) in stream.negotiations
    return out


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 65536])
def test_stream_splits_the_recorded_session_into_one_reply_per_command(chunk: int) -> None:
    replies = _replies("hand", chunk)
    assert len(replies) == 1 + len(HAND)  # the banner, then one per command
    assert replies[0].startswith("Welcome to the OsmoHLR VTY interface\r\n") and replies[0].endswith("|OsmoHLR> ")
    assert "\xff" not in "".join(replies)  # IAC sequences stripped, wherever the chunks were cut
    assert replies[1] == "enable\r\n|OsmoHLR# "
    assert replies == _replies("hand", 65536)


def _client(session: str, chunk: int = 65536) -> tuple[VtyClient, ReplaySocket]:
    sock = ReplaySocket(sessions()[session], chunk)
    return VtyClient("127.42.0.1", 4258, sock=sock), sock  # type: ignore[arg-type]


def test_client_replays_the_hand_session_with_the_answers_osmo_hlr_gave() -> None:
    vty, sock = _client("hand", chunk=5)
    assert vty.prompt == "OsmoHLR> "
    out = {}
    for line in HAND:
        out.setdefault(line, []).append(vty.command(line))
    assert sock.done() and vty.prompt == "OsmoHLR# "
    imsi1 = "subscriber imsi 001010000000001"
    assert out[f"{imsi1} show"][0] == "% No subscriber for imsi = '001010000000001'\n"
    assert out[f"{imsi1} create"] == ["% Created subscriber 001010000000001\n    ID: 1\n    IMSI: 001010000000001\n"
                                      "    MSISDN: none\n",
                                      "% Subscriber already exists for IMSI = 001010000000001\n"]
    assert out[f"{imsi1} update aud3g milenage k {K1} opc {OPC1}"] == [""]  # silent on success
    assert out["bogus command"] == ["% Unknown command.\n"]
    assert out["subscriber imsi 00101 create"] == ["% Not a valid IMSI: 00101\n"]
    assert out[f"{imsi1} update msisdn 31612345678"] == [
        "% Updated subscriber IMSI='001010000000001' to MSISDN='31612345678'\n",
        "% Error: cannot update MSISDN for subscriber IMSI='001010000000001'\n"]  # 002 holds it by then
    # `show` as parsed: Milenage with OPc, then XOR (OPc stored as zeros), then OP instead of OPc plus 2G
    shows = [osmohlr.parse_show(t) for t in out[f"{imsi1} show"]]
    assert shows[0] is None
    m, x, op = shows[1], shows[2], shows[3]
    assert m is not None and x is not None and op is not None
    assert (m.id, m.imsi, m.msisdn, m.algorithm_3g, m.k, m.opc, m.op, m.ind_bitlen) == (
        1, "001010000000001", "31612345678", "milenage", bytes.fromhex(K1), bytes.fromhex(OPC1), None, 5)
    assert (x.algorithm_3g, x.k, x.opc) == ("xor", bytes.fromhex(K1), bytes(16))
    assert (op.algorithm_3g, op.opc, op.op) == ("milenage", None, bytes.fromhex(OPC1))
    again = osmohlr.parse_show(out["show subscriber imsi 001010000000001"][0])  # the other spelling, same layout
    assert again is not None and again.__dict__ == m.__dict__


def test_parse_show_refuses_an_error_answer() -> None:
    with pytest.raises(ValueError, match="Unknown command"):
        osmohlr.parse_show("% Unknown command.\n")


@pytest.mark.parametrize(("session", "counts", "sent_aud3g"), [
    ("load-create", (3, 0, 0, 0), 3),
    ("load-unchanged", (0, 0, 3, 0), 0),  # nothing but `show` is sent: the SQN stays
    ("load-update", (0, 1, 2, 0), 1),     # one K changed: only its aud3g, no MSISDN, no create
])
def test_load_replays_recorded_sessions(session: str, counts: tuple[int, ...], sent_aud3g: int) -> None:
    vty, sock = _client(session, chunk=64)
    vty.enable()
    report = load(load_subscribers(K2 if session == "load-update" else K1), vty)
    assert sock.done()
    assert (report.created, report.updated, report.unchanged, report.failed) == counts
    sent = "".join(v for k, v in sessions()[session] if k == "send")
    assert sent.count(" update aud3g ") == sent_aud3g
    if session != "load-create":
        assert " create" not in sent and " update msisdn" not in sent


def test_plan_changes_only_what_differs() -> None:
    sub = load_subscribers()[0]
    rec = osmohlr.HlrRecord(id=1, imsi=sub.imsi, msisdn="31612000001", algorithm_3g="milenage", k=sub.k,
                            opc=sub.opc, op=None, ind_bitlen=5, last_sqn=96)
    assert osmohlr.plan(rec, sub) == ("unchanged", [])
    assert osmohlr.plan(None, sub) == ("create", osmohlr.provisioning_commands(sub))
    moved = osmohlr.HlrRecord(**{**rec.__dict__, "msisdn": "31699999999"})
    assert osmohlr.plan(moved, sub) == ("update", [f"subscriber imsi {sub.imsi} update msisdn 31612000001"])
    for change in ({"opc": bytes(16)}, {"op": sub.opc, "opc": None}, {"algorithm_3g": "xor"}, {"ind_bitlen": 6}):
        action, cmds = osmohlr.plan(osmohlr.HlrRecord(**{**rec.__dict__, **change}), sub)
        assert action == "update" and cmds == [osmohlr.aud3g_command(sub)], change


def test_xor_and_tuak() -> None:
    k = bytes.fromhex(K1)
    xor = osmohlr.Subscriber("001010000000001", None, "xor", k, bytes(16))
    assert osmohlr.provisioning_commands(xor) == [
        "subscriber imsi 001010000000001 create", "subscriber imsi 001010000000001 update msisdn none",
        f"subscriber imsi 001010000000001 update aud3g xor k {K1}"]
    shown = osmohlr.HlrRecord(1, xor.imsi, None, "xor", k, bytes(16), None, 5, None)
    assert osmohlr.plan(shown, xor) == ("unchanged", [])
    with pytest.raises(Exception, match="TUAK batch cannot go into osmo-hlr 1.5"):
        osmohlr.script([osmohlr.Subscriber("001010000000001", None, "tuak", k, k)], [])


def test_unreachable_and_addresses() -> None:
    with pytest.raises(ServiceUnreachable, match="VTY 127.0.0.1:1: cannot connect"):
        VtyClient("127.0.0.1", 1, timeout=2)
    assert parse_address("127.0.0.1:4258", 1) == ("127.0.0.1", 4258)
    assert parse_address("hlr.example", 4258) == ("hlr.example", 4258)
    for bad in ("127.0.0.1:x", ":4258", "h:70000"):
        with pytest.raises(ValueError):
            parse_address(bad, 4258)


def test_reply_text_drops_only_the_echo() -> None:
    from simtool.network.vty import Reply

    assert reply_text(Reply("show x\r\n  a\r\n", "H# "), "show x") == "  a\n"
    assert reply_text(Reply("other\r\n", "H# "), "show x") == "other\n"

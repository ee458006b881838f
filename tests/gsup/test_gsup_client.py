"""GsupClient against a scripted IPA server on an ephemeral loopback port: the handshake, a PING in the middle
of a request, answers for another IMSI skipped, an HLR error as HlrRefused, and every way of being away
(refused, silent, closed) as HlrUnreachable (exit 3)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest

from simtool.errors import EXIT_FAILED, EXIT_NO_CARD, InputError
from simtool.gsup import ipa
from simtool.gsup import message as m
from simtool.gsup.client import GsupClient, parse_address
from simtool.gsup.errors import HlrRefused, HlrUnreachable

IMSI = "001010123456789"
RESULT = next(v for v in m.VECTORS if v.source.startswith("osmo-hlr 1.5.0: SAI result, 2"))
ERROR = m.VECTORS[2].data


class Server:
    """Accepts one client, does the server side of the handshake, then runs `script(conn, request)` for each GSUP
    request it reads."""

    def __init__(self, script: Callable[[socket.socket, m.Message], None]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.script, self.got = script, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.sendall(ipa.VECTORS[3].data)  # osmo-hlr's ID_GET
            frames = ipa.Deframer()
            try:
                while not self.done.is_set():
                    data = conn.recv(4096)
                    if not data:
                        return
                    for f in frames.feed(data):
                        self.got.append(f)
                        if f.ccm is ipa.CcmType.ID_ACK:
                            conn.sendall(ipa.ID_ACK)
                        elif f.is_gsup:
                            self.script(conn, m.decode(f.payload))
            except OSError:
                return

    def close(self) -> None:
        self.done.set()
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def serve():
    servers: list[Server] = []

    def start(script):
        servers.append(Server(script))
        return servers[-1]
    yield start
    for s in servers:
        s.close()


def test_vectors_with_a_ping_and_a_stray_answer_in_between(serve):
    def script(conn, req):
        other = m.encode_pdu(m.Message(m.MsgType.SEND_AUTH_INFO_ERROR, "001010000000001", cause=2))
        conn.sendall(ipa.PING + other + RESULT.data[:7])
        conn.sendall(RESULT.data[7:])
    srv = serve(script)
    with GsupClient("127.0.0.1", srv.port, timeout=5) as c:
        tuples = c.send_auth_info(IMSI, 2)
    srv.thread.join(5)  # the client hung up: the server has read everything it sent
    assert tuples == list(RESULT.value.tuples)
    sent = [f for f in srv.got if f.is_gsup]
    assert m.decode(sent[0].payload) == m.Message(m.MsgType.SEND_AUTH_INFO_REQUEST, IMSI, cn_domain=m.CnDomain.CS,
                                                  num_vectors=2)
    assert any(f.ccm is ipa.CcmType.PONG for f in srv.got)
    ident = ipa.parse_id_resp(next(f for f in srv.got if f.ccm is ipa.CcmType.ID_RESP).payload)
    assert ident[ipa.IdTag.SERNR] == "simtool"


def test_resync_sends_auts_and_rand(serve):
    srv = serve(lambda conn, req: conn.sendall(RESULT.data))
    auts, rand = bytes(range(14)), bytes(range(16))
    with GsupClient("127.0.0.1", srv.port) as c:
        c.resync(IMSI, auts, rand)
    srv.thread.join(5)
    req = m.decode(next(f for f in srv.got if f.is_gsup).payload)
    assert (req.auts, req.rand, req.num_vectors) == (auts, rand, 1)


def test_an_hlr_error_is_refused_with_its_cause(serve):
    srv = serve(lambda conn, req: conn.sendall(ERROR))
    with GsupClient("127.0.0.1", srv.port) as c, pytest.raises(HlrRefused, match="IMSI unknown") as e:
        c.send_auth_info(IMSI)
    assert e.value.cause == 2 and e.value.exit_code == EXIT_FAILED


def test_a_silent_hlr_is_unreachable_after_the_timeout(serve):
    srv = serve(lambda conn, req: None)
    with GsupClient("127.0.0.1", srv.port, timeout=0.3) as c, pytest.raises(HlrUnreachable, match="no answer") as e:
        c.send_auth_info(IMSI)
    assert e.value.exit_code == EXIT_NO_CARD


def test_an_hlr_that_hangs_up_is_unreachable(serve):
    def script(conn, req):
        conn.shutdown(socket.SHUT_RDWR)
    srv = serve(script)
    with GsupClient("127.0.0.1", srv.port) as c, pytest.raises(HlrUnreachable, match="closed the connection|lost"):
        c.send_auth_info(IMSI)


def test_a_refused_connection_is_unreachable():
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(HlrUnreachable, match=f"127.0.0.1:{port} unreachable"):
        GsupClient("127.0.0.1", port).connect()


@pytest.mark.parametrize(("text", "want"), [("127.43.0.1:4222", ("127.43.0.1", 4222)), ("hlr", ("hlr", 4222)),
                                            ("[::1]:9", ("::1", 9))])
def test_parse_address(text, want):
    assert parse_address(text) == want


@pytest.mark.parametrize("text", ["", "h:", "h:x", "h:70000", "[::1]x"])
def test_parse_address_refuses(text):
    with pytest.raises(InputError, match="--gsup"):
        parse_address(text)

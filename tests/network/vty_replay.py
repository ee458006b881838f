"""Recorded VTY sessions with the real osmo-hlr 1.5.0, and a socket that replays them.

`python -m tests.network.vty_replay` starts a fixture osmo-hlr, runs the sessions below through
`VtyClient` over a recording socket and writes tests/network/data/osmo-hlr-vty.json: per session the bytes
sent and received, in order (as latin-1 text, so the file reads like the session). `ReplaySocket` gives a
`VtyClient` those received bytes back and checks that the client sends exactly what was sent then.
The keys are made-up test values, not batch secrets.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "osmo-hlr-vty.json"
K1, OPC1 = "000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff"
K2 = "ffeeddccbbaa99887766554433221100"
HAND = ["enable",
        "subscriber imsi 001010000000001 show",
        "subscriber imsi 001010000000001 create",
        "subscriber imsi 001010000000001 create",
        "subscriber imsi 001010000000001 update msisdn 31612345678",
        f"subscriber imsi 001010000000001 update aud3g milenage k {K1} opc {OPC1}",
        "subscriber imsi 001010000000001 show",
        "show subscriber imsi 001010000000001",
        f"subscriber imsi 001010000000001 update aud3g xor k {K1}",
        "subscriber imsi 001010000000001 show",
        f"subscriber imsi 001010000000001 update aud3g milenage k {K1} op {OPC1}",
        f"subscriber imsi 001010000000001 update aud2g comp128v1 ki {K1}",
        "subscriber imsi 001010000000001 show",
        "subscriber imsi 001010000000001 update msisdn none",
        "subscriber imsi 001010000000002 create",
        "subscriber imsi 001010000000002 update msisdn 31612345678",
        "subscriber imsi 001010000000001 update msisdn 31612345678",
        "subscriber imsi 001010000000002 update msisdn 31612345678",
        "subscriber imsi 001010000000002 update msisdn +3161",
        "subscriber imsi 00101 create",
        f"subscriber imsi 001010000000001 update aud3g milenage k 0001 opc {OPC1}",
        "subscriber imsi 001010000000003 update msisdn 123",
        "bogus command",
        "subscriber imsi 001010000000002 delete"]


def load_subscribers(k3: str = K1) -> list[Any]:
    from simtool.network.osmohlr import Subscriber

    return [Subscriber("204080000000001", "+31612000001", "milenage", bytes.fromhex(K1), bytes.fromhex(OPC1)),
            Subscriber("204080000000002", None, "milenage", bytes.fromhex(K2), bytes.fromhex(OPC1)),
            Subscriber("204080000000003", "+31612000003", "milenage", bytes.fromhex(k3), bytes.fromhex(OPC1))]


class RecordingSocket:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.events = sock, []  # type: ignore[var-annotated]

    def _add(self, kind: str, data: bytes) -> None:
        if self.events and self.events[-1][0] == kind:
            self.events[-1][1] += data
        else:
            self.events.append([kind, bytearray(data)])

    def sendall(self, data: bytes) -> None:
        self._add("send", data)
        self.sock.sendall(data)

    def recv(self, n: int) -> bytes:
        data = self.sock.recv(n)
        self._add("recv", data)
        return data

    def settimeout(self, t: float) -> None:
        self.sock.settimeout(t)

    def close(self) -> None:
        self.sock.close()

    def dump(self) -> list[list[str]]:
        return [[k, bytes(v).decode("latin-1")] for k, v in self.events]  # readable; every byte kept


class ReplaySocket:
    """Gives back the recorded bytes (in chunks of `chunk`, to cross every boundary) and checks each send."""

    def __init__(self, events: list[list[str]], chunk: int = 65536) -> None:
        self.events = [(k, v.encode("latin-1")) for k, v in events]
        self.pending = b""
        self.chunk = chunk
        self.sent = b""

    def _pull(self) -> None:
        while not self.pending and self.events and self.events[0][0] == "recv":
            self.pending = self.events.pop(0)[1]

    def recv(self, n: int) -> bytes:
        self._pull()
        if not self.pending:
            raise AssertionError(f"the client waits for an answer the server never sent; next: {self.events[:1]}")
        out, self.pending = self.pending[: min(n, self.chunk)], self.pending[min(n, self.chunk):]
        return out

    def sendall(self, data: bytes) -> None:
        assert not self.pending, "the client sent before reading the whole answer"
        self.sent += data
        while self.events and self.events[0][0] == "send" and self.sent:
            want = self.events[0][1]
            got, self.sent = self.sent[: len(want)], self.sent[len(want):]
            assert got == want[: len(got)], (got, want)
            if len(got) < len(want):
                self.events[0] = ("send", want[len(got):])
            else:
                self.events.pop(0)

    def settimeout(self, t: float) -> None:
        pass

    def close(self) -> None:
        pass

    def done(self) -> bool:
        return not self.events and not self.pending


def sessions() -> dict[str, list[list[str]]]:
    return dict(json.loads(DATA.read_text())["sessions"])


def record() -> None:
    from simtool.network.load import load
    from simtool.network.vty import VtyClient
    from simtool.testing.osmohlr import start_hlr

    out: dict[str, Any] = {}
    with start_hlr() as hlr:
        version = subprocess.run([str(hlr.binary), "--version"], capture_output=True, text=True).stdout.split("\n")[0]

        def client() -> tuple[VtyClient, RecordingSocket]:
            rec = RecordingSocket(socket.create_connection(hlr.vty, timeout=5))
            return VtyClient(*hlr.vty, sock=rec), rec  # type: ignore[arg-type]

        vty, rec = client()
        for line in HAND:
            vty.command(line)
        vty.close()
        out["hand"] = rec.dump()
        for name, subs in (("load-create", load_subscribers()), ("load-unchanged", load_subscribers()),
                           ("load-update", load_subscribers(K2))):
            vty, rec = client()
            vty.enable()
            report = load(subs, vty)
            vty.close()
            out[name] = rec.dump()
            print(name, report.as_dict())
    DATA.write_text(json.dumps({"osmo_hlr": version, "address": "127.42.N.M", "sessions": out}, indent=1) + "\n")
    print(f"wrote {DATA}")


if __name__ == "__main__":
    record()

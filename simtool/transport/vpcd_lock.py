"""One server per vpcd slot: vpcd accepts one card connection per port, so two simtool processes must never
feed the same slot. The lock is a socket bound to an abstract unix address (Linux): the kernel frees it when
the process ends, and no lock file is left behind."""

from __future__ import annotations

import socket

from simtool.errors import NoCardError, SimtoolError


class SlotBusyError(SimtoolError):
    """Another simtool process already serves this vpcd slot (exit 3: the reader is taken)."""

    exit_code = NoCardError.exit_code


class PortLock:
    """Held while a process serves vpcd port `port`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None

    def acquire(self) -> bool:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"\0simtool-vpcd-port-{self.port}")
        except OSError:
            sock.close()
            return False
        self.sock = sock
        return True

    def release(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

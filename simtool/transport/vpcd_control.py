"""The control channel of a running vpcd card server: a unix socket, one JSON request line → one JSON answer.

Requests: `{"cmd": "eject", "slot": N}`, `{"cmd": "insert", "slot": N, "card": PATH}`, `{"cmd": "status"}`.
The socket is mode 0600 (umask while binding); a stale socket left by a dead server is replaced, a live
one refused. `simtool emulator eject --slot N` and the factory's `pcsc:...?eject=` are `send_control` clients.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simtool.errors import InputError, NoCardError, SimtoolError
from simtool.transport.vpcd_lock import SlotBusyError

VPCD_PORT = 35963  # 0x8C7B: vsmartcard's default base port
CONTROL_NAME = "control.sock"
Handler = Callable[[dict[str, Any]], dict[str, Any]]


def control_path(port: int = VPCD_PORT) -> Path:
    """The default control socket of a server on base port `port` (no feed directory)."""
    return Path(tempfile.gettempdir()) / f"simtool-vpcd-{port}.sock"


def recv_line(conn: socket.socket, limit: int = 65536) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def answer(line: bytes, handle: Handler) -> dict[str, Any]:
    """The answer to one request line: `handle(request)`, or `{"ok": false, "error": ...}` for a request
    that is no JSON object or that `handle` refuses with a SimtoolError."""
    try:
        req = json.loads(line)
    except ValueError:
        return {"ok": False, "error": "not a JSON request"}
    if not isinstance(req, dict):
        return {"ok": False, "error": "not a JSON object"}
    try:
        return handle(req)
    except SimtoolError as e:
        return {"ok": False, "error": str(e)}


class ControlServer:
    """Serves `handle` on the unix socket `path`, one connection at a time, on its own thread."""

    def __init__(self, path: Path, handle: Handler) -> None:
        self.path = path
        self.handle = handle
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def open(self) -> None:
        path = self.path
        if path.exists() or path.is_symlink():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(1.0)
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()  # stale: its server is gone
            else:
                raise SlotBusyError(f"{path}: another simtool emulator server is running")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        sock.listen(4)
        self._sock = sock
        self._thread = threading.Thread(target=self._loop, name="vpcd-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=3.0)

    def _loop(self) -> None:
        sock = self._sock
        while sock is not None and not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5.0)
                try:
                    out = answer(recv_line(conn), self.handle)
                except Exception as e:  # a bad request must not stop the server
                    out = {"ok": False, "error": str(e)}
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(out).encode() + b"\n")


def send_control(path: str | os.PathLike[str], request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """One request to a running server's control socket; its answer. NoCardError if none runs there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except OSError as e:
            raise NoCardError(f"no simtool emulator server listens on {path} ({e.strerror or e}); "
                              "start one with `simtool emulator serve`") from None
        sock.sendall(json.dumps(request).encode() + b"\n")
        line = recv_line(sock)
    except TimeoutError:
        raise NoCardError(f"{path}: the emulator server did not answer within {timeout:g} s") from None
    finally:
        sock.close()
    try:
        reply = json.loads(line)
    except ValueError:
        raise NoCardError(f"{path}: the emulator server gave no answer") from None
    if not isinstance(reply, dict):
        raise NoCardError(f"{path}: the emulator server gave no answer")
    if not reply.get("ok"):
        raise InputError(f"emulator server: {reply.get('error', 'request refused')}")
    out: dict[str, Any] = reply
    return out

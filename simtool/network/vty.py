"""A client for an osmocom VTY (osmo-hlr's telnet console, port 4258; specfacts-network-esim §10.3).

Sans-I/O core, `VtyStream`: bytes in (telnet IAC sequences removed), replies out, one per prompt. The
server greets with a banner ending in its first prompt (`OsmoHLR> `), which names the host the later prompts
match (`OsmoHLR> `, `OsmoHLR# `, `OsmoHLR(config)# `). Each command line is echoed, then its output, then the
prompt: `reply_text` drops the echo. A command is sent with "\\n" only: "\\r\\n" counts as two lines there
(an extra empty command and a second prompt).

`VtyClient` is the thin socket side: connect (ServiceUnreachable, exit 3, when it cannot), `enable`,
`command(line) -> output text`. Replies hold whatever the server printed; no key is logged here.
"""

from __future__ import annotations

import contextlib
import re
import socket
from dataclasses import dataclass, field

from simtool.errors import ServiceUnreachable

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
_PROMPT = re.compile(rb"(?:\A|\n)([A-Za-z0-9_.-]+)(\([A-Za-z0-9_.-]+\))?([>#]) ")
MAX_REPLY = 4 * 1024 * 1024  # a `show subscribers all` of 10,000 subscribers is ~1 MB


class VtyProtocolError(ServiceUnreachable):
    """The peer does not talk like an osmocom VTY (no prompt, a reply too long): nothing can be trusted."""


@dataclass
class Reply:
    """What the server sent before a prompt, and the prompt (`OsmoHLR# `)."""

    text: str
    prompt: str

    @property
    def enabled(self) -> bool:
        return self.prompt.endswith("# ")


@dataclass
class VtyStream:
    """Bytes from the server → `Reply`s. Telnet commands (IAC ...) are stripped as they arrive, across
    chunk boundaries; IAC IAC is a literal 0xFF. `negotiations` keeps what the server asked (e.g. WILL ECHO)."""

    hostname: str | None = None  # learnt from the first prompt
    negotiations: list[tuple[int, int]] = field(default_factory=list)
    _buf: bytearray = field(default_factory=bytearray)
    _iac: bytearray = field(default_factory=bytearray)  # an IAC sequence not yet complete
    _next: re.Pattern[bytes] = field(default=_PROMPT, repr=False)  # the prompt, once the host name is known

    def feed(self, data: bytes) -> None:
        out = self._buf
        for b in data:
            if self._iac:
                self._iac.append(b)
                seq = self._iac
                if len(seq) == 2:
                    if b == IAC:  # escaped 0xFF
                        out.append(IAC)
                        seq.clear()
                    elif b not in (DO, DONT, WILL, WONT, SB):
                        seq.clear()  # a two-byte command (NOP, GA, ...)
                elif seq[1] in (DO, DONT, WILL, WONT):
                    self.negotiations.append((seq[1], b))
                    seq.clear()
                elif seq[1] == SB and seq[-2] == IAC and b == SE:
                    seq.clear()
            elif b == IAC:
                self._iac.append(b)
            else:
                out.append(b)
        if len(out) > MAX_REPLY:
            raise VtyProtocolError(f"the VTY sent more than {MAX_REPLY} bytes without a prompt")

    def reply(self) -> Reply | None:
        """The next reply, once its prompt has arrived: the first prompt names the host (`OsmoHLR> `), later
        ones must carry the same name. Replies may queue up (pipelined commands) and are taken in order."""
        if self.hostname is None:
            m = _PROMPT.search(self._buf)
            if m is None:
                return None
            self.hostname = m.group(1).decode("ascii")
            self._next = re.compile(rb"(?:\A|\n)(" + re.escape(m.group(1)) + rb")(\([A-Za-z0-9_.-]+\))?([>#]) ")
        else:
            m = self._next.search(self._buf)
            if m is None:
                return None
        text = self._buf[: m.start(1)].decode("utf-8", "replace")
        prompt = self._buf[m.start(1): m.end()].decode("ascii")
        del self._buf[: m.end()]
        return Reply(text, prompt)


def reply_text(reply: Reply, command: str) -> str:
    """The output of `command`: the reply without the echoed command line, CRLF as LF."""
    text = reply.text.replace("\r\n", "\n")
    first, sep, rest = text.partition("\n")
    if first.strip() == command.strip():
        text = rest
    return text


def parse_address(value: str, default_port: int) -> tuple[str, int]:
    """HOST:PORT (or HOST) → (host, port); ValueError with the reason."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = value, str(default_port)
    host = host.strip("[]")
    if not host:
        raise ValueError(f"{value!r}: no host")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: port must be 1..65535")
    return host, int(port)


class VtyClient:
    """One telnet VTY session. `with VtyClient(host, port) as vty: vty.enable(); vty.command("...")`."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0, sock: socket.socket | None = None) -> None:
        self.where = f"{host}:{port}"
        try:
            self._sock = sock or socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise ServiceUnreachable(f"VTY {self.where}: cannot connect: {e.strerror or e}") from None
        self._sock.settimeout(timeout)
        self._stream = VtyStream()
        try:
            self.banner = self._read()
        except BaseException:
            self.close()
            raise
        self.prompt = self.banner.prompt

    def _read(self) -> Reply:
        while True:
            r = self._stream.reply()
            if r is not None:
                return r
            try:
                data = self._sock.recv(65536)
            except OSError as e:
                raise ServiceUnreachable(f"VTY {self.where}: {e.strerror or e or 'timed out'}") from None
            if not data:
                raise ServiceUnreachable(f"VTY {self.where}: the connection was closed")
            self._stream.feed(data)

    def command(self, line: str) -> str:
        """Send one command line, wait for the prompt; its output (without the echo)."""
        return self.commands([line])[0]

    def commands(self, lines: list[str]) -> list[str]:
        """Send the lines at once (pipelined: the VTY runs them in order), then read one reply each."""
        if any("\n" in line or "\r" in line for line in lines):
            raise ValueError("one command per line")
        try:
            self._sock.sendall(b"".join(line.encode("utf-8") + b"\n" for line in lines))
        except OSError as e:
            raise ServiceUnreachable(f"VTY {self.where}: {e.strerror or e}") from None
        out = []
        for line in lines:
            r = self._read()
            self.prompt = r.prompt
            out.append(reply_text(r, line))
        return out

    def enable(self) -> None:
        """Enter the ENABLE node (osmo-hlr asks no password by default)."""
        if not self.prompt.endswith("# "):
            out = self.command("enable")
            if not self.prompt.endswith("# "):
                raise VtyProtocolError(f"VTY {self.where}: `enable` refused: {out.strip()}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> VtyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

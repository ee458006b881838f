"""The status words, one enum for both sides (issue 14): values as the standards give them, wire bytes
from them, and the terminal side's meanings keyed by the same members."""

from __future__ import annotations

import pytest

from simtool.commands import sw as terminal
from simtool.encoding.sw import SW, SW1, counted


def test_values_are_the_standard_ones() -> None:
    assert (SW.OK, SW.SECURITY, SW.NOT_FOUND, SW.MEMORY, SW.AUTH_MAC, SW.TOOLKIT_BUSY) == (
        0x9000, 0x6982, 0x6A82, 0x6581, 0x9862, 0x9300)
    assert len({int(m) for m in SW}) == len(SW)  # no alias hides a second name for one value


@pytest.mark.parametrize("member", list(SW), ids=[m.name for m in SW])
def test_raw_is_sw1_sw2(member: SW) -> None:
    assert member.raw == bytes([member >> 8, member & 0xFF])
    assert SW(int.from_bytes(member.raw, "big")) is member


def test_counted() -> None:
    assert counted(SW1.RESPONSE_AVAILABLE, 0x1C) == b"\x61\x1c"
    assert counted(SW1.WRONG_LE, 256) == b"\x6c\x00"  # 256 bytes are coded 00
    assert counted(SW1.VERIFY_FAILED, 0xC3) == b"\x63\xc3"


def test_terminal_side_speaks_the_same_words() -> None:
    assert set(terminal.STATUS_WORDS) <= set(SW)
    todo = [terminal.StatusWordError]
    while todo:  # every meaning the terminal raises stands for a word of the enum
        cls = todo.pop()
        todo += cls.__subclasses__()
        assert cls.default_sw in set(SW), cls.__name__
    err = terminal.error_for_sw(SW.SECURITY, "UPDATE BINARY")
    assert isinstance(err, terminal.SecurityNotSatisfied) and type(err.sw) is int and err.sw == 0x6982
    assert terminal.WrongPin.with_tries(2).sw == 0x63C2

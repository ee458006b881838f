"""PIN1/PIN2/ADM1 state machine: tries, blocking, PUKs, CHANGE/DISABLE/ENABLE, retry queries, PIN file."""

from __future__ import annotations

import pytest

from simtool.commands import parse_retry_counter
from simtool.emulator import Card
from simtool.encoding import efs as C
from simtool.fs import Cond
from tests.emulator.emucard_helpers import ADM, FS, pin, select_path, sw, verify_adm


def verify(card: Card, ref: int, value: bytes | None) -> int:
    data = b"" if value is None else bytes([len(value)]) + value
    return sw(card, bytes([0x00, 0x20, 0x00, ref]) + data)


def unblock(card: Card, ref: int, puk: bytes | None, new: bytes = b"") -> int:
    data = b"" if puk is None else bytes([16]) + puk + new
    return sw(card, bytes([0x00, 0x2C, 0x00, ref]) + data)


@pytest.mark.parametrize("ref", [0x01, 0x81])
def test_pin_three_tries_then_blocked(card: Card, ref: int) -> None:
    assert verify(card, ref, None) == 0x63C3
    assert verify(card, ref, pin("9999")) == 0x63C2
    assert verify(card, ref, pin("9999")) == 0x63C1
    assert verify(card, ref, None) == 0x63C1
    assert verify(card, ref, pin("9999")) == 0x63C0
    assert verify(card, ref, pin("0000")) == 0x6983  # blocked: even the right PIN
    assert verify(card, ref, None) == 0x63C0
    # PUK: empty query, one wrong, then unblock with a new PIN
    assert unblock(card, ref, None) == 0x63CA
    assert unblock(card, ref, pin("00000000"), pin("4321")) == 0x63C9
    assert unblock(card, ref, pin("12345678"), pin("4321")) == 0x9000
    assert verify(card, ref, None) == 0x63C3
    assert unblock(card, ref, None) == 0x63CA
    assert verify(card, ref, pin("0000")) == 0x63C2
    assert verify(card, ref, pin("4321")) == 0x9000
    assert verify(card, ref, None) == 0x63C3  # 63CX even when verified (specfacts §4.3)


def test_right_pin_resets_counter(card: Card) -> None:
    assert verify(card, 1, pin("1111")) == 0x63C2
    assert verify(card, 1, pin("0000")) == 0x9000
    assert card.state.counters["pin1"] == 3
    assert Cond.PIN1 in card.verified
    assert verify(card, 1, pin("1111")) == 0x63C2
    assert Cond.PIN1 not in card.verified  # a failed VERIFY drops the verification


def test_puk_ten_tries_then_dead(card: Card) -> None:
    for left in range(9, -1, -1):
        assert unblock(card, 1, pin("87654321"), pin("1234")) == 0x63C0 | left
    assert unblock(card, 1, pin("12345678"), pin("1234")) == 0x6983
    assert unblock(card, 1, None) == 0x63C0
    assert verify(card, 1, pin("0000")) == 0x9000  # PIN1 itself still works
    assert unblock(card, 0x81, None) == 0x63CA  # PUK2 is separate


def test_unblock_reenables_and_checks_format(card: Card) -> None:
    assert sw(card, b"\x00\x26\x00\x01\x08" + pin("0000")) == 0x9000
    assert unblock(card, 1, pin("12345678"), b"12\xff\xff\xff\xff\xff\xff") == 0x6A80  # too short
    assert unblock(card, 1, pin("12345678"), b"abcd\xff\xff\xff\xff") == 0x6A80
    assert card.state.counters["puk1"] == 10  # a format error costs no try
    assert unblock(card, 1, pin("12345678"), pin("56781234")) == 0x9000
    pins = C.PINS.decode(card.file_bytes(FS.by_role("pins").path))
    assert pins["pin1"] == b"56781234" and pins["pin1_enabled"] is True
    assert sw(card, "0020000108" + pin("1234").hex()) == 0x63C2
    assert unblock(card, 1, pin("12345678")) == 0x6700  # no new PIN
    assert unblock(card, 0x0A, pin("12345678"), pin("1234")) == 0x6985  # no PUK for ADM
    assert unblock(card, 0x02, None) == 0x6A88


def test_change_pin(card: Card) -> None:
    assert sw(card, b"\x00\x24\x00\x01\x10" + pin("1111") + pin("2222")) == 0x63C2
    assert sw(card, b"\x00\x24\x00\x01\x10" + pin("0000") + pin("22")) == 0x6A80
    assert sw(card, b"\x00\x24\x00\x01\x10" + pin("0000") + pin("2222")) == 0x9000
    assert card.state.counters["pin1"] == 3
    assert Cond.PIN1 in card.verified
    assert verify(card, 1, pin("0000")) == 0x63C2
    assert verify(card, 1, pin("2222")) == 0x9000
    assert sw(card, b"\x00\x24\x00\x01\x08" + pin("0000")) == 0x6700
    # a disabled PIN cannot be changed
    assert sw(card, b"\x00\x26\x00\x01\x08" + pin("2222")) == 0x9000
    assert sw(card, b"\x00\x24\x00\x01\x10" + pin("2222") + pin("3333")) == 0x6984


def test_disable_enable(card: Card) -> None:
    assert sw(card, b"\x00\x28\x00\x01\x08" + pin("0000")) == 0x6985  # already enabled
    assert sw(card, b"\x00\x26\x00\x01\x08" + pin("1111")) == 0x63C2
    assert sw(card, b"\x00\x26\x00\x01\x08" + pin("0000")) == 0x9000
    assert card.state.counters["pin1"] == 3
    assert not C.PINS.decode(card.file_bytes(FS.by_role("pins").path))["pin1_enabled"]
    card.reset()
    assert Cond.PIN1 in card.verified  # disabled: held without VERIFY
    assert sw(card, b"\x00\x26\x00\x01\x08" + pin("0000")) == 0x6985  # already disabled
    assert verify(card, 1, None) == 0x63C3
    assert sw(card, b"\x00\x28\x00\x01\x08" + pin("0000")) == 0x9000
    card.reset()
    assert Cond.PIN1 not in card.verified
    assert sw(card, b"\x00\x26\x00\x0a\x08" + ADM) == 0x6985  # ADM cannot be disabled
    assert sw(card, b"\x00\x26\x11\x01\x08" + pin("0000")) == 0x6A86  # no universal PIN
    assert sw(card, b"\x00\x26\x00\x01\x04" + b"0000") == 0x6700
    # blocked PIN: neither disable nor enable
    for _ in range(3):
        verify(card, 1, pin("9999"))
    assert sw(card, b"\x00\x26\x00\x01\x08" + pin("0000")) == 0x6983


def test_adm_tries_and_block(card: Card) -> None:
    assert verify(card, 0x0A, None) == 0x63C3
    assert verify(card, 0x0A, b"\x00" * 8) == 0x63C2
    assert verify(card, 0x0A, ADM) == 0x9000
    assert verify(card, 0x0A, None) == 0x63C3
    assert parse_retry_counter(verify(card, 0x0A, None)) == 3
    assert verify(card, 0x0A, b"\x00" * 8) == 0x63C2
    assert verify(card, 0x0A, b"\x00" * 8) == 0x63C1
    assert verify(card, 0x0A, b"\x00" * 8) == 0x63C0
    assert verify(card, 0x0A, ADM) == 0x6983
    assert verify(card, 0x0A, None) == 0x63C0
    assert Cond.ADM1 not in card.verified


def test_change_adm(card: Card) -> None:
    new = bytes(range(8))
    assert sw(card, b"\x00\x24\x00\x0a\x10" + ADM + new) == 0x9000
    assert card.state.adm1 == new
    assert verify(card, 0x0A, ADM) == 0x63C2
    assert verify(card, 0x0A, new) == 0x9000


def test_pin_command_parameters(card: Card) -> None:
    assert sw(card, b"\x00\x20\x01\x01\x08" + pin("0000")) == 0x6A86  # P1 must be 00
    assert sw(card, b"\x00\x20\x00\x02\x08" + pin("0000")) == 0x6A88  # unknown key reference
    assert sw(card, b"\x00\x20\x00\x01\x04" + b"0000") == 0x6700  # not padded to 8
    assert sw(card, b"\x00\x20\x00\x01\x00") == 0x63C3  # P3=00 under T=0: a query
    assert card.state.counters["pin1"] == 3


def test_pin_file_write_sets_pins_flags_and_counters(card: Card) -> None:
    verify(card, 1, pin("9999"))
    for _ in range(3):
        unblock(card, 1, pin("00000000"), pin("1234"))
    assert card.state.counters["puk1"] == 7
    verify_adm(card)
    entry = FS.by_role("pins")
    new = C.PINS.encode({"pin1": "1234", "puk1": "11112222", "pin2": "5678", "puk2": "33334444",
                         "pin1_enabled": False, "pin2_enabled": True})
    assert select_path(card, entry.path) == 0x9000
    assert sw(card, bytes([0x00, 0xD6, 0x00, 0x00, len(new)]) + new) == 0x9000
    assert card.state.counters == {"pin1": 3, "pin2": 3, "puk1": 10, "puk2": 10, "adm1": 3}
    assert Cond.PIN1 in card.verified  # PIN1 now disabled
    assert verify(card, 1, pin("1234")) == 0x9000
    assert verify(card, 0x81, pin("0000")) == 0x63C2
    assert verify(card, 0x81, pin("5678")) == 0x9000
    assert unblock(card, 1, pin("11112222"), pin("4444")) == 0x9000
    assert sw(card, "00B0000001") == 0x6982  # and it cannot be read back
    # the write needs ADM
    card.reset()
    assert select_path(card, entry.path) == 0x9000
    assert sw(card, bytes([0x00, 0xD6, 0x00, 0x00, len(new)]) + new) == 0x6982

"""--trace masking: PINs and secret-file writes never show (DESIGN.md §4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.commands import (
    ADM1,
    PIN1,
    Tracer,
    change_pin,
    disable_pin,
    enable_pin,
    format_response,
    mask_apdu,
    read_binary,
    read_record,
    run,
    select_fid,
    select_mf,
    select_path,
    unblock_pin,
    update_binary,
    update_record,
    verify_pin,
)


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


PIN = h("31323334FFFFFFFF")
PUK = h("3132333435363738")
KEY_FILE = 0x6F20  # a made-up card-model key file (Ki/OPc)
PIN_FILE = 0x6F21


def test_select_is_shown_as_is() -> None:
    assert mask_apdu(h("00A4000C023F00")) == "00A4000C023F00"


def test_verify_data_masked() -> None:
    assert mask_apdu(verify_pin(PIN1, PIN).to_bytes()) == "0020000108" + "**" * 8


def test_retry_query_shown() -> None:
    assert mask_apdu(verify_pin(ADM1, None).to_bytes()) == "0020000A"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (change_pin(PIN1, PIN, PUK).to_bytes(), "0024000110" + "**" * 16),
        (disable_pin(PIN1, PIN).to_bytes(), "0026000108" + "**" * 8),
        (enable_pin(PIN1, PIN).to_bytes(), "0028000108" + "**" * 8),
        (unblock_pin(PIN1, PUK, PIN).to_bytes(), "002C000110" + "**" * 16),
        (h("00200001 08 31323334FFFFFFFF 00"), "0020000108" + "**" * 8 + "00"),  # Le stays visible
        (h("00200001 0A 31323334FFFFFFFF"), "00200001" + "**" * 9),  # malformed: all after header
    ],
)
def test_pin_commands_masked(raw: bytes, expected: str) -> None:
    assert mask_apdu(raw) == expected


def test_update_masked_only_while_a_secret_file_is_selected() -> None:
    raw = update_binary(0, h("000102030405060708090A0B0C0D0E0F")).to_bytes()
    assert mask_apdu(raw, {KEY_FILE}, selected_fid=KEY_FILE) == "00D6000010" + "**" * 16
    assert mask_apdu(raw, {KEY_FILE}, selected_fid=0x6F07) == raw.hex().upper()
    assert mask_apdu(raw) == raw.hex().upper()
    rec = update_record(1, h("AABBCCDD")).to_bytes()
    assert mask_apdu(rec, {PIN_FILE}, selected_fid=PIN_FILE) == "00DC010404" + "**" * 4


def test_update_by_sfi_of_a_secret_file_masked() -> None:
    raw = update_binary(0, h("AABB"), sfi=0x1A).to_bytes()  # default SFI of FID 6F3A
    assert "AABB" not in mask_apdu(raw, {0x6F3A}, selected_fid=0x3F00)
    rec = update_record(2, h("AABB"), sfi=0x1A).to_bytes()
    assert "AABB" not in mask_apdu(rec, {0x6F3A}, selected_fid=0x3F00)
    raw = update_binary(0, h("AABB"), sfi=0x19).to_bytes()
    assert "AABB" not in mask_apdu(raw, set(), masked_sfis={0x19})
    assert mask_apdu(raw, {KEY_FILE}) == raw.hex().upper()  # SFI 19 is not 6F20's


def test_tracer_lines_and_select_tracking() -> None:
    out: list[str] = []
    t = Tracer(out.append, secret_fids={KEY_FILE})
    t.exchange(select_mf(), h("9000"))
    t.exchange(select_fid(KEY_FILE), h("9000"))
    t.exchange(update_binary(0, h("000102030405060708090A0B0C0D0E0F")), h("9000"))
    assert out == [
        ">> 00A4000C023F00",
        "<< 9000",
        ">> 00A4000C026F20",
        "<< 9000",
        ">> 00D6000010" + "**" * 16,
        "<< 9000",
    ]
    assert t.lines == out and t.selected_fid() == KEY_FILE
    # Another file selected: writes are shown again.
    t.exchange(select_fid(0x6F07), h("9000"))
    assert t.exchange(update_binary(0, h("0809")), h("9000"))[0] == ">> 00D60000020809"


def test_failed_select_keeps_the_secret_file_current() -> None:
    t = Tracer(secret_fids={KEY_FILE})
    t.exchange(select_fid(KEY_FILE), h("9000"))
    t.exchange(select_fid(0x6F99), h("6A82"))
    assert t.selected_fid() == KEY_FILE
    line, _ = t.exchange(update_binary(0, h("DEADBEEF")), h("9000"))
    assert "DEADBEEF" not in line


def test_select_by_path_and_t0_fcp() -> None:
    t = Tracer(secret_fids={PIN_FILE})
    t.exchange(select_path([0x7FFF, PIN_FILE], fcp=True), h("6119"))
    assert t.selected_fid() == PIN_FILE
    t.exchange(select_mf(), h("9000"))
    assert t.selected_fid() == 0x3F00


def test_selection_is_per_channel() -> None:
    t = Tracer(secret_fids={KEY_FILE})
    t.exchange(select_fid(KEY_FILE).with_channel(1), h("9000"))
    assert t.selected_fid(1) == KEY_FILE and t.selected_fid(0) is None
    line0, _ = t.exchange(update_binary(0, h("CAFE")), h("9000"))
    line1, _ = t.exchange(update_binary(0, h("CAFE")).with_channel(1), h("9000"))
    assert "CAFE" in line0 and "CAFE" not in line1


def test_read_of_a_secret_file_masks_the_response() -> None:
    t = Tracer(secret_fids={KEY_FILE})
    t.exchange(select_fid(KEY_FILE), h("9000"))
    assert t.exchange(read_binary(0, 4), h("DEADBEEF 9000"))[1] == "<< " + "**" * 4 + " 9000"
    # under T=0 the data may come after a 6Cxx re-send or a GET RESPONSE
    t.exchange(read_binary(0, 256), h("6C04"))
    assert t.exchange(read_binary(0, 4), h("DEADBEEF 9000"))[1] == "<< ******** 9000"
    t.exchange(read_record(1, 256), h("6104"))
    assert "DEADBEEF" not in t.exchange(h("00C0000004"), h("DEADBEEF 9000"))[1]
    t.exchange(select_fid(0x6F07), h("9000"))
    assert t.exchange(read_binary(0, 2), h("0809 9000"))[1] == "<< 0809 9000"


def test_wrap_traces_a_whole_t0_exchange() -> None:
    t = Tracer(secret_fids={KEY_FILE})
    answers = iter([h("6119"), h("00" * 0x19 + "9000")])
    r = run(select_fid(0x6F07, fcp=True), "T=0", t.wrap(lambda _raw: next(answers)))
    assert r.exchanges == 2
    assert t.lines == [">> 00A40004026F07", "<< 6119", ">> 00C0000019", "<< " + "00" * 0x19 + " 9000"]


def test_format_response() -> None:
    assert format_response(h("9000")) == "9000"
    assert format_response(h("0102 9000")) == "0102 9000"
    assert format_response(h("0102 9000"), mask_data=True) == "**** 9000"


# --- properties: no PIN ever appears ------------------------------------------------------------------------

pins = st.binary(min_size=8, max_size=8)


@given(pins, st.sampled_from([0x01, 0x81, 0x0A, 0x0B, 0x11]))
def test_no_pin_in_any_masked_line(pin: bytes, keyref: int) -> None:
    secret = pin.hex().upper()
    commands = [
        verify_pin(keyref, pin),
        change_pin(keyref, pin, pin),
        disable_pin(keyref, pin),
        enable_pin(keyref, pin),
        unblock_pin(keyref, pin, pin),
    ]
    t = Tracer(secret_fids={KEY_FILE})
    for apdu in commands:
        assert secret not in mask_apdu(apdu.to_bytes())
        line, _ = t.exchange(apdu, h("63C2"))
        assert secret not in line
        assert secret not in repr(apdu).upper()
    assert all(secret not in line for line in t.lines)


@given(st.binary(min_size=1, max_size=255))
def test_no_key_file_data_in_trace(key: bytes) -> None:
    t = Tracer(secret_fids={KEY_FILE, PIN_FILE})
    t.exchange(select_fid(KEY_FILE), h("9000"))
    t.exchange(update_binary(0, key), h("9000"))
    t.exchange(select_fid(PIN_FILE), h("9000"))
    t.exchange(update_record(1, key), h("9000"))
    assert all(set(line[3 + 10 :]) <= {"*"} for line in t.lines if line.startswith(">> 00D"))


@pytest.mark.parametrize("ins", ["21", "25", "2D"])
def test_odd_ins_iso_pin_forms_masked_too(ins: str) -> None:
    raw = h(f"00{ins}0001 0A 8008 31323334FFFFFFFF")
    assert mask_apdu(raw) == f"00{ins}00010A" + "**" * 10

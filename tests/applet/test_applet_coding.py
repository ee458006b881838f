"""Codings both ends must agree on: text strings and alpha identifiers (GSM 7-bit / UCS2 chosen per string,
by the card; read by the terminal), date-time and zone (each side written separately), quantities, proactive
command bytes. The packing, the COMPREHENSION-TLV form and byte sizes are `simtool.encoding`'s, with their
vectors there (tests/encoding)."""

from __future__ import annotations

from datetime import datetime

import pytest

from simtool.commands import cat as host
from simtool.commands import plan
from simtool.emulator import applet
from simtool.emulator import cat as card


@pytest.mark.parametrize("text", ["Hello", "1234567", "ABCDEFGH", "Valid until 2026-12-11 10:00 (UTC+01:00)",
                                  "{curly} [square] ~ € ^ | \\", "Line\nbreak", "我的套餐",
                                  "剩余流量：734 MB（共 1 GB）", "Ωμέγα"])
def test_text_strings_round_trip(text: str) -> None:
    assert host.decode_text_string(card.text_string(text)) == text
    assert host.decode_alpha(card.alpha(text)) == text


def test_coding_is_chosen_per_string() -> None:
    assert card.text_string("My plan")[0] == 0x00  # GSM 7-bit packed
    assert card.text_string("我的套餐")[0] == 0x08  # UCS2
    assert card.alpha("My plan") == b"My plan"
    assert card.alpha("充值") == bytes.fromhex("805145503C")


def test_date_time_vector() -> None:
    # specfacts §5.2: 2025-11-26 04:14:30 UTC+1 -> 52 11 62 40 41 03 40
    dt = datetime.fromisoformat("2025-11-26T04:14:30+01:00")
    assert host.encode_date_time(dt).hex() == "52116240410340"
    assert applet.parse_date_time(bytes.fromhex("52116240410340")) == (int(dt.timestamp()), 4)
    west = datetime.fromisoformat("2026-01-02T03:04:05-03:30")
    assert host.encode_date_time(west).hex() == "621020304050" "49"  # 14 quarter hours west: 1|4, sign bit
    assert applet.parse_date_time(host.encode_date_time(west)) == (int(west.timestamp()), -14)
    assert applet.parse_date_time(bytes.fromhex("6213200100FF40")) is None  # month 31, bad digits


@pytest.mark.parametrize(("text", "n"), [("1GB", 10**9), ("734MB", 734 * 10**6), ("1.5 GB", 1_500_000_000),
                                         ("2GiB", 2**31), ("100", 100), ("0", 0), ("3 kB", 3000)])
def test_quantities_as_written(text: str, n: int) -> None:
    assert plan.parse_bytes(text) == n


def test_times_on_screen() -> None:
    utc = int(datetime.fromisoformat("2026-12-11T09:00+00:00").timestamp())
    assert applet.format_time(utc, 4) == "2026-12-11 10:00 (UTC+01:00)"
    assert applet.format_time(utc, -14) == "2026-12-11 05:30 (UTC-03:30)"
    assert applet.format_time(utc, 32) == "2026-12-11 17:00 (UTC+08:00)"


def test_proactive_commands_parse_on_the_host() -> None:
    # specfacts §5.4 worked SET UP MENU, and the classic DISPLAY TEXT / LAUNCH BROWSER vectors
    menu = host.parse_proactive(bytes.fromhex(
        "D021 8103012500 82028182 85044D656E75 8F07014974656D2031 8F07024974656D2032".replace(" ", "")))
    assert (menu.type, menu.alpha, menu.menu_items) == (0x25, "Menu", [(1, "Item 1"), (2, "Item 2")])
    text = host.parse_proactive(bytes.fromhex("D01A8103012180820281028D0F04546F6F6C6B697420546573742031"))
    assert (text.type, text.qualifier, text.text) == (0x21, 0x80, "Toolkit Test 1")
    browser = host.parse_proactive(bytes.fromhex("D018810301150082028182 3100 050B44656661756C742055524C"
                                                 .replace(" ", "")))
    assert (browser.url, browser.alpha) == ("", "Default URL")
    assert host.terminal_response(menu).hex() == "810301250082028281830100"
    assert host.menu_selection(2).hex() == "d30782020181900102"


def test_location_status_envelope() -> None:
    env = host.location_status(host.LOCATION_NORMAL, host.parse_plmn("262-01"))
    assert env.hex() == "d61399010382028281" "9b0100" "930762f21000010001"
    assert host.parse_plmn("310-410") == bytes.fromhex("130014")

"""The one blank-card tray (simtool.emulator.tray) under both of its users: numbering past the bins, six-digit
names, atomic creation never over a file, set-aside with `.N` on a clash, one holder at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simtool.emulator.card import Card
from simtool.emulator.tray import Tray, TrayBusyError, card_name
from simtool.transport.emufeed import EmuFeedTray
from simtool.transport.vpcd_feed import Feed

ADM = bytes.fromhex("3131313131313131")


def test_numbers_continue_past_the_bins_and_names_have_six_digits(tmp_path: Path) -> None:
    (tmp_path / "done").mkdir()
    (tmp_path / "rejected").mkdir()
    (tmp_path / "done" / card_name(7)).write_text("{}")
    (tmp_path / "rejected" / "card-000009.json").write_text("{}")
    (tmp_path / "card-0003.json").write_text("{}")  # the old four-digit name is no card of the tray
    tray = Tray(tmp_path)
    path = tray.new_card(ADM)
    assert path.name == "card-000010.json" and tray.pending() == [path]
    assert Card.load(path).atr  # a whole, loadable card
    assert (path.stat().st_mode & 0o777) == 0o600  # it holds the ADM key


def test_new_card_skips_a_name_taken_meanwhile_and_never_overwrites(tmp_path: Path) -> None:
    tray = Tray(tmp_path)
    taken = tmp_path / card_name(1)
    taken.write_text("not mine")
    path = tray.new_card(ADM, iccid=lambda n: f"89310800000000000{n:02d}")
    assert path.name == card_name(2) and taken.read_text() == "not mine"
    assert tray.printed_iccids() == {"8931080000000000002"}


def test_set_aside_never_replaces_a_file_in_the_bin(tmp_path: Path) -> None:
    tray = Tray(tmp_path)
    a = tray.new_card(ADM)
    (tmp_path / "rejected").mkdir()
    (tmp_path / "rejected" / a.name).write_text("an earlier one")
    dest = tray.set_aside(a, "rejected")
    assert dest == tmp_path / "rejected" / f"{a.name}.1" and not a.exists()
    assert (tmp_path / "rejected" / a.name).read_text() == "an earlier one"
    assert tray.set_aside(a, "rejected") is None  # gone meanwhile: nothing to move
    assert tray.new_card(ADM).name == card_name(2)  # numbered past the card in the bin


def test_one_holder_at_a_time(tmp_path: Path) -> None:
    first = Tray(tmp_path)
    first.lock()
    with pytest.raises(TrayBusyError):
        Tray(tmp_path).lock()
    first.close()
    second = Tray(tmp_path)
    second.lock()
    second.close()


def test_serve_feed_and_emu_feed_share_the_naming(tmp_path: Path) -> None:
    Feed.write_template(tmp_path, ADM, iccid="8931080000000000019")
    feed = Feed.open(tmp_path)
    card, path = feed.new_card()
    assert path.name == "card-000001.json" and feed.cards() == [path]
    assert json.loads(path.read_text())["format"]
    tray = EmuFeedTray(f"emu-feed:{tmp_path}")
    try:
        fed = tray.fresh(ADM, None)
        assert fed.path is not None and fed.path.name == "card-000002.json" and fed.fresh
        assert tray.pending() == [path, fed.path]
        assert tray.printed_iccids() == {"8931080000000000019"}
        tray.finish(fed.path, "verified")
        assert (tmp_path / "done" / "card-000002.json").exists()
        fed.reader.close()
    finally:
        tray.close()

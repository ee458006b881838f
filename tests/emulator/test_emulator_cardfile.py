"""Card files are born whole and read bounded (issue 12, items 3 and 10).

A blank card file is written to a temp file and linked to its name, so a crash (a power cut, a kill -9)
between the write and the link leaves no `card-NNNNNN.json` at all; loading refuses special and oversized
files before reading them, and every kind of damage is one CardFileError naming the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simtool.batch.feed import EmuFeed
from simtool.emulator import CardFileError, create_card_file, load_card, new_blank_card
from simtool.emulator.faults import FaultPlan, PowerCut
from simtool.emulator.state import MAX_FILE_BYTES, CardFile

ROOT = Path(__file__).resolve().parents[2]
ADM = bytes.fromhex("3131313131313131")


def _temps(d: Path) -> list[Path]:
    return sorted(d.glob(".card-*.tmp"))


def test_a_power_cut_between_write_and_link_leaves_no_card_file(tmp_path: Path) -> None:
    path = tmp_path / "card-000001.json"
    cf = CardFile(path)
    cf.faults = FaultPlan(in_save=1, stage="written")  # the temp file is fsynced, the link not made
    with pytest.raises(PowerCut):
        cf.create(new_blank_card(adm=ADM, iccid="8931080000000000019"))
    assert cf.faults.fired and not os.path.lexists(path)
    create_card_file(path, ADM)  # the name is still free
    assert load_card(path).state.adm1 == ADM and _temps(tmp_path) == []


def test_a_process_killed_between_write_and_link_leaves_no_card_file(tmp_path: Path) -> None:
    path = tmp_path / "card-000001.json"
    code = (
        "import os, signal, sys\n"
        "from simtool.emulator import create_card_file\n"
        "os.link = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"  # the kill lands right before the link
        f"create_card_file(sys.argv[1], bytes.fromhex('{ADM.hex()}'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == -9, proc.stderr
    assert not os.path.lexists(path)
    [temp] = _temps(tmp_path)
    assert temp.stat().st_mode & 0o777 == 0o600  # it holds the vendor ADM key
    assert CardFile(temp).load().adm1 == ADM  # the whole card was written, only the name is missing
    # A tray opened on this directory sees no card and clears the temp file.
    feed = EmuFeed(f"emu-feed:{tmp_path}")
    try:
        assert feed.pending() == [] and _temps(tmp_path) == []
    finally:
        feed.close()


def test_create_never_replaces_a_file_that_appears_meanwhile(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "card-000001.json"
    real_link = os.link

    def racing_link(src, dst, *a, **k):  # type: ignore[no-untyped-def]
        Path(dst).write_text("someone else's card")
        return real_link(src, dst, *a, **k)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(CardFileError, match="file exists; refusing to overwrite it"):
        create_card_file(path, ADM)
    assert path.read_text() == "someone else's card"
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("what", ["device", "fifo", "directory", "oversized"])
def test_special_and_oversized_files_are_refused_unread(tmp_path: Path, what: str) -> None:
    if what == "device":
        path = Path("/dev/zero")
    elif what == "fifo":
        path = tmp_path / "card.json"
        os.mkfifo(path)  # opening it to read would block without O_NONBLOCK
    elif what == "directory":
        path = tmp_path
    else:
        path = tmp_path / "card.json"
        with open(path, "wb") as f:
            f.truncate(MAX_FILE_BYTES + 1)  # sparse: huge, but nothing to write
    t0 = time.monotonic()
    with pytest.raises(CardFileError) as exc:
        load_card(path)
    assert time.monotonic() - t0 < 10  # a FIFO opened without O_NONBLOCK would block for ever
    assert str(exc.value).startswith(f"{path}: ")
    want = "larger than a card file may be" if what == "oversized" else "not a regular file"
    assert want in str(exc.value)


def test_a_card_file_at_the_size_limit_is_still_parsed(tmp_path: Path) -> None:
    """The limit refuses files above it only: a file of exactly MAX_FILE_BYTES is read (and its JSON judged)."""
    path = tmp_path / "card.json"
    path.write_bytes(b" " * (MAX_FILE_BYTES - 2) + b"{}")
    with pytest.raises(CardFileError, match="'format' is not"):
        load_card(path)


def test_read_of_dev_zero_exits_2_naming_the_path() -> None:
    proc = subprocess.run([sys.executable, "-m", "simtool", "read", "--reader", "emu:/dev/zero"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr == "error: /dev/zero: not a regular file; a card file is a JSON file\n"
    assert proc.stdout == ""

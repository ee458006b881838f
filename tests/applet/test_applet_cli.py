"""Issue 7's acceptance commands through the CLI, in process: keys new-ota, flash --ota-keys, phone,
ota build / send (PoR OK, then a replay refused with nothing changed), conformance."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from simtool.cli.main import main
from tests.applet.applet_helpers import ROOT

ICCID = "8931080000000000019"
FLASH = ["--iccid", ICCID, "--imsi", "204080000000001", "--ki", "000102030405060708090a0b0c0d0e0f",
         "--opc", "0f0e0d0c0b0a09080706050403020100", "--adm-hex", "3131313131313131"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    keys, card = tmp_path / "ota.keys", tmp_path / "c.json"
    code, out, _ = run(capsys, "keys", "new-ota", str(keys))
    assert code == 0 and "KIc KCV" in out
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o600
    doc = json.loads(keys.read_text())
    assert doc["kic"] not in out and doc["kid"] not in out  # keys are named by their KCV only
    assert run(capsys, "emulator", "new", str(card), "--adm-hex", "3131313131313131")[0] == 0
    code, out, err = run(capsys, "flash", "--profile", str(ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"),
                         "--reader", f"emu:{card}", *FLASH, "--ota-keys", str(keys), "--json")
    assert code == 0, err
    assert doc["kic"] not in out + err
    return card, keys


def test_acceptance(card: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, keys = card
    reader = f"emu:{path}"
    code, out, err = run(capsys, "phone", "--reader", reader, "--language", "en", "--date", "2026-12-01T09:00+01:00",
                         "--register", "262-01", "--select", "My plan", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["menu"]["items"][0]["text"] == "My plan"
    assert doc["screens"][-1]["text"] == ("1 GB / 15 days Europe\nData left: 1 GB of 1 GB\n"
                                          "Valid until 2026-12-16 09:00 (UTC+01:00)")

    code, out, err = run(capsys, "ota", "build", "--iccid", ICCID, "--ota-keys", str(keys), "--counter", "1",
                         "set-balance", "--remaining", "734MB")
    assert code == 0, err
    packet = tmp_path / "p"
    packet.write_text(out)
    assert bytes.fromhex(out.strip())[0] == 0x40  # an SMS-DELIVER with a user data header

    code, out, err = run(capsys, "ota", "send", "--reader", reader, str(packet))
    assert code == 0, err
    assert "status 00 PoR OK" in out and "734 MB left of 1 GB" in out
    code, out, _ = run(capsys, "phone", "--reader", reader, "--date", "2026-12-02T09:00+01:00", "--select",
                       "My plan", "--json")
    assert "Data left: 734 MB of 1 GB" in json.loads(out)["screens"][-1]["text"]

    before = path.read_bytes()
    code, out, _ = run(capsys, "ota", "send", "--reader", reader, str(packet), "--json")
    assert code == 1
    assert json.loads(out)["por"]["status_name"] == "counter low"
    assert path.read_bytes() == before

    code, out, err = run(capsys, "conformance", "--reader", reader, *map(str, sorted(
        (ROOT / "applet_spec" / "conformance").glob("*"))))
    assert code == 0, out + err
    assert "0 failed" in out and "1 skipped" in out
    code, out, _ = run(capsys, "conformance", "--reader", reader, "--ota-keys", str(keys), "--json",
                       *map(str, sorted((ROOT / "applet_spec" / "conformance").glob("*.apdu"))))
    assert code == 0 and json.loads(out)["passed"] == 4


def test_ota_send_with_keys_verifies_the_cc(card, tmp_path: Path, capsys) -> None:
    path, keys = card
    code, out, _ = run(capsys, "ota", "build", "--iccid", ICCID, "--ota-keys", str(keys), "--counter", "3",
                       "--out", str(tmp_path / "t"), "topup", "--add", "1GB", "--extend", "7d")
    assert code == 0 and out == ""
    code, out, _ = run(capsys, "ota", "send", "--reader", f"emu:{path}", str(tmp_path / "t"), "--ota-keys",
                       str(keys), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["por"]["cc_verified"] is True
    assert doc["applet"]["plan"] == {"remaining_bytes": 2 * 10**9, "total_bytes": 2 * 10**9, "state": "inactive",
                                     "expires": None, "validity_days": 22}


def test_phone_in_chinese(card, capsys) -> None:
    path, _ = card
    code, out, _ = run(capsys, "phone", "--reader", f"emu:{path}", "--language", "zh", "--date",
                       "2026-11-26T10:00+01:00", "--register", "262-01", "--select", "我的套餐")
    assert code == 0
    assert "[menu] 旅行套餐: 1 我的套餐, 2 充值" in out
    assert "剩余流量：1 GB（共 1 GB）" in out and "有效期至 2026-12-11 10:00 (UTC+01:00)" in out


def test_phone_expired_offer_and_choice(card, capsys) -> None:
    path, _ = card
    reader = f"emu:{path}"
    run(capsys, "phone", "--reader", reader, "--date", "2026-11-26T10:00+01:00", "--register", "262-01")
    code, out, _ = run(capsys, "phone", "--reader", reader, "--date", "2027-01-01T10:00+01:00", "--select", "1",
                       "--choose", "Top up", "--json")
    screens = json.loads(out)["screens"]
    assert [s["command"] for s in screens[-2:]] == ["SELECT ITEM", "LAUNCH BROWSER"]
    assert screens[-2]["alpha"] == "Your plan expired on 2026-12-11 10:00 (UTC+01:00)."


@pytest.mark.parametrize(("argv", "message"), [
    (["ota", "build", "--iccid", "8931080000000000018", "--ota-keys", "K", "--counter", "1", "topup", "--add", "1GB"],
     "Luhn"),
    (["ota", "build", "--iccid", ICCID, "--ota-keys", "K", "--counter", "0", "topup", "--add", "1GB"], "counter"),
    (["ota", "build", "--iccid", ICCID, "--ota-keys", "K", "--counter", "1", "topup"], "--add and/or --extend"),
    (["ota", "build", "--iccid", ICCID, "--ota-keys", "K", "--counter", "1", "set-balance", "--remaining", "lots"],
     "data size"),
    (["phone", "--reader", "emu:", "--date", "2026-11-26T10:00"], "time zone"),
    (["phone", "--reader", "emu:", "--register", "26201x"], "MCC-MNC"),
])
def test_bad_input_exits_2(argv, message, card, capsys) -> None:
    _, keys = card
    argv = [str(keys) if a == "K" else a for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err, err


def test_keys_file_is_never_overwritten_and_bound_to_its_card(tmp_path: Path, capsys) -> None:
    keys = tmp_path / "k"
    assert run(capsys, "keys", "new-ota", str(keys), "--iccid", ICCID)[0] == 0
    code, _, err = run(capsys, "keys", "new-ota", str(keys))
    assert code == 2 and "exists" in err
    code, _, err = run(capsys, "ota", "build", "--iccid", "8931080000000000027", "--ota-keys", str(keys),
                       "--counter", "1", "topup", "--extend", "1d")
    assert code == 2 and "8931080000000000019" in err


def test_menu_item_that_is_not_there(card, capsys) -> None:
    path, _ = card
    code, _, err = run(capsys, "phone", "--reader", f"emu:{path}", "--select", "Roaming")
    assert code == 2 and "My plan" in err

"""`flash --card-data FILE.csv --row N | --match-iccid` with pySim's column names; CSV errors name FILE:LINE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simtool.emulator import Card
from tests.personalize.personalize_helpers import (
    ADM_HEX,
    IMSI,
    KEY_PATH,
    PINS_PATH,
    PROFILE_1G,
    key_file_bytes,
    new_card,
    pin_file_bytes,
    run_cli,
)

ROWS = [
    # iccid, imsi, ki, opc, pin1, puk1, pin2, puk2
    ("8931080000000000019", "204080000000001", "000102030405060708090a0b0c0d0e0f",
     "0f0e0d0c0b0a09080706050403020100", "1357", "24681357", "9753", "86427531"),
    ("8931080000000000027", "204080000000002", "00112233445566778899aabbccddeeff",
     "ffeeddccbbaa99887766554433221100", "2468", "13572468", "8642", "97531864"),
    ("8931080000000000035", "204080000000003", "0123456789abcdef0123456789abcdef",
     "fedcba9876543210fedcba9876543210", "3690", "36903690", "0963", "09630963"),
]


def write_csv(path: Path, adm_col: str = "pin_adm_hex", adm: str = ADM_HEX, rows=ROWS, extra: str = "") -> Path:
    lines = [f"iccid,imsi,ki,opc,{adm_col},pin1,puk1,pin2,puk2"]
    lines += [",".join([r[0], r[1], r[2], r[3], adm, *r[4:]]) for r in rows]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def flash_csv(card: Path, csv: Path, *more: str) -> list[str]:
    return ["flash", "--profile", str(PROFILE_1G), "--reader", f"emu:{card}", "--card-data", str(csv), *more]


def assert_card_holds(card: Path, row: tuple) -> None:
    c = Card.load(card)
    iccid, imsi, ki, opc, pin1, puk1, pin2, puk2 = row
    assert imsi_on(card) == imsi and iccid_on(card) == iccid
    assert c.file_bytes(KEY_PATH) == key_file_bytes(ki, opc, 80)
    assert c.file_bytes(PINS_PATH) == pin_file_bytes(pin1, puk1, pin2, puk2, pin1_enabled=False)


def imsi_on(card: Path) -> str:
    from simtool.encoding import efs

    return efs.IMSI.decode(Card.load(card).file_bytes("MF/ADF.USIM/EF.IMSI"))


def iccid_on(card: Path) -> str | None:
    from simtool.encoding import efs

    return efs.ICCID.decode(Card.load(card).file_bytes("MF/EF.ICCID")) or None


@pytest.mark.parametrize("adm_col, adm", [("pin_adm_hex", ADM_HEX), ("pin_adm", "11111111"), ("adm1", "11111111")])
def test_row_n(tmp_path: Path, capsys: pytest.CaptureFixture[str], adm_col: str, adm: str) -> None:
    card = new_card(tmp_path / "c.json")
    csv = write_csv(tmp_path / "cards.csv", adm_col, adm)
    code, out, err = run_cli(flash_csv(card, csv, "--row", "2", "--json"), capsys)
    assert code == 0, err
    assert json.loads(out)["imsi"] == ROWS[1][1]
    assert imsi_on(card) == ROWS[1][1] and iccid_on(card) == ROWS[1][0]
    assert_card_holds(card, ROWS[1])


def test_match_iccid_takes_the_vendor_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = new_card(tmp_path / "c.json", iccid=ROWS[2][0])
    csv = write_csv(tmp_path / "cards.csv")
    code, out, err = run_cli(flash_csv(card, csv, "--match-iccid"), capsys)
    assert code == 0, err
    assert imsi_on(card) == ROWS[2][1]
    assert_card_holds(card, ROWS[2])


def test_match_iccid_without_a_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = new_card(tmp_path / "c.json", iccid="8931080000000000043")
    before = card.read_bytes()
    csv = write_csv(tmp_path / "cards.csv")
    code, _, err = run_cli(flash_csv(card, csv, "--match-iccid"), capsys)
    assert code == 2 and "8931080000000000043" in err and str(csv) in err
    assert card.read_bytes() == before
    blank = new_card(tmp_path / "b.json")
    code, _, err = run_cli(flash_csv(blank, csv, "--match-iccid"), capsys)
    assert code == 2 and "no pre-set ICCID" in err


def test_adm_flag_overrides_the_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = new_card(tmp_path / "c.json")
    csv = write_csv(tmp_path / "cards.csv", adm="3232323232323232")  # the vendor file is wrong
    code, _, err = run_cli(flash_csv(card, csv, "--row", "1", "--adm-hex", ADM_HEX), capsys)
    assert code == 0, err
    assert imsi_on(card) == IMSI


def _csv_error(tmp_path: Path, capsys, text: str, *more: str) -> tuple[str, Path]:
    card = new_card(tmp_path / "c.json")
    before = card.read_bytes()
    csv = tmp_path / "cards.csv"
    csv.write_text(text)
    code, out, err = run_cli(flash_csv(card, csv, *(more or ("--row", "1"))), capsys)
    assert code == 2
    assert card.read_bytes() == before  # nothing written, not even a retry counter
    assert "Traceback" not in err
    return err, csv


HEADER = "iccid,imsi,ki,opc,pin_adm_hex,pin1,puk1,pin2,puk2\n"
GOOD = "8931080000000000019,204080000000001,000102030405060708090a0b0c0d0e0f,0f0e0d0c0b0a09080706050403020100," \
       f"{ADM_HEX},1357,24681357,9753,86427531\n"


def test_csv_bad_values_name_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = GOOD.replace("8931080000000000019", "8931080000000000018").replace("0f0e0d0c", "0f0e")
    err, csv = _csv_error(tmp_path, capsys, HEADER + GOOD + bad, "--row", "2")
    lines = err.splitlines()
    assert lines == [line for line in lines if line.startswith(f"{csv}:3: ")]
    assert {line.split(": ")[1] for line in lines} == {"iccid", "opc"}
    assert "0f0e0d0c0b0a09080706050403020100"[4:] not in err


def test_csv_imsi_outside_the_profile_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err, csv = _csv_error(tmp_path, capsys, HEADER + GOOD.replace("204080000000001", "262010000000001"))
    assert err.startswith(f"{csv}:2: imsi: 262010000000001 does not start with")


def test_csv_unknown_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err, csv = _csv_error(tmp_path, capsys, HEADER.replace("puk2", "pukk2") + GOOD)
    assert err.startswith(f"{csv}:1: pukk2: unknown column")


def test_csv_field_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err, csv = _csv_error(tmp_path, capsys, HEADER + GOOD.rstrip("\n") + ",extra\n")
    assert err.startswith(f"{csv}:2: ")


def test_csv_missing_ki_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = HEADER.replace("ki,", "")
    row = GOOD.replace("000102030405060708090a0b0c0d0e0f,", "")
    err, csv = _csv_error(tmp_path, capsys, header + row)
    assert err.splitlines() == [f"{csv}:2: ki: missing (no ki column, or the field is empty)"]


def test_csv_missing_adm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err, csv = _csv_error(tmp_path, capsys, HEADER + GOOD.replace(ADM_HEX, ""))
    assert err.startswith(f"{csv}:2: adm1: required")


def test_csv_row_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err, csv = _csv_error(tmp_path, capsys, HEADER + GOOD, "--row", "2")
    assert str(csv) in err and "1 data rows" in err


def test_csv_row_and_match_iccid_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err, _ = _csv_error(tmp_path, capsys, HEADER + GOOD, "--row", "1", "--match-iccid")
    assert "--row N or --match-iccid" in err


def test_csv_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err, csv = _csv_error(tmp_path, capsys, "")
    assert err.startswith(f"{csv}:1: ")


@pytest.mark.parametrize("more, msg", [
    (["--row", "1", "--imsi", IMSI], "--imsi would be ignored"),
    (["--row", "1", "--ki", "00" * 16], "--ki would be ignored"),
])
def test_csv_and_identity_flags_conflict(tmp_path: Path, capsys: pytest.CaptureFixture[str], more: list[str],
                                         msg: str) -> None:
    err, _ = _csv_error(tmp_path, capsys, HEADER + GOOD, *more)
    assert msg in err and "00" * 16 not in err


def test_row_without_card_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = new_card(tmp_path / "c.json")
    code, _, err = run_cli(["flash", "--profile", str(PROFILE_1G), "--reader", f"emu:{card}", "--row", "1"], capsys)
    assert code == 2 and "--card-data" in err

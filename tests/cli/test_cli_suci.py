"""`simtool suci keygen|conceal|deconceal`: the issue's acceptance run, both profiles, the null scheme, the key file
(0600, refused over an existing file, never printed), and bad input (exit 2, a clear message, no traceback)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from simtool.cli.main import main
from simtool.crypto import suci as ecies

IMSI = "204080000000001"
DATA = Path(__file__).resolve().parents[1] / "data" / "suci"


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize("scheme", ["A", "B"])
def test_keygen_conceal_deconceal_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str], scheme: str) -> None:
    key = tmp_path / "hn.key"
    code, out, err = run(capsys, "suci", "keygen", "--scheme", scheme, "--key-id", "1", "--out", key, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    stored = json.loads(key.read_text())
    assert stored["key_id"] == 1 and stored["scheme"] == scheme
    assert stored["private_key"] not in out  # the private key is never printed
    pub = bytes.fromhex(doc["public_key"])
    assert pub == ecies.public_key(scheme, bytes.fromhex(stored["private_key"]))
    assert len(pub) == {"A": 32, "B": 33}[scheme]

    code, out, err = run(capsys, "suci", "conceal", "--imsi", IMSI, "--scheme", scheme, "--key-id", "1",
                         "--key-pub", doc["public_key"], "--json")
    assert code == 0, err
    suci = json.loads(out)["suci"]
    sid = {"A": 1, "B": 2}[scheme]
    assert suci.startswith(f"suci-0-204-08-0-{sid}-1-")
    output = bytes.fromhex(suci.rsplit("-", 1)[1])
    assert len(output) == {"A": 32, "B": 33}[scheme] + 5 + 8  # eph key, MSIN 0000000001 as 5 BCD bytes, MAC
    code, out, err = run(capsys, "suci", "deconceal", "--key", key, suci, "--json")
    assert code == 0, err
    assert json.loads(out)["imsi"] == IMSI and json.loads(out)["supi"] == f"imsi-{IMSI}"
    code, out, _ = run(capsys, "suci", "deconceal", "--key", key, suci)
    assert (code, out) == (0, IMSI + "\n")


def test_fresh_ephemeral_keys_give_different_sucis(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("suci", "conceal", "--imsi", IMSI, "--scheme", "A", "--key-pub",
            "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650")
    assert run(capsys, *args)[1] != run(capsys, *args)[1]


def test_the_test_key_deconceals_a_suci_made_with_the_published_ephemeral_key(
        capsys: pytest.CaptureFixture[str]) -> None:
    """TS 33.501 C.4.3's ephemeral key, fixed through the vector-only argument, under the 204/08 IMSI."""
    eph = bytes.fromhex("c80949f13ebe61af4ebdbd293ea4f942696b9e815d7e8f0096bbf6ed7de62256")
    hn_pub = bytes.fromhex("5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650")
    out = ecies.conceal(ecies.msin_encode("0000000001"), "A", hn_pub, ephemeral=eph)
    assert out[:32].hex() == "b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d"
    code, text, err = run(capsys, "suci", "deconceal", "--key", DATA / "hn-profile-a-id1.key",
                          f"suci-0-204-08-0-1-1-{out.hex()}", "--json")
    assert code == 0, err
    assert json.loads(text)["imsi"] == IMSI


def test_null_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "suci", "conceal", "--imsi", IMSI, "--scheme", "null", "--routing-indicator", "71",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["suci"] == "suci-0-204-08-71-0-0-0000000001"
    code, out, err = run(capsys, "suci", "deconceal", "--key", DATA / "hn-profile-a-id1.key",
                         "suci-0-204-08-71-0-0-0000000001", "--json")
    assert code == 0, err
    assert json.loads(out)["imsi"] == IMSI


def test_keygen_refuses_an_existing_file_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "hn.key"
    key.write_text("precious")
    code, _, err = run(capsys, "suci", "keygen", "--scheme", "A", "--out", key)
    assert code == 2 and "file exists" in err and key.read_text() == "precious"
    code, out, err = run(capsys, "suci", "keygen", "--scheme", "B", "--key-id", "7", "--out", key, "--force",
                         "--json")
    assert code == 0, err
    assert json.loads(key.read_text())["key_id"] == 7 and stat.S_IMODE(key.stat().st_mode) == 0o600


A_SUCI = ("suci-0-204-08-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d"
          "0000000000cddd9e730ef3fa87")


@pytest.mark.parametrize(("argv", "message"), [
    (("conceal", "--imsi", IMSI, "--scheme", "A", "--key-pub", "00ff"), "a profile A public key is 32 bytes, got 2"),
    (("conceal", "--imsi", IMSI, "--scheme", "B", "--key-pub", "04" + "ab" * 64), "not a point on P-256"),
    (("conceal", "--imsi", IMSI, "--scheme", "A", "--key-pub", "zz"), "--key-pub: not hex"),
    (("conceal", "--imsi", IMSI, "--scheme", "A"), "--key-pub is required"),
    (("conceal", "--imsi", "20408x", "--scheme", "null"), "--imsi: 6 to 15 digits"),
    (("conceal", "--imsi", IMSI, "--scheme", "null", "--routing-indicator", "12345"), "routing indicator: 1 to 4"),
    (("conceal", "--imsi", IMSI, "--scheme", "C", "--key-pub", "00"), "invalid choice: 'C'"),
    (("deconceal", "--key", DATA / "hn-profile-a-id1.key", "nai-204-08"), "expected suci-0-MCC-MNC-RI"),
    (("deconceal", "--key", DATA / "hn-profile-a-id1.key", "suci-0-204-08-0-3-1-00"), "protection scheme 3"),
    (("deconceal", "--key", DATA / "hn-profile-a-id1.key", "suci-0-204-08-0-2-2-" + "00" * 46),
     "concealed with profile B, the key file is a profile A key"),
    (("deconceal", "--key", DATA / "hn-profile-a-id1.key", A_SUCI.replace("-1-1-", "-1-9-")), "key id 9"),
    (("deconceal", "--key", DATA / "hn-profile-a-id1.key", A_SUCI), "the MAC tag does not match"),
    (("deconceal", "--key", DATA / "README.md", A_SUCI), "not a SUCI key file"),
])
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: tuple[object, ...], message: str) -> None:
    code, out, err = run(capsys, "suci", *argv)
    assert code == 2 and message in err, err
    assert "c53c2220" not in out + err  # never a byte of the private key

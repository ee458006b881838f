"""`simtool esim build|inspect|unseal|activation-code` as a user runs them: exit codes, 0600, no secrets out."""

from __future__ import annotations

import json
import stat

import pytest

from simtool.esim.saip import split
from simtool.esim.sealed import seal_package
from tests.personalize.personalize_helpers import ROOT, run_cli

PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
KI, OPC = "000102030405060708090a0b0c0d0e0f", "0f0e0d0c0b0a09080706050403020100"
SECRETS = [KI, KI.upper(), OPC, OPC.upper(), "31323334", "3837363534333231", "87654321"]
BUILD = ["esim", "build", "--profile", PROFILE, "--iccid", "8931080000000000019", "--imsi", "204080000000001",
         "--ki", KI, "--opc", OPC, "--pin2", "1234", "--puk2", "87654321"]


@pytest.fixture
def der(tmp_path, capsys):
    out = tmp_path / "p.der"
    code, stdout, stderr = run_cli([*BUILD, "--out", out, "--json"], capsys)
    assert code == 0, stderr
    assert json.loads(stdout)["iccid"] == "8931080000000000019"
    assert not any(s in stdout + stderr for s in SECRETS)
    return out


def test_build_writes_0600_and_refuses_an_existing_file(der, capsys):
    assert stat.S_IMODE(der.stat().st_mode) == 0o600
    before = der.read_bytes()
    code, _, err = run_cli([*BUILD, "--out", der], capsys)
    assert code == 2 and "exists" in err and der.read_bytes() == before
    assert run_cli([*BUILD, "--out", der, "--force"], capsys)[0] == 0


def test_inspect_json_masks_keys_unless_asked(der, capsys):
    code, out, _ = run_cli(["esim", "inspect", der, "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["imsi"] == "204080000000001"
    assert doc["files"]["MF/ADF.USIM/EF.SPN"]["value"]["name"] == "KPN WeChat"
    assert not any(s in out for s in SECRETS)
    code, out, _ = run_cli(["esim", "inspect", der, "--json", "--show-secrets"], capsys)
    assert KI.upper() in out


@pytest.mark.parametrize("damage", ["truncated", "wrong_tag", "wrong_length", "no_end"])
def test_damaged_packages_exit_2_naming_element_and_offset(der, tmp_path, capsys, damage):
    data = bytearray(der.read_bytes())
    els = split(bytes(data))
    if damage == "truncated":
        data = data[: els[6].offset + 5]
    elif damage == "wrong_tag":
        data[els[6].offset] = 0x31
    elif damage == "wrong_length":
        data[els[2].offset + 1] += 3
    else:
        data = data[: els[-1].offset]
    bad = tmp_path / "bad.der"
    bad.write_bytes(bytes(data))
    code, _, err = run_cli(["esim", "inspect", bad], capsys)
    assert code == 2
    assert "at offset" in err and "element" in err


def test_unseal_gives_back_the_der_and_a_wrong_key_fails(der, tmp_path, capsys):
    key = bytes(range(32))
    keyfile = tmp_path / "tk"
    keyfile.write_bytes(key.hex().encode())
    keyfile.chmod(0o600)
    sealed = tmp_path / "8931080000000000019.upp"
    sealed.write_bytes(seal_package(key, "8931080000000000019", der.read_bytes()))
    out = tmp_path / "one.der"
    code, _, err = run_cli(["esim", "unseal", sealed, "--transport-key", keyfile, "--out", out], capsys)
    assert code == 0, err
    assert out.read_bytes() == der.read_bytes() and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert run_cli(["esim", "inspect", sealed, "--transport-key", keyfile], capsys)[0] == 0
    assert run_cli(["esim", "inspect", sealed], capsys)[0] == 2  # sealed: needs the key
    other = tmp_path / "tk2"
    other.write_bytes(bytes(32).hex().encode())
    other.chmod(0o600)
    code, _, err = run_cli(["esim", "inspect", sealed, "--transport-key", other], capsys)
    assert code != 0 and "cannot open sealed data" in err


def test_activation_code_and_qr(tmp_path, capsys):
    qr = tmp_path / "qr.png"
    code, out, _ = run_cli(["esim", "activation-code", "--smdp", "smdp.example.com", "--matching-id", "ABC123",
                            "--qr", qr], capsys)
    assert (code, out) == (0, "LPA:1$smdp.example.com$ABC123\n")
    assert qr.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run_cli(["esim", "activation-code", "--smdp", "a$b", "--matching-id", "X"], capsys)[0] == 2
    assert run_cli(["esim", "activation-code", "--smdp", "h.example", "--matching-id", "A$B"], capsys)[0] == 2

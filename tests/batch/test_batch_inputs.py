"""Bad input to `batch create` / `batch run`: exit 2, one line per problem naming the flag or FILE:LINE, no secret
echoed, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.batch.batch_helpers import ADM_HEX, ICCID0, IMSI0, PROFILE

BASE = {"--count": "5", "--iccid-start": ICCID0, "--imsi-start": IMSI0, "--adm-hex": ADM_HEX}


@pytest.mark.parametrize("change, expect", [
    ({"--iccid-start": "8931080000000000011"}, "error: --iccid-start: check digit 1 of 8931080000000000011 is wrong"),
    ({"--imsi-start": "262010000000001"}, "error: --imsi-start: 262010000000001 is not in the profile's PLMN 204/08"),
    ({"--imsi-start": "20408x"}, "error: --imsi-start: must be 6 to 15 digits"),
    ({"--adm-hex": "313131"}, "error: --adm-hex: must be 16 hex digits (8 bytes), got 6 characters"),
    ({"--adm-hex": None}, "error: ADM1: give --adm-hex HEX, --adm-file FILE or --input vendor.csv"),
    ({"--count": None}, "error: --count: required"),
    ({"--op": "0011"}, "error: --op: must be 32 hex digits (16 bytes), got 4 characters"),
    ({"--ledger": "mysql://x"}, "error: --ledger mysql://x: unknown ledger type 'mysql'"),
])
def test_bad_create_inputs(tmp_path, sim, key_file, change, expect):
    args = {**BASE, "--transport-key": str(key_file), **change}
    argv = [x for k, v in args.items() if v is not None for x in (k, v)]
    d = tmp_path / "b"
    r = sim("batch", "create", d, "--profile", PROFILE, *argv)
    assert r.code == 2
    assert any(line.startswith(expect) for line in r.err.splitlines()), r.err
    if "--adm-hex" in change or "--op" in change:  # a wrong secret is described, never echoed
        assert "313131" not in r.err and "0011" not in r.err
    assert not d.exists()


def test_transport_key_of_the_wrong_length(tmp_path, sim):
    short = tmp_path / "short.key"
    short.write_text("00" * 16 + "\n")
    r = sim("batch", "create", tmp_path / "b", "--profile", PROFILE, *[x for kv in BASE.items() for x in kv],
            "--transport-key", short)
    assert r.code == 2
    assert f"{short}: holds 32 hex digits; a transport key is 64 hex digits (32 bytes)" in r.err
    assert not (tmp_path / "b").exists()
    r = sim("batch", "create", tmp_path / "b", "--profile", PROFILE, *[x for kv in BASE.items() for x in kv],
            "--transport-key", tmp_path / "missing.key")
    assert r.code == 2 and "no such key file" in r.err


def test_every_problem_at_once(tmp_path, sim, key_file):
    adm = tmp_path / "adm"
    adm.write_text("not hex at all\n")
    r = sim("batch", "create", tmp_path / "b", "--profile", PROFILE, "--count", 5, "--iccid-start", "1234",
            "--imsi-start", "999990000000001", "--adm-file", adm, "--transport-key", key_file)
    assert r.code == 2
    lines = r.err.splitlines()
    assert any(x.startswith("error: --iccid-start: must be 19 or 20 digits") for x in lines)
    assert any(x.startswith("error: --imsi-start: 999990000000001 is not in the profile's PLMN") for x in lines)
    assert any(x.startswith(f"error: --adm-file {adm}: expected 16 hex digits") for x in lines)
    assert "not hex at all" not in r.err


def test_bad_profile_is_reported_with_file_line(tmp_path, sim, key_file):
    bad = tmp_path / "p.yaml"
    bad.write_text(Path(PROFILE).read_text().replace('home_plmn: {mcc: "204"', 'home_plmn: {mcc: "20"'))
    r = sim("batch", "create", tmp_path / "b", "--profile", bad, *[x for kv in BASE.items() for x in kv],
            "--transport-key", key_file)
    assert r.code == 2 and f"{bad}:" in r.err
    assert not (tmp_path / "b").exists()


def test_run_inputs(tmp_path, sim, make_batch, key_file):
    d = make_batch(2)
    assert sim("batch", "run", tmp_path / "nope", "--reader", "emu-feed:").code == 2
    r = sim("batch", "run", d, "--reader", "floppy:0")
    assert r.code == 2 and "expected emu-feed:DIR" in r.err
    r = sim("batch", "run", d, "--reader", f"emu-feed:{tmp_path}/f", "--reader", f"emu-feed:{tmp_path}/f")
    assert r.code == 2
    other = tmp_path / "other.key"
    sim("keys", "new", other)
    r = sim("batch", "run", d, "--reader", "emu-feed:", "--transport-key", other)
    assert r.code == 2 and "is not the batch's KCV" in r.err
    assert sim("batch", "status", d, "--json").json()["counts"]["free"] == 2
    r = sim("batch", "create", d, "--profile", PROFILE, *[x for kv in BASE.items() for x in kv],
            "--transport-key", key_file, "--imsi-start", "204080000000500", "--iccid-start", "8931080000000005007")
    assert r.code == 2 and "already holds batch" in r.err

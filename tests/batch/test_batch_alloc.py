"""Identity allocation: consecutive ICCIDs with their Luhn digit, IMSIs inside the PLMN, MSISDNs; overflow and
overlap refused with exit 2 before anything is written."""

from __future__ import annotations

import pytest

from simtool.batch.alloc import allocate, parse_iccid_start
from simtool.batch.ledger import open_ledger
from simtool.profile.luhn import luhn_ok
from tests.batch.batch_helpers import ADM_HEX, ICCID0, IMSI0, PROFILE

PLMN = ("204", "08")


def test_consecutive_iccids_carry_their_luhn_digit():
    alloc, problems = allocate(count=25, imsi_start=IMSI0, iccid_start=ICCID0, plmn=PLMN)
    assert problems == []
    iccids = [alloc.iccid(i) for i in range(25)]
    assert iccids[0] == ICCID0
    assert all(luhn_ok(i) for i in iccids)
    assert [int(i[:-1]) for i in iccids] == list(range(int(ICCID0[:-1]), int(ICCID0[:-1]) + 25))
    assert iccids[1] == "8931080000000000027"  # payload ...02, Luhn digit 7
    assert [alloc.imsi(i) for i in (0, 24)] == ["204080000000001", "204080000000025"]
    assert alloc.msisdn(0) is None


def test_18_digit_start_gets_its_check_digit_and_append_luhn_takes_19():
    assert parse_iccid_start("893108000000000001") == ("893108000000000001", [])
    assert parse_iccid_start("8931080000000000012", append_luhn=True) == ("8931080000000000012", [])
    alloc, _ = allocate(count=2, imsi_start=IMSI0, iccid_start="8931080000000000012", append_luhn=True, plmn=PLMN)
    assert len(alloc.iccid(0)) == 20 and luhn_ok(alloc.iccid(0))


def test_bad_luhn_start_is_refused_with_the_right_digit():
    _, problems = allocate(count=2, imsi_start=IMSI0, iccid_start="8931080000000000018", plmn=PLMN)
    assert problems == ["--iccid-start: check digit 8 of 8931080000000000018 is wrong: the Luhn digit of "
                        "893108000000000001 is 9 (or give --append-luhn if 8931080000000000018 is the payload)"]


@pytest.mark.parametrize("kw, expect", [
    ({"iccid_start": "8931089999999999985"}, "--iccid-start: 3 ICCIDs from here run out of the issuer's block "
                                             "8931089 (the last would start 8931090"),
    ({"iccid_start": "9999999999999999980", "imsi_start": IMSI0},
     "--iccid-start: 3 ICCIDs from here overflow the 18-digit range"),
    ({"imsi_start": "204089999999999"}, "--imsi-start: 3 IMSIs from here overflow the 10-digit range"),
    ({"msisdn_start": "+31699999999"}, "--msisdn-start: 3 MSISDNs from here run out of the block +316"),
    ({"msisdn_start": "+99999999"}, "--msisdn-start: 3 MSISDNs from here overflow the 8-digit range"),
    ({"imsi_start": "262010000000001"}, "--imsi-start: 262010000000001 is not in the profile's PLMN 204/08"),
    ({"msisdn_start": "0612345678"}, "--msisdn-start: must be an E.164 number"),
    ({"count": 0}, "--count: must be at least 1"),
])
def test_ranges_that_overflow_or_leave_the_plmn_are_refused(kw, expect):
    args = {"count": 3, "imsi_start": IMSI0, "iccid_start": ICCID0, "plmn": PLMN, **kw}
    alloc, problems = allocate(**args)
    assert alloc is None
    assert any(p.startswith(expect) for p in problems), problems


def test_msisdns_are_consecutive(tmp_path, sim, key_file):
    d = tmp_path / "b"
    r = sim("batch", "create", d, "--profile", PROFILE, "--count", 3, "--adm-hex", ADM_HEX, "--iccid-start",
            ICCID0, "--imsi-start", IMSI0, "--msisdn-start", "+31612000009", "--transport-key", key_file, "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert (doc["msisdn_first"], doc["msisdn_last"]) == ("+31612000009", "+31612000011")
    with open_ledger(doc["ledger"]) as ledger:
        assert [x.msisdn for x in ledger.rows(doc["batch"])] == ["+31612000009", "+31612000010", "+31612000011"]


def test_overlap_with_a_batch_in_the_same_ledger_is_refused_and_nothing_written(tmp_path, sim, key_file):
    url = f"sqlite://{tmp_path}/shared.db"
    base = ["--profile", PROFILE, "--count", 10, "--adm-hex", ADM_HEX, "--transport-key", key_file, "--ledger", url]
    assert sim("batch", "create", tmp_path / "a", *base, "--iccid-start", ICCID0, "--imsi-start", IMSI0).code == 0
    # ICCIDs overlap (the 10th of batch a is the first of b)
    r = sim("batch", "create", tmp_path / "b", *base, "--iccid-start", "8931080000000000100",
            "--imsi-start", "204080000000100")
    assert r.code == 2
    assert "--iccid-start: iccid range 8931080000000000100..8931080000000000191 overlaps batch" in r.err
    assert not (tmp_path / "b").exists()
    # IMSIs overlap
    r = sim("batch", "create", tmp_path / "c", *base, "--iccid-start", "8931080000000001009",
            "--imsi-start", "204080000000005")
    assert r.code == 2 and "--imsi-start: imsi range 204080000000005..204080000000014 overlaps batch" in r.err
    # right after batch a: fine
    r = sim("batch", "create", tmp_path / "d", *base, "--iccid-start", "8931080000000001009",
            "--imsi-start", "204080000000011")
    assert r.code == 0, r.err
    with open_ledger(url) as ledger:
        assert len(ledger.batches()) == 2

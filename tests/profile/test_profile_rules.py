"""Character and size rules: SPN coding, APN rules and EF.ACL size, Luhn (the codings: tests/encoding)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.encoding import efs
from simtool.profile.luhn import LUHN_VECTORS, luhn_digit, luhn_ok
from simtool.profile.rules import (
    acl_size,
    apn_problem,
    spn_coding,
    spn_problem,
)


def test_spn_coding():
    assert spn_coding("KPN WeChat") == ("gsm7", 10)
    assert spn_coding("€uro") == ("gsm7", 5)
    assert spn_coding("KPN微信") == ("ucs2", 11)
    assert spn_problem("Sixteen chars ok") is None
    assert spn_problem("KPN微信旅行") is None  # 7 characters in UCS2: 15 bytes
    assert spn_problem("") == "must not be empty"
    assert "control characters" in spn_problem("KPN\nWeChat")
    assert "Basic Multilingual Plane" in spn_problem("KPN \U0001f600")


def test_acl_size_is_what_ef_acl_encodes():
    # specfacts §3.3 ACL example: "internet", "ims.example.com" (the APN coding's vectors: encoding/apn.py)
    apns = ["internet", "ims.example.com"]
    assert acl_size(apns) == 1 + (2 + 9) + (2 + 16)
    assert acl_size(apns) == len(efs.ACL.encode(apns, 64).rstrip(b"\xff"))
    assert acl_size([""]) == len(efs.ACL.encode([""], 8).rstrip(b"\xff")) == 3  # the network-provided APN


@pytest.mark.parametrize(
    "apn, problem",
    [
        ("internet", None),
        ("ims", None),
        ("KPN4G.nl", None),
        ("a" * 63, None),
        ("a" * 64, "label 'aaaaaaaaaaaaaaaaa...' is 64 characters, at most 63"),
        (".".join(["a" * 49, "b" * 49]), None),  # 50 + 50 = 100 bytes
        (".".join(["a" * 49, "b" * 50]), "encodes to 101 bytes, at most 100 (TS 23.003)"),
        ("", "must not be empty"),
        ("in..ternet", "'in..ternet' has an empty label (two dots, or a dot at an end)"),
        ("inter net", "label 'inter net' may hold only letters A-Z, digits and '-'"),
        ("-internet", "label '-internet' must not start or end with '-'"),
        ("rac.example", "must not start with the reserved label 'rac' (TS 23.003 §9.1.1)"),
        ("internet.gprs", "must not end in '.gprs' (that suffix is reserved for the operator identifier)"),
    ],
)
def test_apn_rules(apn: str, problem: str | None):
    assert apn_problem(apn) == problem


@pytest.mark.parametrize("number, check", LUHN_VECTORS)
def test_luhn_specfacts_vectors(number: str, check: str):
    assert number[-1] == check
    assert luhn_digit(number[:-1]) == check
    assert luhn_ok(number)


def test_luhn_of_the_sample_iccid():
    assert luhn_digit("893108000000000001") == "9"
    assert luhn_ok("8931080000000000019")
    assert not luhn_ok("8931080000000000018")


def test_luhn_rejects_non_digits():
    assert not luhn_ok("89310800000000000a9")
    assert not luhn_ok("")
    assert not luhn_ok("7")
    with pytest.raises(ValueError):
        luhn_digit("")
    with pytest.raises(ValueError):
        luhn_digit("12a")


@given(st.text(alphabet="0123456789", min_size=1, max_size=25))
def test_luhn_appended_digit_checks(payload: str):
    assert luhn_ok(payload + luhn_digit(payload))


@given(st.text(alphabet="0123456789", min_size=1, max_size=25), st.data())
def test_luhn_catches_every_single_digit_error(payload: str, data):
    number = payload + luhn_digit(payload)
    i = data.draw(st.integers(0, len(number) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[i]]))
    assert not luhn_ok(number[:i] + wrong + number[i + 1 :])

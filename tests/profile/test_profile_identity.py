"""Per-card identities: ICCID Luhn, IMSI vs. profile, key lengths, ADM1 forms, and secrets kept secret."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from simtool.errors import EXIT_USAGE, InputError
from simtool.profile import Identity, IdentityError, adm_from_digits, adm_from_hex, load_profile, luhn_ok

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"

# Distinctive secret values: none of them may show up in any message or repr.
KI = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
OPC = "0badc0ffee0ddf00d0badc0ffee0ddf0"
ADM_HEX = "3837363534333231"
PIN1, PUK1, PIN2, PUK2 = "9753", "86428642", "97531", "13579246"
SECRETS = [KI, OPC, ADM_HEX, PIN1, PUK1, PIN2, PUK2, KI.upper(), OPC.upper()]


def good(**overrides):
    args = dict(
        iccid="8931080000000000019",
        imsi="204080000000001",
        ki=KI,
        opc=OPC,
        pin1=PIN1,
        puk1=PUK1,
        pin2=PIN2,
        puk2=PUK2,
        adm1_hex=ADM_HEX,
    )
    args.update(overrides)
    return args


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret {secret!r} leaked into {text!r}"


def errors_of(**overrides) -> list[str]:
    with pytest.raises(IdentityError) as info:
        Identity.create(**good(**overrides))
    assert isinstance(info.value, InputError) and info.value.exit_code == EXIT_USAGE
    assert_no_secrets(str(info.value))
    return info.value.errors


def test_create():
    ident = Identity.create(**good())
    assert ident.iccid == "8931080000000000019"
    assert ident.imsi == "204080000000001"
    assert ident.ki == bytes.fromhex(KI) and ident.opc == bytes.fromhex(OPC)
    assert ident.adm1 == b"87654321"
    assert (ident.pin1, ident.puk1, ident.pin2, ident.puk2) == (PIN1, PUK1, PIN2, PUK2)
    assert ident.msisdn is None
    assert ident.last_imsi_digit == 1


def test_sample_identity():
    s = Identity.sample()
    assert s.iccid == "8931080000000000019" and luhn_ok(s.iccid)
    assert s.imsi == "204080000000001"
    assert s.ki.hex() == "000102030405060708090a0b0c0d0e0f"
    assert s.opc.hex() == "0f0e0d0c0b0a09080706050403020100"
    assert (s.pin1, s.puk1, s.pin2, s.puk2) == ("0000", "12345678", "1234", "87654321")
    assert s.adm1 == bytes.fromhex("3131313131313131") == b"11111111"
    s.check_against(load_profile(PROFILE))


def test_iccid_append_luhn():
    assert (
        Identity.create(**good(iccid="893108000000000001", append_luhn=True)).iccid == "8931080000000000019"
    )
    assert (
        Identity.create(**good(iccid="8901410321111851072", append_luhn=True)).iccid == "89014103211118510720"
    )
    # append means append: a 19-digit value is taken as the payload, even if it already ends in a Luhn digit
    assert (
        Identity.create(**good(iccid="8931080000000000019", append_luhn=True)).iccid == "89310800000000000199"
    )


def test_iccid_append_luhn_lengths():
    assert errors_of(iccid="89310800000000000", append_luhn=True) == [
        "identity: iccid: must be 18 or 19 digits when the check digit is appended, got 17"
    ]
    assert errors_of(iccid="89014103211118510720", append_luhn=True) == [
        "identity: iccid: must be 18 or 19 digits when the check digit is appended, got 20"
    ]


@pytest.mark.parametrize(
    "iccid", ["8988211000000467343", "8949440000001155314", "89445310150011013678", "89014103211118510720"]
)
def test_real_iccids_are_accepted(iccid: str):
    assert Identity.create(**good(iccid=iccid)).iccid == iccid


def test_bad_luhn():
    assert errors_of(iccid="8931080000000000018") == [
        "identity: iccid: check digit 8 of 8931080000000000018 is wrong:"
        " the Luhn digit of 893108000000000001 is 9"
    ]


def test_iccid_length_and_digits():
    assert errors_of(iccid="893108000000000001") == [
        "identity: iccid: must be 19 or 20 digits including the Luhn check digit, got 18"
    ]
    assert errors_of(iccid="89310800000000000I9") == [
        "identity: iccid: must be digits only, got '89310800000000000I9'"
    ]


def test_imsi_format():
    assert errors_of(imsi="2040800000000011") == [
        "identity: imsi: must be 6 to 15 digits (MCC + MNC + MSIN), got '2040800000000011'"
    ]
    assert errors_of(imsi="20408") == [
        "identity: imsi: must be 6 to 15 digits (MCC + MNC + MSIN), got '20408'"
    ]


def test_imsi_must_start_with_the_profiles_mcc_mnc():
    profile = load_profile(PROFILE)
    ident = Identity.create(**good(imsi="204040000000001"))
    with pytest.raises(IdentityError) as info:
        ident.check_against(profile, source="--imsi")
    assert info.value.errors == [
        "--imsi: imsi: 204040000000001 does not start with the profile's MCC+MNC 20408 (home_plmn 204/08)"
    ]
    Identity.create(**good(imsi="204081234567890")).check_against(profile)


def test_bad_hex_lengths_and_characters():
    assert errors_of(ki=KI[:-2], source="cards.csv:3") == [
        "cards.csv:3: ki: must be 32 hex digits (16 bytes), got 30 characters"
    ]
    assert errors_of(opc=OPC[:-1] + "g") == [
        "identity: opc: must be 32 hex digits (16 bytes), but has characters that are not hex"
    ]
    assert errors_of(adm1_hex=ADM_HEX + "00") == [
        "identity: adm1: must be 16 hex digits (8 bytes), got 18 characters"
    ]
    assert errors_of(ki=bytes(15)) == ["identity: ki: must be 16 bytes, got 15"]


def test_all_problems_at_once_with_sources():
    errors = errors_of(
        iccid="8931080000000000018",
        imsi="20408x",
        ki=KI + "00",
        opc=OPC[:10],
        pin1="12",
        puk1="1234567",
        pin2="abcd",
        puk2=PUK2 + "1",
        adm1_hex="zz" * 8,
        msisdn="0612345678",
        source="cards.csv:3",
        field_sources={"imsi": "--imsi"},
    )
    assert errors == [
        "cards.csv:3: iccid: check digit 8 of 8931080000000000018 is wrong:"
        " the Luhn digit of 893108000000000001 is 9",
        "--imsi: imsi: must be 6 to 15 digits (MCC + MNC + MSIN), got '20408x'",
        "cards.csv:3: ki: must be 32 hex digits (16 bytes), got 34 characters",
        "cards.csv:3: opc: must be 32 hex digits (16 bytes), got 10 characters",
        "cards.csv:3: adm1: must be 16 hex digits (8 bytes), but has characters that are not hex",
        "cards.csv:3: pin1: must be 4 to 8 digits, got 2 digits",
        "cards.csv:3: puk1: must be 8 digits, got 7 digits",
        "cards.csv:3: pin2: must be 4 to 8 digits, got 4 characters, not all digits",
        "cards.csv:3: puk2: must be 8 digits, got 9 digits",
        "cards.csv:3: msisdn: must be an E.164 number: '+' and 1 to 15 digits, got '0612345678'",
    ]


def test_opc_or_op_exactly_one():
    assert errors_of(opc=None) == ["identity: opc: required (or op, from which OPc is derived)"]
    assert errors_of(op=OPC) == ["identity: opc: give opc or op, not both"]


def test_adm1_must_be_stated_explicitly():
    assert errors_of(adm1_hex=None) == [
        "identity: adm1: required, stated explicitly as hex (adm1_hex) or ASCII digits (adm1_digits)"
    ]
    assert errors_of(adm1_digits="11111111") == [
        "identity: adm1: give one ADM1 form, not 2 (adm1_hex, adm1_digits)"
    ]
    assert Identity.create(**good(adm1_hex=None, adm1_digits="11111111")).adm1 == b"11111111"
    assert Identity.create(**good(adm1_hex=None, adm1=b"\x01" * 8)).adm1 == b"\x01" * 8
    assert errors_of(adm1_hex=None, adm1_digits="1111111a") == [
        "identity: adm1: must be 4 to 8 decimal digits, got 8 characters that are not that"
    ]


def test_adm_helpers():
    assert adm_from_hex("3131313131313131") == b"11111111"
    assert adm_from_digits("11111111") == b"11111111"
    assert adm_from_digits("1234") == b"1234\xff\xff\xff\xff"
    for bad in ("123", "123456789", "abcd"):
        with pytest.raises(ValueError) as info:
            adm_from_digits(bad)
        assert bad not in str(info.value)
    with pytest.raises(ValueError):
        adm_from_hex("31313131")


def test_msisdn():
    assert Identity.create(**good(msisdn="+31612345678")).msisdn == "+31612345678"


def test_secrets_absent_from_repr_str_and_dict():
    ident = Identity.create(**good(msisdn="+31612345678"))
    for text in (repr(ident), str(ident), f"{ident}", str(ident.to_dict())):
        assert_no_secrets(text)
        assert "b'87654321'" not in text and "87654321" not in text
    assert repr(ident) == (
        "Identity(iccid='8931080000000000019', imsi='204080000000001', ki=<secret>, opc=<secret>,"
        " pin1=<secret>, puk1=<secret>, pin2=<secret>, puk2=<secret>, adm1=<secret>, msisdn='+31612345678')"
    )
    assert ident.to_dict() == {
        "iccid": "8931080000000000019",
        "imsi": "204080000000001",
        "ki": "<secret>",
        "opc": "<secret>",
        "pin1": "<secret>",
        "puk1": "<secret>",
        "pin2": "<secret>",
        "puk2": "<secret>",
        "adm1": "<secret>",
        "msisdn": "+31612345678",
    }
    shown = ident.to_dict(show_secrets=True)
    assert shown["ki"] == KI and shown["opc"] == OPC and shown["adm1"] == ADM_HEX and shown["pin1"] == PIN1


def test_secrets_absent_from_errors_of_the_plain_constructor():
    with pytest.raises(IdentityError) as info:
        Identity(
            iccid="8931080000000000019",
            imsi="204080000000001",
            ki=KI,  # hex text, not bytes
            opc=bytes.fromhex(OPC)[:15],
            pin1=PIN1 + "12345",
            puk1=PUK1,
            pin2=PIN2,
            puk2=PUK2,
            adm1=ADM_HEX,  # text, not bytes
        )
    assert_no_secrets(str(info.value))
    assert info.value.errors == [
        "identity: ki: must be bytes, got a str value (Identity.create takes hex)",
        "identity: opc: must be 16 bytes, got 15",
        "identity: adm1: must be bytes, got a str value (use adm_from_hex or adm_from_digits)",
        "identity: pin1: must be 4 to 8 digits, got 9 digits",
    ]


def test_identity_is_frozen():
    ident = Identity.sample()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ident.imsi = "204080000000002"  # type: ignore[misc]


_HAVE_MILENAGE = importlib.util.find_spec("simtool.crypto.milenage") is not None


@pytest.mark.skipif(
    not _HAVE_MILENAGE, reason="simtool.crypto.milenage is not written yet: OP->OPc untestable"
)
def test_opc_derived_from_op():
    # TS 35.208 test set 1 (specfacts §1.2)
    ident = Identity.create(
        **good(ki="465b5ce8b199b49faa5f0a2ee238a6bc", opc=None, op="cdc202d5123e20f62b6d676ac72cb318")
    )
    assert ident.opc.hex() == "cd63cb71954a9f4e48a5994e37a02baf"
    assert "cdc202d5123e20f62b6d676ac72cb318" not in repr(ident)


def test_bad_op_is_reported_without_deriving():
    assert errors_of(opc=None, op="00" * 15) == [
        "identity: op: must be 32 hex digits (16 bytes), got 30 characters"
    ]

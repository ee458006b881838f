"""Profile elements from the GSMA TS.48 v5 test profile (SAIP 2.3, no BER-TLV files) as pySim ships it
(osmocom/pysim smdpp-data/upp/TS48v5_SAIP2.3_NoBERTLV.der): their DER and the value our module decodes
it to (DEFAULT components filled in, as asn1tools gives them). tests/esim/test_saip_module.py walks them
both ways; the whole file is replayed from tests/data/saip/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SOURCE = "GSMA TS.48 v5 SAIP2.3_NoBERTLV (pySim smdpp-data/upp)"
_XOR = bytes(31) + b"\x01" + bytes(15) + b"\x02" + bytes(15) + b"\x04" + bytes(15) + b"\x08"


@dataclass(frozen=True)
class PeVector:
    hex: str
    kind: str
    value: dict[str, Any]
    source: str = SOURCE

    @property
    def der(self) -> bytes:
        return bytes.fromhex(self.hex)


VECTORS: tuple[PeVector, ...] = (
    PeVector(
        "A0819D800102810103821F47534D412047656E6572696320655549434320546573742050726F66696C65830A8900012345678901"
        "2341A50E8100820083009100950096009700A658060667810F010201060667810F010203060667810F010204060667810F010205"
        "060667810F010207060667810F010208060667810F010209060667810F01020A060667810F01020B060667810F01020D060667810F"
        "01020E",
        "header",
        {"major-version": 2, "minor-version": 3, "profileType": "GSMA Generic eUICC Test Profile",
         "iccid": bytes.fromhex("89000123456789012341"),
         "eUICC-Mandatory-services": {"usim": None, "isim": None, "csim": None, "usim-test-algorithm": None,
                                      "get-identity": None, "profile-a-x25519": None, "profile-b-p256": None},
         "eUICC-Mandatory-GFSTEList": [f"2.23.143.1.2.{n}" for n in (1, 3, 4, 5, 7, 8, 9, 10, 11, 13, 14)]}),
    PeVector(
        "A328A0058000810105A11F300D80010181083131313131313131300E8002008181083232323232323232",
        "pukCodes",
        {"puk-Header": {"mandated": None, "identification": 5}, "pukCodes": [
            {"keyReference": 1, "pukValue": b"11111111", "maxNumOfAttemps-retryNumLeft": 170},
            {"keyReference": 129, "pukValue": b"22222222", "maxNumOfAttemps-retryNumLeft": 170}]}),
    PeVector(
        "A24CA0058000810102A143A0413013800101810830303030FFFFFFFF820101830106301480010A81083535353535353535830103"
        "840200AA301480010B81083636363636363636830103840200AA",
        "pinCodes",
        {"pin-Header": {"mandated": None, "identification": 2}, "pinCodes": ("pinconfig", [
            {"keyReference": 1, "pinValue": b"0000\xff\xff\xff\xff", "unblockingPINReference": 1,
             "pinAttributes": 6, "maxNumOfAttemps-retryNumLeft": 51},
            {"keyReference": 10, "pinValue": b"55555555", "pinAttributes": 3, "maxNumOfAttemps-retryNumLeft": 170},
            {"keyReference": 11, "pinValue": b"66666666", "pinAttributes": 3, "maxNumOfAttemps-retryNumLeft": 170}])}),
    PeVector(
        "A435A005800081010BA12CA12A8001038101028210000102030405060708090A0B0C0D0E0F831000000000000000000000000000000000",
        "akaParameter",
        {"aka-header": {"mandated": None, "identification": 11}, "algoConfiguration": ("algoParameter", {
            "algorithmID": 3, "algorithmOptions": b"\x02", "key": bytes(range(16)), "opc": bytes(16),
            "rotationConstants": bytes.fromhex("4000204060"), "xoringConstants": _XOR, "numberOfKeccak": 1}),
         "sqnOptions": b"\x02", "sqnDelta": bytes.fromhex("000010000000"),
         "sqnAgeLimit": bytes.fromhex("000010000000")}),
    PeVector("AA07A005800081011F", "end", {"end-header": {"mandated": None, "identification": 31}}),
)

# The first tag byte(s) of each ProfileElement alternative (the CHOICE's AUTOMATIC TAGS, context class,
# constructed), as the TS.48 files carry them; a reordered alternative in the module breaks this.
CHOICE_TAGS = {
    "header": "A0", "genericFileManagement": "A1", "pinCodes": "A2", "pukCodes": "A3", "akaParameter": "A4",
    "cdmaParameter": "A5", "securityDomain": "A6", "rfm": "A7", "application": "A8", "nonStandard": "A9",
    "end": "AA", "mf": "B0", "cd": "B1", "telecom": "B2", "usim": "B3", "opt-usim": "B4", "isim": "B5",
    "opt-isim": "B6", "phonebook": "B7", "gsm-access": "B8", "csim": "B9", "opt-csim": "BA", "eap": "BB",
    "df-5gs": "BC", "df-saip": "BD", "df-snpn": "BE", "df-5gprose": "BF1F", "iot": "BF20", "opt-iot": "BF21",
}

# What the whole TS.48 v5 SAIP2.3_NoBERTLV file holds, in order (specfacts §12.7).
TS48_V5_ORDER = (
    "header", "mf", "pukCodes", "pinCodes", "telecom", "pinCodes", "genericFileManagement", "usim", "opt-usim",
    "pinCodes", "akaParameter", "gsm-access", "df-5gs", "df-saip", "csim", "opt-csim", "pinCodes",
    "cdmaParameter", "isim", "opt-isim", "pinCodes", "akaParameter", "genericFileManagement",
    "genericFileManagement", "securityDomain", "rfm", "rfm", "rfm", "rfm", "end",
)

"""Our ASN.1 module against the GSMA TS.48 test profiles: CHOICE tags, element vectors, a whole file."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.esim import saip
from simtool.esim.inspect import inspect
from simtool.esim.vectors import CHOICE_TAGS, TS48_V5_ORDER, VECTORS

TS48 = Path(__file__).resolve().parents[1] / "data" / "saip" / "TS48v5_SAIP2.3_NoBERTLV.der"
TYPED = {"header", "genericFileManagement", "pinCodes", "pukCodes", "akaParameter", "end", "mf", "usim",
         "opt-usim", "isim", "opt-isim", "gsm-access", "df-5gs"}


def test_choice_tags_follow_the_specification_order():
    assert {k: v.hex().upper() for k, v in saip.pe_tags().items() if not k.startswith("rfu")} == CHOICE_TAGS


@pytest.mark.parametrize("vector", VECTORS, ids=[v.kind for v in VECTORS])
def test_vector_decodes(vector):
    kind, value = saip.spec().decode("ProfileElement", vector.der)
    assert (kind, value) == (vector.kind, vector.value)


@pytest.mark.parametrize("vector", VECTORS, ids=[v.kind for v in VECTORS])
def test_vector_encodes(vector):
    assert saip.encode_pe(vector.kind, vector.value).hex().upper() == vector.hex


def test_the_ts48_profile_decodes_element_by_element_and_reencodes_byte_for_byte():
    data = TS48.read_bytes()
    elements = saip.split(data)
    assert tuple(e.kind for e in elements) == TS48_V5_ORDER
    assert b"".join(e.der for e in elements) == data
    for e in elements:
        if e.kind in TYPED:  # the elements our module types fully: DER again, byte for byte
            assert saip.encode_pe(e.kind, e.value) == e.der, (e.index, e.kind)


def test_the_ts48_profile_inspects_with_our_codecs_and_passes_our_checks():
    doc = inspect(TS48.read_bytes())
    assert doc["problems"] == []
    assert doc["iccid"] == "89000123456789012341"
    assert doc["imsi"] == "001010123456063"  # specfacts §12.7
    assert doc["files"]["MF/ADF.USIM/EF.ACC"]["hex"] == "0001"
    assert doc["files"]["MF/ADF.USIM/EF.UST"]["hex"] == "9EFFBF1DFF3E0083410310010400007E11"
    assert doc["version"] == "2.3"

"""The generic vector test of the network side: every simtool.gsup module with `VECTORS` (hex → value, from
the documentation and from captures of osmo-hlr) and its `CODEC` (decode, encode): each vector decodes to its
value and encodes back to its bytes."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import simtool.gsup

MODULES = {info.name: importlib.import_module(f"simtool.gsup.{info.name}")
           for info in pkgutil.iter_modules(simtool.gsup.__path__)}
WITH_VECTORS = {n: mod for n, mod in MODULES.items() if hasattr(mod, "VECTORS")}
CASES = [pytest.param(mod, v, id=f"{n}:{v.source}") for n, mod in WITH_VECTORS.items() for v in mod.VECTORS]


def test_the_codecs_carry_vectors():
    assert {"ipa", "message"} <= set(WITH_VECTORS)
    assert all(callable(f) for mod in WITH_VECTORS.values() for f in mod.CODEC)


@pytest.mark.parametrize(("module", "vector"), CASES)
def test_vector_decodes(module, vector):
    decode, _ = module.CODEC
    assert decode(vector.data) == vector.value


@pytest.mark.parametrize(("module", "vector"), CASES)
def test_vector_encodes(module, vector):
    _, encode = module.CODEC
    assert encode(vector.value).hex() == vector.data.hex()

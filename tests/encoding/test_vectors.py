"""The generic vector test: every codec's spec vectors decode to their value and encode back, for the EFs of
every card model in `simtool.fs.MODELS` and every `Codec` a module of `simtool.encoding` declares (the
codings that are not files: COMPREHENSION-TLV, GSM 7-bit packed text, APN)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import simtool.encoding
from simtool.encoding import efs
from simtool.encoding.codec import Codec
from simtool.fs import MODELS


def _declared_codecs() -> list[Codec]:
    """Every module-level `Codec` of every module of `simtool.encoding`."""
    out = []
    for info in pkgutil.iter_modules(simtool.encoding.__path__):
        module = importlib.import_module(f"simtool.encoding.{info.name}")
        out += [v for v in vars(module).values() if isinstance(v, Codec)]
    return out


def _cases():
    seen = set()
    codecs = [e.ef.codec for m in MODELS.values() for e in m.fs.efs()] + efs.all_codecs() + _declared_codecs()
    for codec in codecs:
        if id(codec) in seen:
            continue
        seen.add(id(codec))
        for i, v in enumerate(codec.vectors):
            yield pytest.param(codec, v, id=f"{codec.name}#{i}")


CASES = list(_cases())


def test_the_shared_codings_are_walked():
    names = {c.name for c in _declared_codecs()}
    assert {"COMPREHENSION-TLV", "GSM 7-bit packed", "APN"} <= names


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
def test_every_ef_of_the_model_has_vectors(model):
    missing = sorted({e.path for e in model.fs.efs() if not e.ef.codec.vectors})
    assert missing == []


def test_every_codec_of_every_model_is_known_to_all_codecs():
    """Codecs live in simtool.encoding.efs, not scattered over the models."""
    known = {id(c) for c in efs.all_codecs()}
    strays = sorted({f"{m.name}:{e.path}" for m in MODELS.values() for e in m.fs.efs() if id(e.ef.codec) not in known})
    assert strays == []


@pytest.mark.parametrize(("codec", "vector"), CASES)
def test_vector_decodes(codec, vector):
    assert codec.decode(vector.data) == vector.value


@pytest.mark.parametrize(("codec", "vector"), CASES)
def test_vector_encodes(codec, vector):
    assert codec.encode(vector.value, len(vector.data)).hex() == vector.data.hex()

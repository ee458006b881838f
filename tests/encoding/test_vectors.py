"""The generic vector test: every codec's spec vectors decode to their value and encode back, for the EFs of
every card model in `simtool.fs.MODELS`."""

from __future__ import annotations

import pytest

from simtool.encoding import efs
from simtool.fs import MODELS


def _cases():
    seen = set()
    codecs = [e.ef.codec for m in MODELS.values() for e in m.fs.efs()] + efs.all_codecs()
    for codec in codecs:
        if id(codec) in seen:
            continue
        seen.add(id(codec))
        for i, v in enumerate(codec.vectors):
            yield pytest.param(codec, v, id=f"{codec.name}#{i}")


CASES = list(_cases())


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

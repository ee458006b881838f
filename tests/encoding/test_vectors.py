"""The generic vector test: every codec's spec vectors decode to their value and encode back."""

from __future__ import annotations

import pytest

from simtool.encoding import efs
from simtool.fs import DEFAULT_MODEL


def _cases():
    seen = set()
    codecs = [e.ef.codec for e in DEFAULT_MODEL.fs.efs()] + efs.all_codecs()
    for codec in codecs:
        if id(codec) in seen:
            continue
        seen.add(id(codec))
        for i, v in enumerate(codec.vectors):
            yield pytest.param(codec, v, id=f"{codec.name}#{i}")


CASES = list(_cases())


def test_every_ef_of_the_model_has_vectors():
    missing = sorted({e.path for e in DEFAULT_MODEL.fs.efs() if not e.ef.codec.vectors})
    assert missing == []


@pytest.mark.parametrize(("codec", "vector"), CASES)
def test_vector_decodes(codec, vector):
    assert codec.decode(vector.data) == vector.value


@pytest.mark.parametrize(("codec", "vector"), CASES)
def test_vector_encodes(codec, vector):
    assert codec.encode(vector.value, len(vector.data)).hex() == vector.data.hex()

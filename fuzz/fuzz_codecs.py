#!/usr/bin/env python3
"""atheris harness: every codec's decode in simtool.encoding.efs, on whatever bytes a card may hold.

Input: byte 0 picks the target (a codec at the size of an EF that uses it, or at any length), the rest
is the file body (cut or FF-padded to the EF's size). A decode must return a value or raise DecodeError;
a value must encode again or raise EncodeError; at an EF's size, it must then decode to the same value.
Anything else is a crash.

    python fuzz/fuzz_codecs.py -max_total_time=60 CORPUS_DIR      # libFuzzer flags; see fuzz/run.py
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["simtool"]):
    from simtool.encoding import efs
    from simtool.encoding.codec import Codec, DecodeError
    from simtool.encoding.types import EncodeError
    from simtool.fs import MODELS


def targets() -> list[tuple[str, Codec, int | None]]:
    """(name, codec, size): every codec of efs at the size of each EF that uses it, and at any size."""
    out: dict[tuple[int, int | None], tuple[str, Codec, int | None]] = {}
    for name, codec in sorted(vars(efs).items()):
        if isinstance(codec, Codec):
            out.setdefault((id(codec), None), (name, codec, None))
    for model in MODELS.values():
        for e in model.fs.efs():
            codec = e.ef.codec
            if not isinstance(codec, Codec):
                continue
            size = e.ef.record_length if e.ef.is_record else e.ef.size
            out.setdefault((id(codec), size), (f"{e.path}@{size}", codec, size))
    return list(out.values())


TARGETS = targets()


def seeds() -> list[bytes]:
    """One input per spec vector, for every target whose codec has vectors."""
    found = []
    for i, (_name, codec, _size) in enumerate(TARGETS):
        for v in codec.vectors:
            found.append(bytes([i % 256]) + v.data)
    return found


def check(data: bytes) -> None:
    if not data:
        return
    _name, codec, size = TARGETS[data[0] % len(TARGETS)]
    raw = data[1:]
    if size is not None:
        raw = (raw + b"\xff" * size)[:size]
    try:
        value = codec.decode(raw)
    except DecodeError:
        return
    if size is None:  # at a length no file has, only "no exception but CodecError" is asked of decode
        with contextlib.suppress(EncodeError):
            codec.encode(value, len(raw))
        return
    # The law (simtool.encoding.codec): whatever bytes of the file's size decode, encode back to themselves.
    again = codec.encode(value, size)
    assert again == raw, f"{codec.name}: encode(decode(x)) != x for {raw.hex()}"


def main() -> None:
    if sys.argv[1:2] == ["--write-seeds"]:  # fuzz/run.py: put the seed inputs into a corpus directory
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        for n, seed in enumerate(seeds()):
            (out / f"seed-{n:04d}").write_bytes(seed)
        return
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

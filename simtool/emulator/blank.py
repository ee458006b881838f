"""Blank cards as the vendor ships them: the model's file tree erased (FF), EF.DIR and EF.ARR filled in,
and the vendor's secrets: ADM1 key, default PINs/PUKs with full retry counters, optionally an ICCID.
"""

from __future__ import annotations

import os

from simtool.commands.exchange import normalize_protocol
from simtool.crypto.aka import SqnState
from simtool.emulator.state import CardFile, CardFileError, CardState, max_tries
from simtool.encoding import efs as C
from simtool.encoding.codec import pad
from simtool.errors import InputError
from simtool.fs import DEFAULT_MODEL, MODELS, CardModel

DEFAULT_PIN = "0000"
DEFAULT_PUK = "12345678"
ADM_LENGTH = 8


def _model(model: CardModel | str) -> CardModel:
    if isinstance(model, str):
        if model not in MODELS:
            raise InputError(f"unknown card model {model!r} (known: {', '.join(MODELS)})")
        return MODELS[model]
    return model


def new_blank_card(
    model: CardModel | str = DEFAULT_MODEL, *, adm: bytes, iccid: str | None = None, protocol: str = "T=0"
) -> CardState:
    """The state of a fresh card of `model` with ADM1 key `adm` (8 bytes) and an optional vendor ICCID.

    PIN1 and PIN2 are "0000" (PIN1 enabled), PUK1 and PUK2 "12345678", all counters full, the key file
    empty (AUTHENTICATE refuses until it is written), SQN memory zero. The model's `secrets.vendor_files`
    say what else the vendor sets, in the family's own files (on an SJA2: DF.SYSTEM's PIN files, ADM1
    included, and the SQN settings).
    """
    model = _model(model)
    if not isinstance(adm, bytes | bytearray) or len(adm) != ADM_LENGTH:
        raise InputError(f"ADM1 key must be {ADM_LENGTH} bytes")
    try:
        protocol = normalize_protocol(protocol)
    except ValueError as err:
        raise InputError(str(err)) from None
    if protocol not in model.protocols:
        raise InputError(f"card model {model.name} speaks {' or '.join(model.protocols)} only, not {protocol}")
    fs = model.fs
    files = {}
    for e in fs.efs():  # as created: the spec's initial values (TS 31.102 Annex E), erased (FF) otherwise
        content = e.ef.initial_content()
        files[e.path] = bytearray(b"".join(content) if isinstance(content, list) else content)

    def put_records(path: str, records: list[bytes]) -> None:
        ef = fs[path].ef
        if len(records) > ef.record_count:
            raise InputError(f"{path}: {len(records)} records needed, the model has {ef.record_count}")
        for i, rec in enumerate(records):
            files[path][i * ef.record_length : (i + 1) * ef.record_length] = pad(rec, ef.record_length, b"\xff")

    for e in fs.efs():
        if e.node.name == "EF.DIR":
            put_records(e.path, model.dir_records())
        elif e.node.name == "EF.ARR":
            put_records(e.path, model.arr_records())
    pins = {"pin1": DEFAULT_PIN, "puk1": DEFAULT_PUK, "pin2": DEFAULT_PIN, "puk2": DEFAULT_PUK}
    for path, value in model.secrets.vendor_files(bytes(adm), pins, pin1_enabled=True, pin2_enabled=True).items():
        ef = fs[path].ef
        raw = ef.codec.encode(value, ef.size)
        files[path][: len(raw)] = raw
    if iccid is not None:
        if not isinstance(iccid, str) or not iccid.isdigit() or not 18 <= len(iccid) <= 20:
            raise InputError("ICCID must be 18 to 20 digits")
        entry = fs.find("EF.ICCID")
        files[entry.path][:] = C.ICCID.encode(iccid, entry.ef.size)
    sqn_doc = model.secrets.read_sqn(files)  # a family with an SQN file: its shipped settings
    sqn = SqnState.from_dict(sqn_doc) if sqn_doc is not None else SqnState()
    return CardState(model, protocol, files, max_tries(model), bytes(adm), sqn)


def create_card_file(
    path: str | os.PathLike[str],
    adm: bytes,
    iccid: str | None = None,
    protocol: str = "T=0",
    model: CardModel | str = DEFAULT_MODEL,
) -> CardState:
    """Create a blank card file at `path` (mode 0600); an existing file is never overwritten. `model` is a
    card model or its name (`simtool.fs.MODELS`)."""
    if path is None:
        raise CardFileError("a card file needs a path")
    state = new_blank_card(model, adm=adm, iccid=iccid, protocol=protocol)
    CardFile(path).create(state)
    return state

"""Helpers for the emulator tests: raw and host-side (T=0/T=1-aware) exchanges, PINs, paths."""

from __future__ import annotations

from simtool.commands import Apdu, Response, run
from simtool.emulator import Card
from simtool.fs import DEFAULT_MODEL

ADM = bytes.fromhex("3131313131313131")
FS = DEFAULT_MODEL.fs


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


def pin(value: str) -> bytes:
    return value.encode() + b"\xff" * (8 - len(value))


def tx(card: Card, apdu: bytes | str) -> tuple[bytes, int]:
    """One raw APDU: (data, SW). Every answer must end in a status word."""
    raw = h(apdu) if isinstance(apdu, str) else apdu
    out = card.process(raw)
    assert len(out) >= 2
    return out[:-2], int.from_bytes(out[-2:], "big")


def sw(card: Card, apdu: bytes | str) -> int:
    return tx(card, apdu)[1]


def host(card: Card, apdu: Apdu) -> Response:
    """As a PC/SC program sends it: through simtool.commands' T=0/T=1 exchange rules."""
    return run(apdu, card.protocol, card.process)


def verify_adm(card: Card) -> None:
    assert sw(card, b"\x00\x20\x00\x0a\x08" + ADM) == 0x9000


def verify_pin1(card: Card, value: str = "0000") -> None:
    assert sw(card, b"\x00\x20\x00\x01\x08" + pin(value)) == 0x9000


def select_usim(card: Card) -> None:
    aid = FS["MF/ADF.USIM"].df.aid
    assert aid is not None
    assert sw(card, bytes([0x00, 0xA4, 0x04, 0x0C, len(aid)]) + aid) == 0x9000


def fid_path(path: str) -> bytes:
    """Path from the MF (P1=08 form, MF left out) of a model path; ADFs as 7FFF."""
    entry = FS[path]
    fids = [0x7FFF if p.aid is not None else p.fid for p in entry.parents[1:]]
    node = entry.node
    fids.append(0x7FFF if getattr(node, "aid", None) is not None else node.fid)
    return b"".join(f.to_bytes(2, "big") for f in fids)


def select_adf(card: Card, adf_path: str) -> None:
    aid = FS[adf_path].df.aid
    assert aid is not None
    assert sw(card, bytes([0x00, 0xA4, 0x04, 0x0C, len(aid)]) + aid) == 0x9000


def select_path(card: Card, path: str, fcp: bool = False) -> int:
    """SELECT by path from the MF; files under an ADF need that ADF selected (active) first."""
    if "/ADF." in path:
        select_adf(card, "/".join(path.split("/")[:2]))
    p = fid_path(path)
    return sw(card, bytes([0x00, 0xA4, 0x08, 0x04 if fcp else 0x0C, len(p)]) + p)

"""The door between the card and what runs on it (issue 14): the CAT runtime and the plan applet reach
their card only through `CardPort`, and `commit` is all or nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from simtool.emulator import Card
from simtool.emulator.port import CardPort

EMULATOR = Path(__file__).resolve().parents[2] / "simtool" / "emulator"
PORT = {n for n in vars(CardPort) if not n.startswith("_")}
ADM = bytes.fromhex("3131313131313131")


@pytest.mark.parametrize("name", ["cat.py", "applet.py"])
def test_only_the_port_is_used(name: str) -> None:
    """Every `self.card.X` is a `CardPort` member; nothing else of the card (its state, `_case4`, ...)."""
    tree = ast.parse((EMULATOR / name).read_text())
    used = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "card" and isinstance(node.value.value, ast.Name) and node.value.value.id == "self"}
    assert used and used <= PORT, used - PORT
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "simtool.emulator.card" not in imported


def test_commit_is_one_write_of_all_changes_or_none() -> None:
    card = Card.blank(adm=ADM)
    port = card.cat.card
    paths = ["MF/EF.ICCID", "MF/ADF.USIM/EF.IMSI"]
    before = {p: card.file_bytes(p) for p in paths}
    new = {p: bytes(len(before[p])) for p in paths}
    port.commit(new)
    assert {p: card.file_bytes(p) for p in paths} == new
    with pytest.raises(ValueError, match="EF.IMSI"):  # a body of another size: nothing changes
        port.commit({"MF/EF.ICCID": before["MF/EF.ICCID"], "MF/ADF.USIM/EF.IMSI": b"\x01"})
    assert {p: card.file_bytes(p) for p in paths} == new


def test_file_bytes_is_a_copy() -> None:
    card = Card.blank(adm=ADM)
    view = card.cat.card.file_bytes("MF/EF.ICCID")
    assert isinstance(view, bytes) and view == card.file_bytes("MF/EF.ICCID")

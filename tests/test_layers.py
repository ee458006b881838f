"""DESIGN.md §2: a layer imports only the layers below it. Checked on the source, import by import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "simtool"
ORDER = ["errors", "inputs", "encoding", "crypto", "fs", "profile", "commands", "emulator", "transport", "gsup",
         "personalize", "esim", "batch", "network", "cli", "testing"]
# Packages on the same level may not import each other.
SAME_LEVEL = {"encoding": {"crypto"}, "crypto": {"encoding"}}


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem != "__init__" else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return [(ln, m.split(".")[1]) for ln, m in out if m.startswith("simtool.") and len(m.split(".")) > 1]


FILES = [p for p in ROOT.rglob("*.py") if _package(p) in ORDER]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_layering(path):
    own = _package(path)
    level = ORDER.index(own)
    bad = []
    for lineno, target in _imports(path):
        if target == own or target not in ORDER:
            continue
        if ORDER.index(target) > level or target in SAME_LEVEL.get(own, set()):
            bad.append(f"{path.relative_to(ROOT)}:{lineno}: {own} imports {target}")
    assert bad == []


def test_the_factory_reaches_cards_only_through_transports():
    """DESIGN.md §2: `batch` gets its emulated cards from `transport` (emu:, emu-feed:), never from the
    emulator itself; the import walk also sees imports inside functions."""
    bad = [f"{p.relative_to(ROOT)}:{ln}" for p in (ROOT / "batch").rglob("*.py")
           for ln, target in _imports(p) if target == "emulator"]
    assert bad == []

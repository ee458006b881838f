"""`simtool.commands` is sans-I/O and sits on layer 4: it may import the standard library,
`simtool.errors`, `simtool.encoding` (TLV, COMPREHENSION-TLV, GSM 7-bit, the alpha coding of EFs, the status
words) and itself, and no I/O module (DESIGN.md §2, §7)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import simtool.commands

ALLOWED_SIMTOOL = {"simtool.errors", "simtool.encoding.tlv", "simtool.encoding.types", "simtool.encoding.sw",
                  "simtool.encoding.ctlv", "simtool.encoding.gsm7"}
IO_MODULES = {"os", "io", "socket", "subprocess", "select", "selectors", "asyncio", "threading", "logging"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_commands_imports_only_allowed_modules() -> None:
    package = Path(simtool.commands.__file__).parent
    files = sorted(package.glob("*.py"))
    assert {f.name for f in files} >= {
        "__init__.py",
        "apdu.py",
        "sw.py",
        "uicc.py",
        "exchange.py",
        "trace.py",
    }
    for f in files:
        for name in _imports(f):
            top = name.split(".")[0]
            if top == "simtool":
                assert name.startswith("simtool.commands") or name in ALLOWED_SIMTOOL, (f.name, name)
            else:
                assert top == "__future__" or top in sys.stdlib_module_names, (f.name, name)
                assert top not in IO_MODULES, (f.name, name)

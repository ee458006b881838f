"""Every test that reaches pcscd or PostgreSQL carries the `pcsc` / `postgres` marker, so that
`pytest -m "not pcsc and not postgres"` runs the rest alone (issue 14).

The plugin (`simtool.testing.plugin.FIXTURE_MARKERS`) marks the tests that request its fixtures. This walk
over the source of tests/ finds the other ways in, and fails for a test that takes one without the marker:

* calling `emulated_reader()`, `ensure_pcscd()`, `reader_names()`, `vpcd_readers()`, `list_readers()` or the
  PostgreSQL helper `start_cluster()`; importing pyscard (`smartcard`) or `psycopg.connect`;
* a `pcsc:` reader (`open_reader("pcsc:...")`, `--reader pcsc:...`), a `postgresql://` ledger;
* `simtool emulator serve` without `--port` (vpcd's own port, so pcscd's driver), a `VpcdCardServer` on
  that default port, `simtool readers`;
* a fixture the plugin marks by, requested through `request.getfixturevalue` (which the plugin cannot see).

A test counts as reaching when it, a helper it calls (in its module or an imported `tests.` module), or a
fixture it requests (its module, the conftest.py files above it) does one of these. It counts as marked by
`@pytest.mark.pcsc`, a class or module `pytestmark`, a plugin fixture among those it requests, or
`pytest.param(..., marks=...)` on the parameters of a fixture on its way. A test that names the way in
without going through (pyscard hidden, a socket that nothing serves, a usage error refused before any
connection) is listed in `NOT_REACHING` with the reason; an entry that no longer matches fails too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from simtool.testing.plugin import FIXTURE_MARKERS

TESTS = Path(__file__).resolve().parent
MARKERS = ("pcsc", "postgres")
REACHING_CALLS = {"emulated_reader": "pcsc", "ensure_pcscd": "pcsc", "reader_names": "pcsc",
                  "vpcd_readers": "pcsc", "list_readers": "pcsc", "start_cluster": "postgres"}

# test id -> why it names a way to pcscd / PostgreSQL but does not go through
NOT_REACHING = {
    "tests/pcsc/test_pcsc_units.py::test_missing_pyscard_says_what_to_install":
        "pyscard is hidden (sys.modules): open_reader('pcsc:0') and list_readers() refuse before any call",
    "tests/pcsc/test_pcsc_units.py::test_missing_pyscard_cli_exit_3":
        "`simtool readers` with pyscard shadowed by an ImportError: exit 3 before any PC/SC call",
    "tests/pcsc/test_pcsc_units.py::test_pcscd_down_is_a_clear_error_at_once":
        "$PCSCLITE_CSOCK_NAME points at a socket nothing serves: the point is pcscd being unreachable",
    "tests/pcsc/test_pcsc_units.py::test_hung_pcscd_gives_up_within_the_timeout":
        "$PCSCLITE_CSOCK_NAME points at the test's own listener that never answers",
    "tests/pcsc/test_pcsc_vpcd_protocol.py::test_cli_usage_errors":
        "`emulator serve` usage errors: refused (exit 2/3) before any connection",
    "tests/personalize/test_personalize_transport.py::test_without_pcsc_support_the_reader_says_so":
        "simtool.transport.pcsc is hidden (sys.modules): open_reader('pcsc:0') refuses at once",
}


@dataclass
class Func:
    module: Module
    name: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: str | None = None
    reasons: dict[str, str] = field(default_factory=dict)  # marker -> the first way in found
    marks: set[str] = field(default_factory=set)  # markers its own decorators and params give
    fixture: bool = False

    @property
    def test_id(self) -> str:
        where = f"{self.cls}::{self.name}" if self.cls else self.name
        return f"{self.module.path.relative_to(TESTS.parent)}::{where}"


@dataclass
class Module:
    path: Path
    tree: ast.Module
    funcs: dict[str, Func] = field(default_factory=dict)  # module-level functions and fixtures
    methods: dict[tuple[str, str], Func] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # alias -> (module, attr)
    marks: set[str] = field(default_factory=set)
    class_marks: dict[str, set[str]] = field(default_factory=dict)
    assigned: dict[str, ast.expr] = field(default_factory=dict)


def _marks_in(node: ast.AST | None) -> set[str]:
    """Markers named as `pytest.mark.<m>` / `mark.<m>` anywhere in `node` (decorators, pytestmark, params)."""
    out = set()
    for n in ast.walk(node) if node is not None else ():
        if isinstance(n, ast.Attribute) and n.attr in MARKERS:
            base = n.value
            if (isinstance(base, ast.Attribute) and base.attr == "mark") or (isinstance(base, ast.Name)
                                                                             and base.id == "mark"):
                out.add(n.attr)
    return out


def _callee(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _text(node: ast.expr) -> str | None:
    """A str constant, or the constant start of an f-string ('' when it starts with a placeholder)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        first = node.values[0] if node.values else None
        return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
    return None


def _sequence_reason(items: list[ast.expr]) -> tuple[str, str] | None:
    words = [_text(e) for e in items]
    for a, b in zip(words, words[1:], strict=False):
        if a == "emulator" and b == "serve" and "--port" not in words:
            return "pcsc", "starts `simtool emulator serve` on vpcd's own port"
        if a == "--reader" and b is not None and b.startswith("pcsc:"):
            return "pcsc", f"passes --reader {b}..."
        if a == "simtool" and b == "readers":
            return "pcsc", "runs `simtool readers`"
    return None


def _direct_reasons(node: ast.AST) -> dict[str, str]:
    out: dict[str, str] = {}

    def add(marker: str, why: str) -> None:
        out.setdefault(marker, why)

    for n in ast.walk(node):
        imported = ([a.name for a in n.names] if isinstance(n, ast.Import)
                    else [n.module or ""] if isinstance(n, ast.ImportFrom) else [])
        if any(m.split(".")[0] == "smartcard" for m in imported):
            add("pcsc", "imports pyscard")
        elif isinstance(n, ast.List | ast.Tuple):
            found = _sequence_reason(list(n.elts))
            if found:
                add(*found)
        elif isinstance(n, ast.Call):
            name = _callee(n)
            found = _sequence_reason(list(n.args))
            if found:
                add(*found)
            if name in REACHING_CALLS:
                add(REACHING_CALLS[name], f"calls {name}()")
            elif name == "VpcdCardServer" and len(n.args) < 3 and not any(k.arg == "port" for k in n.keywords):
                add("pcsc", "serves a VpcdCardServer on vpcd's own port")
            elif name == "getfixturevalue" and n.args and _text(n.args[0]) in FIXTURE_MARKERS:
                fixture = _text(n.args[0])
                add(FIXTURE_MARKERS[fixture or ""], f"requests {fixture} through getfixturevalue")
            elif name == "connect" and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) \
                    and n.func.value.id == "psycopg":
                add("postgres", "calls psycopg.connect()")
            elif n.args and (first := _text(n.args[0])) is not None:
                if name in ("open_reader", "Reader") and first.startswith("pcsc:"):
                    add("pcsc", f"opens the reader {first}...")
                elif name == "open_ledger" and first.startswith(("postgresql://", "postgres://")):
                    add("postgres", "opens a PostgreSQL ledger")
    return out


def _is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
                isinstance(target, ast.Name) and target.id == "fixture"):
            return True
    return False


def _load(path: Path) -> Module:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    mod = Module(path, tree)
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    mod.assigned[t.id] = stmt.value
                    if t.id == "pytestmark":
                        mod.marks |= _marks_in(stmt.value)
        elif isinstance(stmt, ast.ImportFrom) and (stmt.module or "").startswith("tests"):
            for a in stmt.names:
                mod.imports[a.asname or a.name] = (stmt.module or "", a.name)
        elif isinstance(stmt, ast.Import):
            for a in stmt.names:
                if a.name.startswith("tests."):
                    mod.imports[a.asname or a.name] = (a.name, None)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            mod.funcs[stmt.name] = _func(mod, stmt, None)
        elif isinstance(stmt, ast.ClassDef):
            cmarks = _marks_in(ast.Module(body=[s for s in stmt.body if isinstance(s, ast.Assign)], type_ignores=[]))
            mod.class_marks[stmt.name] = cmarks | set().union(*(_marks_in(d) for d in stmt.decorator_list))
            for s in stmt.body:
                if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef):
                    mod.methods[(stmt.name, s.name)] = _func(mod, s, stmt.name)
    return mod


def _func(mod: Module, node: ast.FunctionDef | ast.AsyncFunctionDef, cls: str | None) -> Func:
    f = Func(mod, node.name, node, cls, _direct_reasons(node), fixture=_is_fixture(node))
    f.marks = set().union(*(_marks_in(d) for d in node.decorator_list))
    return f


class Suite:
    def __init__(self) -> None:
        self.modules = {p: _load(p) for p in sorted(TESTS.rglob("*.py"))}
        self.by_name = {".".join(p.relative_to(TESTS.parent).with_suffix("").parts): m
                        for p, m in self.modules.items()}

    def _module_func(self, module: str, attr: str) -> Func | None:
        m = self.by_name.get(module) or self.by_name.get(f"{module}.{attr}")
        if m is None:
            return None
        return m.funcs.get(attr)

    def callees(self, f: Func) -> Iterator[Func]:
        mod = f.module
        for n in ast.walk(f.node):
            if not isinstance(n, ast.Call):
                continue
            target: Func | None = None
            if isinstance(n.func, ast.Name):
                name = n.func.id
                target = mod.funcs.get(name)
                if target is None and name in mod.imports:
                    module, attr = mod.imports[name]
                    target = self._module_func(module, attr or name)
            elif isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name):
                base, attr = n.func.value.id, n.func.attr
                if base == "self" and f.cls:
                    target = mod.methods.get((f.cls, attr))
                elif base in mod.imports:
                    module, sub = mod.imports[base]
                    target = self._module_func(f"{module}.{sub}" if sub else module, attr)
            if target is not None and not target.fixture:
                yield target

    def fixture(self, mod: Module, name: str) -> Func | None:
        f = mod.funcs.get(name)
        if f is not None and f.fixture:
            return f
        d = mod.path.parent
        while d == TESTS or TESTS in d.parents:
            conf = self.modules.get(d / "conftest.py")
            if conf is not None and (f := conf.funcs.get(name)) is not None and f.fixture:
                return f
            d = d.parent
        return None

    def requested(self, f: Func) -> list[str]:
        args = f.node.args
        names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")]
        for d in f.node.decorator_list:
            if isinstance(d, ast.Call) and _callee(d) == "usefixtures":
                names += [t for t in map(_text, d.args) if t]
        return names

    def judge(self, test: Func) -> tuple[dict[str, str], set[str]]:
        """(marker -> the way in it takes, markers it carries)."""
        reasons: dict[str, str] = {}
        marks = set(test.marks) | test.module.marks | test.module.class_marks.get(test.cls or "", set())
        seen: set[int] = set()
        todo = [(test, "")]
        while todo:
            f, via = todo.pop()
            if id(f) in seen:
                continue
            seen.add(id(f))
            for marker, why in f.reasons.items():
                reasons.setdefault(marker, why + via)
            if f.fixture:
                marks |= f.marks
                for d in f.node.decorator_list:  # params=NAME: the marks of pytest.param(...) in NAME
                    for kw in d.keywords if isinstance(d, ast.Call) else []:
                        if kw.arg == "params":
                            value = kw.value
                            if isinstance(value, ast.Name):
                                value = f.module.assigned.get(value.id, value)
                            marks |= _marks_in(value)
            todo += [(c, f" (through {c.name})") for c in self.callees(f)]
            if f is test or f.fixture:
                for name in self.requested(f):
                    if name in FIXTURE_MARKERS:
                        marks.add(FIXTURE_MARKERS[name])
                    elif (fx := self.fixture(f.module, name)) is not None:
                        todo.append((fx, f" (through the fixture {name})"))
        return reasons, marks

    def tests(self) -> Iterator[Func]:
        for path, mod in self.modules.items():
            if not path.name.startswith("test_"):
                continue
            yield from (f for f in mod.funcs.values() if f.name.startswith("test_") and not f.fixture)
            yield from (f for (cls, name), f in mod.methods.items() if cls.startswith("Test")
                        and name.startswith("test_"))


def _findings() -> tuple[list[str], set[str]]:
    suite = Suite()
    missing, excused = [], set()
    for test in suite.tests():
        reasons, marks = suite.judge(test)
        for marker, why in sorted(reasons.items()):
            if marker in marks:
                continue
            if test.test_id in NOT_REACHING:
                excused.add(test.test_id)
                continue
            missing.append(f"{test.test_id}: {why}, without the {marker} marker")
    return missing, excused


def test_every_test_that_reaches_a_service_carries_its_marker() -> None:
    missing, excused = _findings()
    assert missing == []
    assert sorted(set(NOT_REACHING) - excused) == []  # stale excuses: the test no longer names a way in


def test_the_walk_finds_each_way_in(tmp_path: Path) -> None:
    """The check itself: each way in, unmarked, is found; marked or through the plugin's fixture, it is not."""
    src = '''
import pytest
from simtool.testing.pcscd import emulated_reader

def _helper():
    with emulated_reader():
        pass

@pytest.fixture(params=["sqlite", "pg"])
def url(request):
    return request.getfixturevalue("postgres_url")

@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.postgres)])
def url_marked(request):
    return request.getfixturevalue("postgres_url")

def test_helper():
    _helper()

@pytest.mark.pcsc
def test_helper_marked():
    _helper()

def test_serve():
    run(["simtool", "emulator", "serve", "card.json"])

def test_serve_to_a_fake_vpcd():
    run(["simtool", "emulator", "serve", "--port", "1234", "card.json"])

def test_reader():
    run(["simtool", "read", "--reader", "pcsc:0"])

def test_pyscard():
    import smartcard.System

def test_fixture_by_name(pcsc_card):
    import smartcard.System

def test_dynamic(url):
    pass

def test_dynamic_marked(url_marked):
    pass
'''
    tree = ast.parse(src)
    mod = Module(tmp_path / "test_x.py", tree)
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            mod.funcs[stmt.name] = _func(mod, stmt, None)
    suite = Suite.__new__(Suite)
    suite.modules, suite.by_name = {mod.path: mod}, {}
    verdicts = {}
    for name, f in mod.funcs.items():
        if name.startswith("test_"):
            reasons, marks = suite.judge(f)
            verdicts[name] = sorted(m for m in reasons if m not in marks)
    assert verdicts == {
        "test_helper": ["pcsc"], "test_helper_marked": [], "test_serve": ["pcsc"], "test_serve_to_a_fake_vpcd": [],
        "test_reader": ["pcsc"], "test_pyscard": ["pcsc"], "test_fixture_by_name": [], "test_dynamic": ["postgres"],
        "test_dynamic_marked": [],
    }

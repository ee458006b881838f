"""One generic test: every published vector of every simtool.crypto module, field by field."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from types import ModuleType

import pytest

import simtool.crypto
from simtool.crypto.vector import Vector


def _vector_modules() -> list[ModuleType]:
    modules = []
    for info in pkgutil.iter_modules(simtool.crypto.__path__):
        module = importlib.import_module(f"simtool.crypto.{info.name}")
        if hasattr(module, "VECTORS"):
            modules.append(module)
    return modules


MODULES = {m.__name__.rsplit(".", 1)[1]: m for m in _vector_modules()}
CASES = [
    pytest.param(name, index, field, id=f"{name}:{vector.name}:{field}")
    for name, module in MODULES.items()
    for index, vector in enumerate(module.VECTORS)
    for field in vector.outputs
]


@functools.cache
def _computed(module_name: str, index: int) -> dict[str, bytes]:
    module = MODULES[module_name]
    return module.run_vector(module.VECTORS[index])


def test_every_algorithm_module_has_vectors() -> None:
    assert {"aka", "gsm", "keccak", "milenage", "tuak", "xor"} <= set(MODULES)
    for name, module in MODULES.items():
        assert module.VECTORS, name
        assert all(isinstance(v, Vector) for v in module.VECTORS), name
        assert callable(module.run_vector), name


@pytest.mark.parametrize(("module_name", "index", "field"), CASES)
def test_vector_field(module_name: str, index: int, field: str) -> None:
    vector = MODULES[module_name].VECTORS[index]
    computed = _computed(module_name, index)
    assert field in computed, f"{module_name}.run_vector does not compute {field!r}"
    assert computed[field].hex() == vector.output(field).hex()


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_vector_names_are_unique(module_name: str) -> None:
    names = [v.name for v in MODULES[module_name].VECTORS]
    assert len(names) == len(set(names))

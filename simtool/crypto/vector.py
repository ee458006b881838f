"""Published test vectors, kept beside the code they check.

Each algorithm module exposes `VECTORS: list[Vector]` and `run_vector(v) -> dict[str, bytes]`; one generic
test walks every module and compares each published output field with what the code computes, so a new
vector is one entry in a list and a failure names the module, the vector and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Vector:
    """One published test case: hex inputs, hex expected outputs, and plain parameters (lengths, modes)."""

    name: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    params: Mapping[str, int | str] = field(default_factory=dict)

    def input(self, key: str) -> bytes:
        return bytes.fromhex(self.inputs[key])

    def output(self, key: str) -> bytes:
        return bytes.fromhex(self.outputs[key])

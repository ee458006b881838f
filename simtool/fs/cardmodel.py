"""Card models: a card family's ATR, its proprietary key and PIN files, and its file sizes.

The standard tree (`simtool.fs.tree`) says what files exist; a card model says how big they are on a
given family and where that family keeps K/OPc and the PINs. Rendering pads to the model's sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from simtool.fs import tree
from simtool.fs.model import DF, EF, FileSystem


@dataclass(frozen=True)
class CardModel:
    name: str
    description: str
    atr_t0: bytes
    atr_t1: bytes
    # extra (proprietary) EFs per DF path, and size overrides per EF path
    extra_files: dict[str, tuple[EF, ...]] = field(default_factory=dict)
    sizes: dict[str, int | tuple[int, int]] = field(default_factory=dict)
    adm_tries: int = 3
    pin_tries: int = 3
    puk_tries: int = 10

    @cached_property
    def fs(self) -> FileSystem:
        root = self._build(tree.MF, "MF")
        fs = FileSystem(root)
        # Size both EF.ARR files to hold every rule the tree's access sets need.
        rules = fs.arr_rules()
        rec_len = max(len(tree.C.ARR_RECORD.encode(r)) for r in rules)
        arr_size = (max(rec_len, 16), len(rules))
        root = self._build(tree.MF, "MF", arr_size)
        return FileSystem(root)

    def _build(self, df: DF, path: str, arr_size: tuple[int, int] | None = None) -> DF:
        children: list[EF | DF] = []
        for child in df.children + self.extra_files.get(path, ()):
            cpath = f"{path}/{child.name}"
            if isinstance(child, DF):
                children.append(self._build(child, cpath, arr_size))
                continue
            if child.name == "EF.ARR" and arr_size is not None:
                child = child.resized(arr_size)
            if cpath in self.sizes:
                child = child.resized(self.sizes[cpath])
            children.append(child)
        return replace(df, children=tuple(children))

    def matches_atr(self, atr: bytes) -> bool:
        return atr in (self.atr_t0, self.atr_t1)


def _atr(protocols: str) -> bytes:
    """An ATR with historical bytes "simtool" and a valid TCK (ISO/IEC 7816-3 §8.2)."""
    hist = b"simtool"
    if protocols == "T=0":
        # TS, T0 (TD1 present, K=7), TD1: T=0 only
        body = bytes([0x80 | len(hist), 0x00]) + hist
        return b"\x3b" + body  # T=0 only: no TCK
    # T0 (TA1, TD1 present), TA1 = 96, TD1 = 81 (T=1, TD2 present), TD2 = 31 (TA3, TB3, T=1)
    body = bytes([0x90 | len(hist), 0x96, 0x81, 0x31, 0xFE, 0x45]) + hist
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


SIMTOOL_EMU = CardModel(
    name="simtool-emu",
    description="simtool's emulated UICC/USIM",
    atr_t0=_atr("T=0"),
    atr_t1=_atr("T=1"),
    extra_files={"MF": (tree.AUTH_KEY, tree.PINS)},
)

MODELS: dict[str, CardModel] = {SIMTOOL_EMU.name: SIMTOOL_EMU}
DEFAULT_MODEL = SIMTOOL_EMU


def model_for_atr(atr: bytes) -> CardModel | None:
    for m in MODELS.values():
        if m.matches_atr(atr):
            return m
    return None

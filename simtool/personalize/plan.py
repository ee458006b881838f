"""The write plan: the fewest APDUs that put a card image on a card (DESIGN.md §6), sans I/O.

SFI addressing where the file has one, SELECT with P2=0C only for DFs and for EFs without an SFI,
each DF visited once, UPDATEs of at most 255 bytes, records that hold nothing skipped on blank cards.
The same module computes the lower bound the benchmark compares against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simtool.commands import uicc
from simtool.commands.apdu import Apdu
from simtool.fs.model import EF, Entry, FileSystem

MAX_UPDATE = 255


@dataclass(frozen=True)
class Step:
    apdu: Apdu
    path: str  # the file this step writes (or selects)
    kind: str  # "select_df" | "select_ef" | "update"


def df_select(fs: FileSystem, df_path: str) -> Apdu:
    entry = fs[df_path]
    df = entry.df
    if df.aid is not None:
        return uicc.select_aid(df.aid, fcp=False)
    if df_path == "MF":
        return uicc.select_mf(fcp=False)
    return uicc.select_path(list(entry.fid_path[1:]), fcp=False)


def group_by_df(fs: FileSystem, paths: list[str]) -> dict[str, list[Entry]]:
    """Files grouped by DF, DFs in tree order with MF first (selected after reset already)."""
    groups: dict[str, list[Entry]] = {}
    for entry in fs.efs():  # tree order
        if entry.path in paths:
            groups.setdefault(entry.df_path, []).append(entry)
    return groups


def file_steps(entry: Entry, content: bytes | list[bytes], skip_blank_records: bool) -> list[Step]:
    ef: EF = entry.ef
    steps: list[Step] = []
    sfi = ef.sfi
    if sfi is None:
        steps.append(Step(uicc.select_fid(ef.fid, fcp=False), entry.path, "select_ef"))
    if isinstance(content, list):
        for i, rec in enumerate(content, 1):
            if skip_blank_records and rec == b"\xff" * len(rec):
                continue
            steps.append(Step(uicc.update_record(i, rec, sfi=sfi), entry.path, "update"))
        return steps
    for off in range(0, len(content), MAX_UPDATE):
        chunk = content[off : off + MAX_UPDATE]
        # SFI addressing takes an 8-bit offset and makes the file current; later chunks use offsets.
        use_sfi = sfi if off == 0 else None
        steps.append(Step(uicc.update_binary(off, chunk, sfi=use_sfi), entry.path, "update"))
    return steps


def write_plan(fs: FileSystem, files: dict[str, bytes | list[bytes]], current_df: str = "MF",
               skip_blank_records: bool = True) -> list[Step]:
    steps: list[Step] = []
    groups = group_by_df(fs, list(files))
    if current_df in groups:  # start where the card already is
        groups = {current_df: groups.pop(current_df), **groups}
    for df_path, entries in groups.items():
        if df_path != current_df:
            steps.append(Step(df_select(fs, df_path), df_path, "select_df"))
            current_df = df_path
        for entry in entries:
            steps += file_steps(entry, files[entry.path], skip_blank_records)
    return steps


def lower_bound(fs: FileSystem, files: dict[str, bytes | list[bytes]], skip_blank_records: bool = True) -> int:
    """DESIGN.md §6: ADM retry query + VERIFY; one SELECT per DF visited (MF is current after reset);
    ceil(size/255) UPDATEs per transparent file (+1 SELECT without SFI); one UPDATE RECORD per record."""
    n = 2
    for df_path, entries in group_by_df(fs, list(files)).items():
        if df_path != "MF":
            n += 1
        for entry in entries:
            content = files[entry.path]
            if entry.ef.sfi is None:
                n += 1
            if isinstance(content, list):
                n += sum(1 for r in content if not (skip_blank_records and r == b"\xff" * len(r)))
            else:
                n += math.ceil(len(content) / MAX_UPDATE)
    return n

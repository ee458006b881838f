"""The write plan: the fewest APDUs that put a card image on a card (DESIGN.md §6), sans I/O.

SFI addressing where the file has one, SELECT with P2=0C only for DFs and for EFs without an SFI,
each DF visited once, UPDATEs of at most 255 bytes, records that hold nothing skipped on blank cards.
A plan may name a file that must be written before every other (`first`: the flasher's EF.ICCID, so that
a card holding any part of an identity can be recognised by its ICCID). The same module computes the
lower bound the benchmark compares against, under the same ordering rule.
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
    """The APDUs that write one file: its SELECT (only without an SFI, and only when something is written)
    and its UPDATEs. Empty when nothing needs writing (every record blank on a blank card)."""
    ef: EF = entry.ef
    updates: list[Step] = []
    sfi = ef.sfi
    if isinstance(content, list):
        for i, rec in enumerate(content, 1):
            if skip_blank_records and rec == b"\xff" * len(rec):
                continue
            updates.append(Step(uicc.update_record(i, rec, sfi=sfi), entry.path, "update"))
    else:
        for off in range(0, len(content), MAX_UPDATE):
            chunk = content[off : off + MAX_UPDATE]
            # SFI addressing takes an 8-bit offset and makes the file current; later chunks use offsets.
            use_sfi = sfi if off == 0 else None
            updates.append(Step(uicc.update_binary(off, chunk, sfi=use_sfi), entry.path, "update"))
    if not updates or sfi is not None:
        return updates
    return [Step(uicc.select_fid(ef.fid, fcp=False), entry.path, "select_ef"), *updates]


def _lead_df(fs: FileSystem, files: dict[str, bytes | list[bytes]], first: str | None,
             skip_blank_records: bool) -> str | None:
    """The DF the writes must begin in: `first`'s, when that file has something to write."""
    if first is None or first not in files or not file_steps(fs[first], files[first], skip_blank_records):
        return None
    return fs[first].df_path


def write_plan(fs: FileSystem, files: dict[str, bytes | list[bytes]], current_df: str = "MF",
               skip_blank_records: bool = True, first: str | None = None) -> list[Step]:
    """Every DF with something to write is visited once (the current one first, or `first`'s DF when
    that file has something to write: then `first` is the plan's first UPDATE); a DF whose files need
    no UPDATE is not selected at all."""
    steps: list[Step] = []
    groups = group_by_df(fs, list(files))
    lead = _lead_df(fs, files, first, skip_blank_records) or current_df
    if first is not None and lead in groups:
        groups[lead] = sorted(groups[lead], key=lambda e: e.path != first)  # stable: `first`, then tree order
    if lead in groups:  # start where the card already is (or must go first)
        groups = {lead: groups.pop(lead), **groups}
    for df_path, entries in groups.items():
        df_steps = [s for entry in entries for s in file_steps(entry, files[entry.path], skip_blank_records)]
        if not df_steps:
            continue
        if df_path != current_df:
            steps.append(Step(df_select(fs, df_path), df_path, "select_df"))
            current_df = df_path
        steps += df_steps
    return steps


def lower_bound(fs: FileSystem, files: dict[str, bytes | list[bytes]], skip_blank_records: bool = True,
                *, start_df: str = "MF", first: str | None = None) -> int:
    """DESIGN.md §6: ADM retry query + VERIFY; one SELECT per DF visited, except the DF the card is in when
    the writes begin (`start_df`; the MF after a reset); ceil(size/255) UPDATEs per transparent file (+1
    SELECT without SFI); one UPDATE RECORD per record written. A file (or DF) with nothing to write is not
    visited. When `first` must be written before every other file and lies in another DF, the writes leave
    `start_df` before writing anything there, so coming back to it costs its SELECT too: no DF is free."""
    n = 2
    counts: dict[str, int] = {}
    for df_path, entries in group_by_df(fs, list(files)).items():
        df_n = 0
        for entry in entries:
            content = files[entry.path]
            if isinstance(content, list):
                updates = sum(1 for r in content if not (skip_blank_records and r == b"\xff" * len(r)))
            else:
                updates = math.ceil(len(content) / MAX_UPDATE)
            if updates:
                df_n += updates + (1 if entry.ef.sfi is None else 0)
        if df_n:
            counts[df_path] = df_n
    lead = _lead_df(fs, files, first, skip_blank_records)
    free = start_df if lead in (None, start_df) else None
    return n + sum(df_n + (1 if df_path != free else 0) for df_path, df_n in counts.items())

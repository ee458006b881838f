"""Per-card identities from a CSV file with a header (pySim's card-data column names accepted).

Columns: iccid, imsi, ki, opc (or op), adm1 / pin_adm (ASCII digits) or pin_adm_hex / adm1_hex (hex),
pin1, puk1, pin2, puk2, msisdn. Rows are numbered from 1 after the header; errors name FILE:LINE (the line
where the record starts). Read as a stream through `simtool.inputs.CsvReader` (field and line limits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simtool.errors import InputError
from simtool.inputs import CsvReader

ALIASES = {
    "iccid": "iccid", "imsi": "imsi", "ki": "ki", "k": "ki", "opc": "opc", "op": "op",
    "adm1": "adm1_digits", "pin_adm": "adm1_digits", "adm": "adm1_digits",
    "pin_adm_hex": "adm1_hex", "adm1_hex": "adm1_hex", "adm_hex": "adm1_hex",
    "pin1": "pin1", "puk1": "puk1", "pin2": "pin2", "puk2": "puk2", "msisdn": "msisdn",
}


def read_rows(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, {canonical column: value}) for every data row; unknown columns are an error."""
    rows_in = iter(CsvReader(path))  # streamed, with field and line limits; errors FILE:LINE: field: reason
    try:
        _, header = next(rows_in)
    except StopIteration:
        raise InputError(f"{path}:1: (header): the file is empty") from None
    cols: list[str] = []
    errors = []
    for name in header:
        key = name.strip().lower()
        if key not in ALIASES:
            errors.append(f"{path}:1: {name}: unknown column (known: {', '.join(sorted(ALIASES))})")
        elif ALIASES[key] in cols:  # e.g. ki twice, or ki and k: which one would be written?
            errors.append(f"{path}:1: {name}: column given twice (as {header[cols.index(ALIASES[key])]!r} too)")
        cols.append(ALIASES.get(key, key))
    if errors:
        raise InputError(errors)
    rows = []
    for lineno, row in rows_in:
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(cols):
            raise InputError(f"{path}:{lineno}: (row): {len(row)} fields, the header has {len(cols)}")
        rows.append((lineno, {c: v.strip() for c, v in zip(cols, row, strict=True) if v.strip() != ""}))
    return rows


def identity_kwargs(path: str | Path, lineno: int, row: dict[str, str],
                    overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    kw: dict[str, Any] = dict(row)
    kw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    kw["source"] = f"{path}:{lineno}"
    return kw


def row_by_number(path: str | Path, n: int) -> tuple[int, dict[str, str]]:
    rows = read_rows(path)
    if not 1 <= n <= len(rows):
        last = rows[-1][0] if rows else 1  # the last data row's line (the header's when there is none)
        raise InputError(f"{path}:{last}: --row {n}: the file has {len(rows)} data rows")
    return rows[n - 1]


def row_by_iccid(path: str | Path, iccid: str) -> tuple[int, dict[str, str]]:
    hits = [(ln, r) for ln, r in read_rows(path) if r.get("iccid") == iccid]
    if not hits:
        raise InputError(f"{path}: no row has the card's ICCID {iccid}")
    if len(hits) > 1:
        raise InputError(f"{path}: ICCID {iccid} appears on lines {', '.join(str(h[0]) for h in hits)}")
    return hits[0]

"""The card vendor's file (`batch create --input vendor.csv`): the ADM1 key of each card, and the ICCID when
the vendor pre-printed it. Columns are in docs/batch.md; errors are `FILE:LINE: column: reason`, and never
echo an ADM1 value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simtool.errors import InputError
from simtool.inputs import CsvReader
from simtool.profile.identity import adm_from_digits, adm_from_hex
from simtool.profile.luhn import luhn_digit, luhn_ok

COLUMNS = {
    "iccid": "iccid",
    "adm1": "adm1", "pin_adm": "adm1", "adm": "adm1",
    "adm1_hex": "adm1_hex", "pin_adm_hex": "adm1_hex", "adm_hex": "adm1_hex",
}


@dataclass(frozen=True, repr=False)
class VendorCards:
    """One entry per card, in file order: ICCIDs (all or none) and ADM1 keys."""

    path: str
    iccids: list[str] | None
    adms: list[bytes]

    @property
    def single_adm(self) -> bytes | None:
        """The ADM1 when every card has the same one (then the batch has one vendor key)."""
        return self.adms[0] if all(a == self.adms[0] for a in self.adms) else None

    def __repr__(self) -> str:
        return f"VendorCards({self.path}, {len(self.adms)} cards, iccids={'yes' if self.iccids else 'no'})"


def read_vendor_file(path: str | Path) -> VendorCards:
    """Parse and check the whole file; raise one InputError listing every problem."""
    name = str(path)
    rows = iter(CsvReader(path, name))  # streamed (a million cards is fine), field and line limits
    try:
        _, header = next(rows)
    except StopIteration:
        raise InputError(f"{name}:1: (header): the file is empty; expected a header such as iccid,adm1_hex") from None
    problems: list[str] = []
    cols: list[str] = []
    for raw in header:
        key = raw.strip().lower()
        if key not in COLUMNS:
            problems.append(f"{name}:1: {raw.strip() or '(empty)'}: unknown column (known: "
                            f"{', '.join(sorted(COLUMNS))})")
        cols.append(COLUMNS.get(key, key))
    for col in set(cols):
        if cols.count(col) > 1:
            problems.append(f"{name}:1: {col}: given twice (aliases count as the same column)")
    has_iccid = "iccid" in cols
    adm_cols = [c for c in ("adm1", "adm1_hex") if c in cols]
    if len(adm_cols) != 1:
        problems.append(f"{name}:1: adm1: the header needs exactly one ADM1 column, adm1 (ASCII digits) or "
                        f"adm1_hex (16 hex digits); found {len(adm_cols)}")
    if problems:
        raise InputError(problems)
    adm_col = adm_cols[0]
    iccids: list[str] = []
    adms: list[bytes] = []
    seen: dict[str, int] = {}
    for lineno, row in rows:
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(cols):
            problems.append(f"{name}:{lineno}: (row): {len(row)} fields, the header has {len(cols)}")
            continue
        values = {c: v.strip() for c, v in zip(cols, row, strict=True)}
        if has_iccid:
            iccid = values["iccid"]
            if not (iccid.isascii() and iccid.isdigit()) or len(iccid) not in (19, 20):
                problems.append(f"{name}:{lineno}: iccid: must be 19 or 20 digits with the Luhn check digit, "
                                f"got {iccid!r}")
            elif not luhn_ok(iccid):
                problems.append(f"{name}:{lineno}: iccid: check digit {iccid[-1]} of {iccid} is wrong: the Luhn "
                                f"digit of {iccid[:-1]} is {luhn_digit(iccid[:-1])}")
            elif iccid in seen:
                problems.append(f"{name}:{lineno}: iccid: {iccid} appears already on line {seen[iccid]}")
            else:
                seen[iccid] = lineno
            iccids.append(iccid)
        try:
            value = values[adm_col]
            adms.append(adm_from_hex(value) if adm_col == "adm1_hex" else adm_from_digits(value))
        except ValueError as e:
            problems.append(f"{name}:{lineno}: {adm_col}: {e}")
    if not problems and not adms:
        problems.append(f"{name}:2: (rows): the file lists no cards")
    if problems:
        raise InputError(problems)
    cards = VendorCards(name, iccids if has_iccid else None, adms)
    if cards.iccids is None and cards.single_adm is None:
        raise InputError(f"{name}:1: iccid: the ADM1 keys differ from card to card, so the cards must be told "
                         "apart by their pre-printed ICCIDs: add the iccid column")
    return cards

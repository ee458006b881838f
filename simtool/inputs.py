"""Bounded input (DESIGN.md §4): files read with a size limit, CSV read as a stream with field and line
limits. Past a limit, an `InputError` that names the file (and line, and field) and shows none of the content,
so a hostile or mistaken file costs milliseconds, never memory or a traceback. Stdlib only: every layer
that reads a user's file uses these (profiles, card data, vendor files, key and secret files).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from typing import BinaryIO

from simtool.errors import InputError

MAX_CSV_FIELD = 1024  # characters; the longest real field (a Ki, an ICCID, a name) is under 100
MAX_CSV_LINE = 16 * 1024  # characters per physical line
MAX_SECRET_FILE = 4096  # bytes; a key or PIN file holds one short line


def read_bounded(path: str | os.PathLike[str], limit: int, label: str, *, hint: str = "",
                 kind: str = "file") -> bytes:
    """The file's bytes, reading no more than `limit` + 1; InputError `LABEL: reason` when it cannot be
    read or is larger than `limit` (`/dev/zero` included). `kind` names the file in messages ("key file")."""
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{label}: cannot read: no such {kind}") from None
    except IsADirectoryError:
        raise InputError(f"{label}: is a directory, not a {kind}") from None
    except OSError as e:
        raise InputError(f"{label}: cannot read: {e.strerror or e}") from None
    if len(raw) > limit:
        raise InputError(f"{label}: larger than {limit} bytes, the limit{hint}")
    return raw


class CsvReader:
    """Rows of a UTF-8 CSV file (a BOM allowed) as `(line, fields)`, streamed: `line` is the 1-based line where
    the record starts, also after a quoted field that spans lines. The first record is `header`.

    Refused with `FILE:LINE: field: reason` (exit 2): a line longer than `max_line` characters, a field longer
    than `max_field` (named by its header column), text that is not UTF-8, and what the csv module refuses."""

    def __init__(self, path: str | os.PathLike[str], label: str | None = None, *, max_field: int = MAX_CSV_FIELD,
                 max_line: int = MAX_CSV_LINE) -> None:
        self.path = path
        self.label = label or os.fspath(path)
        self.max_field, self.max_line = max_field, max_line
        self.header: list[str] | None = None
        self._physical = 0  # physical lines handed to the csv module

    def _lines(self, f: BinaryIO) -> Iterator[str]:
        first = True
        while True:
            raw = f.readline(4 * self.max_line + 2)  # UTF-8: at most 4 bytes a character
            if not raw:
                return
            self._physical += 1
            try:
                text = raw.decode("utf-8-sig" if first else "utf-8")
            except UnicodeDecodeError as e:  # UTF-16 from a spreadsheet, Latin-1, a binary file
                raise InputError(f"{self.label}:{self._physical}: (file): not UTF-8 text (byte 0x{raw[e.start]:02X}); "
                                 "save the file as UTF-8 CSV") from None
            first = False
            if len(text.rstrip("\r\n")) > self.max_line:
                raise InputError(f"{self.label}:{self._physical}: (line): longer than {self.max_line} characters, "
                                 "the limit for a line")
            yield text

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed below; errors must name the file
        except FileNotFoundError:
            raise InputError(f"{self.label}: no such file") from None
        except OSError as e:
            raise InputError(f"{self.label}: cannot read: {e.strerror or e}") from None
        with f:
            reader = csv.reader(self._lines(f))
            while True:
                start = self._physical + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    if "field larger than field limit" in str(e):
                        raise InputError(f"{self.label}:{start}: (field): longer than {self.max_field} characters, "
                                         "the limit for a field") from None
                    raise InputError(f"{self.label}:{start}: (row): not CSV: {e}") from None
                for i, value in enumerate(row):
                    if len(value) > self.max_field:
                        raise InputError(f"{self.label}:{start}: {self._column(i)}: {len(value)} characters, longer "
                                         f"than {self.max_field}, the limit for a field")
                if self.header is None:
                    self.header = row
                yield start, row

    def _column(self, i: int) -> str:
        if self.header is None:
            return "(header)"
        return self.header[i].strip() if i < len(self.header) and self.header[i].strip() else f"(field {i + 1})"

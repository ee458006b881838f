"""The operator's output file (docs/export-format.md) and its reader.

Text, UTF-8, one header block of ``# key: value`` lines, a CSV header, one row per verified card, and a
closing ``# mac:`` line. ICCID, IMSI and MSISDN are in the clear; every secret column is hex of
nonce || AES-GCM ciphertext || tag under the transport key with the ICCID (ASCII) as associated data. The
MAC (HMAC-SHA256 under a key derived from the transport key) covers every byte before it, so rows cannot
be dropped, reordered or swapped between columns unnoticed.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from simtool.batch.keys import SECRET_FIELDS, CardSecrets, Sealer
from simtool.batch.ledger import EV_EXPORTED, VERIFIED, BatchRecord, Ledger
from simtool.crypto.secrets import SecretError, kcv
from simtool.errors import InputError

FORMAT = "simtool-export"
VERSION = 1
CLEAR_FIELDS = ("iccid", "imsi", "msisdn")
COLUMNS = CLEAR_FIELDS + SECRET_FIELDS
HEADER_KEYS = ("format", "version", "batch", "profile", "profile_sha256", "count", "kcv", "simtool_version",
               "created", "batch_created")


def mac_key(key: bytes) -> bytes:
    """The export MAC key: HKDF-SHA256(transport key, info "simtool export mac v1"), so the transport key
    itself is used for one purpose only."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"simtool export mac v1").derive(key)


def write_export(ledger: Ledger, batch: BatchRecord, key: bytes, out: str | os.PathLike[str], *,
                 overwrite: bool = False) -> int:
    """Write the file (0600, atomic) for every verified card; returns the number of rows."""
    from simtool.batch.ledger import now_iso
    from simtool.crypto.secrets import write_secret_file

    sealer = Sealer(key)
    body = io.StringIO()
    w = csv.writer(body, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for row in ledger.rows(batch.id, (VERIFIED,)):
        sec = CardSecrets.unpack(sealer.open(row.secrets, row.iccid))
        w.writerow([row.iccid, row.imsi, row.msisdn or "",
                    *(sealer.seal(sec.field_bytes(f), row.iccid).hex() for f in SECRET_FIELDS)])
        n += 1
    head = {"format": FORMAT, "version": VERSION, "batch": batch.id, "profile": batch.profile_name,
            "profile_sha256": batch.profile_sha256, "count": n, "kcv": sealer.kcv,
            "simtool_version": batch.simtool_version, "created": now_iso(), "batch_created": batch.created}
    text = "".join(f"# {k}: {head[k]}\n" for k in HEADER_KEYS) + body.getvalue()
    data = text.encode("utf-8")
    tag = hmac.new(mac_key(key), data, hashlib.sha256).hexdigest()
    write_secret_file(out, data + f"# mac: {tag}\n".encode(), overwrite=overwrite)
    ledger.add_event(batch.id, EV_EXPORTED, f"{n} verified cards to {os.path.abspath(out)} (KCV {sealer.kcv})")
    return n


@dataclass
class ExportFile:
    header: dict[str, str]
    rows: list[dict[str, str]] = field(default_factory=list)  # sealed values as hex

    def decrypt(self, key: bytes) -> Iterator[dict[str, str]]:
        """Rows in the clear (asked for by name: `batch decrypt`)."""
        sealer = Sealer(key)
        for r in self.rows:
            clear = {f: r[f] for f in CLEAR_FIELDS}
            for f in SECRET_FIELDS:
                value = sealer.open(bytes.fromhex(r[f]), r["iccid"])
                clear[f] = value.hex() if f not in ("pin1", "puk1", "pin2", "puk2") else value.decode("ascii")
            yield clear

    def summary(self) -> dict[str, Any]:
        return {**self.header, "rows": len(self.rows)}


def read_export(path: str | os.PathLike[str], key: bytes) -> ExportFile:
    """Parse and authenticate an export; InputError (exit 2) for a malformed file or another batch's key,
    SecretError (exit 1) when the MAC or a sealed value does not verify."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{name}: cannot read: {e.strerror}") from None
    body, sep, last = data.rstrip(b"\n").rpartition(b"\n")
    if not sep or not last.startswith(b"# mac: "):
        raise InputError(f"{name}: no closing '# mac:' line; not a complete simtool export")
    body += b"\n"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    header: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].startswith("# "):
        k, _, v = lines[i][2:].partition(": ")
        header[k] = v
        i += 1
    if header.get("format") != FORMAT:
        raise InputError(f"{name}:1: format: not a simtool export")
    if header.get("version") != str(VERSION):
        raise InputError(f"{name}:2: version: {header.get('version')} (this simtool reads {VERSION})")
    if header.get("kcv") != kcv(key):
        raise InputError(f"{name}: the file is sealed under transport key KCV {header.get('kcv')}, "
                         f"the key given has KCV {kcv(key)}")
    want = hmac.new(mac_key(key), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, last[len(b"# mac: "):].decode("ascii", "replace").strip()):
        raise SecretError(f"{name}: the MAC does not verify: the file was altered or truncated")
    reader = csv.reader(lines[i:])
    cols = next(reader, None)
    if cols is None or tuple(cols) != COLUMNS:
        raise InputError(f"{name}:{i + 1}: (header): expected columns {','.join(COLUMNS)}")
    rows = []
    for lineno, values in enumerate(reader, start=i + 2):
        if len(values) != len(COLUMNS):
            raise InputError(f"{name}:{lineno}: (row): {len(values)} fields, expected {len(COLUMNS)}")
        rows.append(dict(zip(COLUMNS, values, strict=True)))
    if header.get("count") != str(len(rows)):
        raise InputError(f"{name}: count: the header says {header.get('count')}, the file has {len(rows)} rows")
    return ExportFile(header, rows)

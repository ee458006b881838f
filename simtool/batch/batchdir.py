"""DIR/batch.json: what a batch directory points at (its batch id, ledger URL and transport key file).

It holds no secret: the ledger URL is stored without a password and the key by its path and KCV, so
`batch run DIR` needs no flags to find them, and a copied directory leaks nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from simtool.errors import InputError

FILE = "batch.json"
FORMAT = "simtool-batch-dir"


@dataclass(frozen=True)
class BatchDir:
    path: str
    batch_id: str
    ledger: str
    transport_key: str | None
    kcv: str
    profile: str
    created: str

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BatchDir:
        f = Path(path) / FILE
        try:
            doc = json.loads(f.read_text())
        except FileNotFoundError:
            raise InputError(f"{path}: not a batch directory (no {FILE}); make one with `simtool batch create`") \
                from None
        except (OSError, ValueError) as e:
            raise InputError(f"{f}: cannot read: {e}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise InputError(f"{f}: not a simtool batch file")
        try:
            return cls(path=str(path), **{k: doc[k] for k in ("batch_id", "ledger", "transport_key", "kcv",
                                                               "profile", "created")})
        except KeyError as e:
            raise InputError(f"{f}: missing {e.args[0]}") from None

    def save(self) -> None:
        """Atomically, so a crash leaves the old file or the new one."""
        d = Path(self.path)
        d.mkdir(parents=True, exist_ok=True)
        doc = {"format": FORMAT, "version": 1, **{k: v for k, v in asdict(self).items() if k != "path"}}
        tmp = d / f".{FILE}.tmp"
        with open(tmp, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, d / FILE)

"""`simtool files`: the file-system model as a table."""

from __future__ import annotations

import argparse
from typing import Any

from simtool.cli.common import emit_json
from simtool.fs import EF, access
from simtool.fs.cardmodel import DEFAULT_MODEL, MODELS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("files", help="the file-system model: path, FID, SFI, structure, size, access")
    p.add_argument("--json", action="store_true")
    p.add_argument("--model", default=DEFAULT_MODEL.name, choices=sorted(MODELS))
    p.set_defaults(func=cmd_files)


def rows(model_name: str) -> list[dict[str, Any]]:
    fs = MODELS[model_name].fs
    out = []
    for e in fs.walk():
        n = e.node
        row: dict[str, Any] = {"path": e.path, "fid": f"{n.fid:04X}"}
        if isinstance(n, EF):
            row.update({
                "sfi": None if n.sfi is None else f"{n.sfi:02X}",
                "structure": n.structure,
                "size": n.body_size,
                "record_length": n.record_length or None,
                "record_count": n.record_count or None,
                "read": access.names(n.read),
                "update": access.names(n.update),
                "description": n.description,
            })
        else:
            row.update({"structure": "adf" if n.aid else "df", "aid": n.aid.hex().upper() if n.aid else None,
                        "description": n.description})
        out.append(row)
    return out


def cmd_files(args: argparse.Namespace) -> int:
    data = rows(args.model)
    if args.json:
        emit_json({"model": args.model, "files": data})
        return 0
    print(f"{'PATH':40} {'FID':4} {'SFI':3} {'STRUCTURE':12} {'SIZE':>9}  {'READ':10} UPDATE")
    for r in data:
        if r["structure"] in ("df", "adf"):
            extra = f"  AID {r['aid']}" if r.get("aid") else ""
            print(f"{r['path']:40} {r['fid']:4} {'':3} {r['structure'].upper():12} {'':>9}{extra}")
            continue
        size = f"{r['record_count']}x{r['record_length']}" if r["record_length"] else str(r["size"])
        rd = "|".join(x.upper() for x in r["read"])
        up = "|".join(x.upper() for x in r["update"])
        print(f"{r['path']:40} {r['fid']:4} {r['sfi'] or '-':3} {r['structure']:12} {size:>9}  {rd:10} {up}")
    return 0

"""`simtool esim build|inspect|unseal|activation-code`: one profile package, the engineer's tool (docs/esim.md).

Keys come as for `flash` (`--ki`, `--ki-file`, `$SIMTOOL_KI`, ...); they go into the package only, never
to stdout or `--json`. Package files are written 0600 and refused over an existing file without --force.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from simtool.cli.cmd_profile import add_identity_args, identity_from_args
from simtool.cli.common import emit_json
from simtool.errors import InputError

ACTIVATION_FORMAT = "LPA:1${host}${matching_id}"  # GSMA SGP.22 activation code, format 1, no options
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)*$")
_MATCHING_ID = re.compile(r"^[A-Za-z0-9-]{1,255}$")
MAX_PACKAGE = 1 << 20  # a package is some KB; a larger file is not one


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from simtool.cli.common import group

    g = group(sub, "esim", "eSIM profile packages (TCA Interoperable Format)")
    b = g.add_parser("build", help="build one profile package (DER) for an identity")
    b.add_argument("--profile", required=True, metavar="PROFILE")
    add_identity_args(b, adm=True, required=True)
    b.add_argument("--out", required=True, metavar="FILE.der")
    b.add_argument("--force", action="store_true", help="replace an existing --out file")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_build)

    i = g.add_parser("inspect", help="list a package's elements, decode its files, check its structure")
    i.add_argument("file", metavar="FILE")
    i.add_argument("--transport-key", metavar="KEY", help="the key file a sealed package (.upp) was sealed with")
    i.add_argument("--show-secrets", action="store_true", help="show K, OPc, PINs and PUKs")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_inspect)

    u = g.add_parser("unseal", help="the DER of a sealed package, for the SM-DP+")
    u.add_argument("file", metavar="FILE")
    u.add_argument("--transport-key", required=True, metavar="KEY")
    u.add_argument("--out", required=True, metavar="FILE.der")
    u.add_argument("--force", action="store_true")
    u.add_argument("--json", action="store_true")
    u.set_defaults(func=cmd_unseal)

    a = g.add_parser("activation-code", help="the activation code a phone scans (LPA:1$SMDP$MATCHING-ID)")
    a.add_argument("--smdp", required=True, metavar="HOST", help="the SM-DP+ address")
    a.add_argument("--matching-id", required=True, metavar="ID")
    a.add_argument("--qr", metavar="FILE.png", help="also write the code as a QR code (PNG)")
    a.add_argument("--force", action="store_true", help="replace an existing --qr file")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_activation_code)


def activation_code(host: str, matching_id: str) -> str:
    if not _HOST.match(host):
        raise InputError(f"--smdp: {host!r} is not a host name")
    if not _MATCHING_ID.match(matching_id):
        raise InputError("--matching-id: 1 to 255 letters, digits or '-'")
    return ACTIVATION_FORMAT.format(host=host, matching_id=matching_id)


def _write_package(path: str, data: bytes, force: bool) -> None:
    from simtool.crypto.secrets import write_secret_file

    write_secret_file(path, data, overwrite=force)


def _read(path: str) -> bytes:
    from simtool.inputs import read_bounded

    return read_bounded(Path(path), MAX_PACKAGE, path, kind="package")


def cmd_build(args: argparse.Namespace) -> int:
    from simtool.cli.common import secret
    from simtool.esim import build
    from simtool.profile.load import load_profile

    profile = load_profile(args.profile)
    if secret(args, "--adm-hex") is None and secret(args, "--adm") is None:
        # No card, so no vendor ADM1: a random one nobody keeps (the MNO manages the profile over RFM).
        os.environ.pop("SIMTOOL_ADM_HEX", None)
        args.adm_hex = os.urandom(8).hex()
    identity = identity_from_args(args)
    if Path(args.out).exists() and not args.force:
        raise InputError(f"{args.out}: exists; --force replaces it")
    der = build(profile, identity)
    _write_package(args.out, der, args.force)
    doc = {"ok": True, "out": args.out, "iccid": identity.iccid, "imsi": identity.imsi, "profile": profile.name,
           "size": len(der)}
    if args.json:
        emit_json(doc)
    else:
        print(f"{args.out}: profile package for ICCID {identity.iccid} ({len(der)} bytes, mode 0600)")
    return 0


def _open(path: str, key_path: str | None) -> tuple[bytes, bool]:
    from simtool.esim.sealed import is_sealed, unseal_package

    data = _read(path)
    if not is_sealed(data):
        return data, False
    if key_path is None:
        raise InputError(f"{path}: a sealed package; give --transport-key")
    from simtool.batch.keys import load_transport_key

    _, der = unseal_package(load_transport_key(key_path), data)
    return der, True


def cmd_inspect(args: argparse.Namespace) -> int:
    from simtool.esim import inspect

    der, sealed = _open(args.file, args.transport_key)
    doc = inspect(der, show_secrets=args.show_secrets)
    doc = {"ok": not doc["problems"], "file": args.file, "sealed": sealed, **doc}
    if args.json:
        emit_json(doc)
    else:
        _print_report(doc)
    if doc["problems"]:
        for p in doc["problems"]:
            print(f"error: {args.file}: {p}", file=sys.stderr)
        return 2
    return 0


def _print_report(doc: dict[str, Any]) -> None:
    print(f"{doc['file']}: ICCID {doc['iccid']}, IMSI {doc['imsi']}, SAIP {doc['version']}, {doc['size']} bytes"
          f"{' (sealed)' if doc['sealed'] else ''}")
    print(f"services: {', '.join(doc['services'])}")
    for e in doc["elements"]:
        extra = {k: v for k, v in e.items() if k not in ("index", "offset", "kind", "length")}
        print(f"  #{e['index']:<2} @{e['offset']:<5} {e['kind']:<22} {e['length']:>5} B  {extra if extra else ''}")
    for path, f in doc["files"].items():
        print(f"  {path} [{f['fid']}, {f['structure']}] {f.get('value', '')}")
    for p in doc["problems"]:
        print(f"problem: {p}")


def cmd_unseal(args: argparse.Namespace) -> int:
    from simtool.esim import inspect

    der, sealed = _open(args.file, args.transport_key)
    if not sealed:
        raise InputError(f"{args.file}: not a sealed package")
    doc = inspect(der)
    if doc["problems"]:
        raise InputError([f"{args.file}: {p}" for p in doc["problems"]])
    if Path(args.out).exists() and not args.force:
        raise InputError(f"{args.out}: exists; --force replaces it")
    _write_package(args.out, der, args.force)
    if args.json:
        emit_json({"ok": True, "out": args.out, "iccid": doc["iccid"], "size": len(der)})
    else:
        print(f"{args.out}: DER profile package for ICCID {doc['iccid']} ({len(der)} bytes, mode 0600)")
    return 0


def cmd_activation_code(args: argparse.Namespace) -> int:
    code = activation_code(args.smdp, args.matching_id)
    if args.qr:
        import segno

        if Path(args.qr).exists() and not args.force:
            raise InputError(f"{args.qr}: exists; --force replaces it")
        try:
            segno.make(code, error="m").save(args.qr, kind="png", scale=8, border=4)
        except OSError as e:
            raise InputError(f"{args.qr}: cannot write: {e.strerror}") from None
    if args.json:
        emit_json({"ok": True, "activation_code": code, "qr": args.qr})
    else:
        print(code)
    return 0

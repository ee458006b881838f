"""`simtool profile validate|render`."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from simtool.cli.common import add_secret, emit_json, env_name, err, secret
from simtool.errors import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from simtool.profile import Identity


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("profile", help="validate and render operator profiles")
    psub = p.add_subparsers(dest="profile_command", required=True, metavar="ACTION")

    v = psub.add_parser("validate", help="check profiles; one FILE:LINE: field: reason line per error")
    v.add_argument("profiles", nargs="+", metavar="PROFILE")
    v.add_argument("--model", action="append", default=None, metavar="MODEL",
                   help="card model to judge against (repeatable; default: every known model)")
    v.add_argument("--json", action="store_true", help="machine-readable result")
    v.set_defaults(func=cmd_validate)

    r = psub.add_parser("render", help="the card image for one identity, decoded or as hex")
    r.add_argument("profile", metavar="PROFILE")
    add_identity_args(r, adm=False)
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="decoded, as JSON")
    fmt.add_argument("--hex", action="store_true", help="one `PATH HEX` line per file or record")
    r.add_argument("--show-secrets", action="store_true", help="show Ki, OPc and PINs (asked for by name)")
    r.add_argument("--model", default=None, help="card model to size files for (default: simtool-emu)")
    r.set_defaults(func=cmd_render)


def add_identity_args(p: argparse.ArgumentParser, adm: bool = True, required: bool = True) -> None:
    p.add_argument("--iccid", required=required, help="19/20 digits with a valid Luhn digit")
    p.add_argument("--append-luhn", action="store_true", help="append the Luhn digit to an 18/19-digit ICCID")
    p.add_argument("--imsi", required=required, help="up to 15 digits, starting with the profile's MCC+MNC")
    p.add_argument("--msisdn", help="E.164 number, e.g. +31612345678")
    add_secret(p, "--ki", "subscriber key K, 32 hex digits")
    add_secret(p, "--opc", "OPc, 32 hex digits")
    add_secret(p, "--op", "operator key OP, 32 hex digits (OPc is derived)")
    add_secret(p, "--pin1", "PIN1 to set (default 0000)")
    add_secret(p, "--puk1", "PUK1 to set (default 12345678)")
    add_secret(p, "--pin2", "PIN2 to set (default 0000)")
    add_secret(p, "--puk2", "PUK2 to set (default 12345678)")
    if adm:
        add_adm_args(p)


def add_adm_args(p: argparse.ArgumentParser) -> None:
    add_secret(p, "--adm-hex", "the card's ADM1 key as the vendor set it, 16 hex digits")
    add_secret(p, "--adm", "the card's ADM1 key as ASCII digits, e.g. 11111111")


DEFAULT_PINS = {"pin1": "0000", "puk1": "12345678", "pin2": "0000", "puk2": "12345678"}
_FLAG_SOURCES = {f: f"--{f}" for f in ("iccid", "imsi", "ki", "opc", "op", "msisdn", "pin1", "puk1", "pin2",
                                      "puk2")}


def identity_from_args(args: argparse.Namespace, adm_required: bool = True) -> Identity:
    from simtool.profile import Identity

    pins = {k: secret(args, f"--{k}") or v for k, v in DEFAULT_PINS.items()}
    adm_hex, adm_digits = secret(args, "--adm-hex"), secret(args, "--adm")
    if not adm_required and adm_hex is None and adm_digits is None:
        adm_hex = "FF" * 8  # render does not write ADM1; the identity type wants a value
    adm_flag = "--adm" if adm_digits is not None and adm_hex is None else "--adm-hex"
    sources = {**_FLAG_SOURCES, **{f: secret_source(args, f"--{f}") for f in _SECRET_FLAGS},
               "adm1": secret_source(args, adm_flag)}
    return Identity.create(
        iccid=args.iccid, imsi=args.imsi, ki=secret(args, "--ki") or "", opc=secret(args, "--opc"),
        op=secret(args, "--op"), adm1_hex=adm_hex, adm1_digits=adm_digits, msisdn=args.msisdn,
        append_luhn=args.append_luhn, source="command line", field_sources=sources,
        pin1=pins["pin1"], puk1=pins["puk1"], pin2=pins["pin2"], puk2=pins["puk2"],
    )


_SECRET_FLAGS = ("ki", "opc", "op", "pin1", "puk1", "pin2", "puk2")


def secret_source(args: argparse.Namespace, flag: str) -> str:
    """Where `secret(args, flag)` took its value: the flag, `FILE:1` for `--FLAG-file FILE` (so an error
    names the file, as every bad input's error should), or the environment variable."""
    dest = flag.strip("-").replace("-", "_")
    if getattr(args, dest, None) is not None:
        return flag
    path = getattr(args, dest + "_file", None)
    if path is not None:
        return f"{path}:1"
    if os.environ.get(env_name(flag)):
        return f"${env_name(flag)}"
    return flag


def cmd_validate(args: argparse.Namespace) -> int:
    from simtool.fs.cardmodel import MODELS
    from simtool.profile.capacity import capacities_for_model
    from simtool.profile.permodel import validate_for_models

    models = args.model or list(MODELS)
    for m in models:
        capacities_for_model(m)  # an unknown name is an input error before any file is read
    results = []
    status = EXIT_OK
    for path in args.profiles:
        result = validate_for_models(path, models)
        errors, warnings = result["errors"], result["warnings"]
        results.append(result)
        if errors:
            status = EXIT_USAGE
        if not args.json:
            for line in errors + warnings:
                err(line)
            if not errors:
                print(f"OK {path}" + (f" ({len(warnings)} warnings)" if warnings else ""))
    if args.json:
        emit_json({"ok": status == EXIT_OK, "results": results})
    return status


def cmd_render(args: argparse.Namespace) -> int:
    from simtool.profile import load_profile
    from simtool.profile.capacity import capacities_for_model
    from simtool.profile.render import render

    profile = load_profile(args.profile, capacities_for_model(args.model))
    identity = identity_from_args(args, adm_required=False)
    identity.check_against(profile, source="command line")
    image = render(profile, identity, args.model)
    if args.hex:
        for line in image.hex_lines(show_secrets=args.show_secrets):
            print(line)
        return EXIT_OK
    decoded = image.decoded(show_secrets=args.show_secrets)
    if args.json:
        emit_json({"profile": args.profile, "model": image.model.name, "fitted": [f.as_dict() for f in image.fitted],
                   "files": decoded})
        return EXIT_OK
    for f in image.fitted:
        err(f"{args.profile}: {f.list}: warning: {f.message()}")
    for path, entry in decoded.items():
        print(f"{path} ({entry['fid']}): {entry['value']}")
    return EXIT_OK

"""Card commands: flash, read, auth, emulator new, demo."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from simtool.cli.cmd_profile import DEFAULT_PINS, add_adm_args, add_identity_args
from simtool.cli.common import (
    add_min_adm_tries,
    add_reader_args,
    add_secret,
    emit_json,
    err,
    group,
    int_range,
    nonneg_int,
    open_reader_from_args,
    positive_float,
    positive_int,
    secret,
)
from simtool.errors import EXIT_OK, InputError

if TYPE_CHECKING:
    from simtool.crypto import aka
    from simtool.profile import Identity


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    f = sub.add_parser("flash", help="personalize one card with a profile and an identity")
    f.add_argument("--profile", required=True, metavar="PROFILE")
    add_reader_args(f)
    add_identity_args(f, adm=True, required=False)
    f.add_argument("--card-data", metavar="CSV", help="take the identity from a card-data CSV file")
    f.add_argument("--row", type=positive_int(), metavar="N", help="data row N (1 = first row after the header)")
    f.add_argument("--match-iccid", action="store_true",
                   help="take the row whose ICCID the vendor pre-set on the card")
    f.add_argument("--reprogram", action="store_true", help="overwrite a card that carries another identity")
    add_min_adm_tries(f)
    f.add_argument("--skip-equal", action="store_true", help="read first and write only what differs")
    f.add_argument("--no-auth", action="store_true", help="skip the AUTHENTICATE check after writing")
    f.add_argument("--ota-keys", metavar="FILE", help="install this OTA key set for the plan applet "
                   "(from `simtool keys new-ota`)")
    f.set_defaults(func=cmd_flash)

    r = sub.add_parser("read", help="read and decode every file the given rights allow")
    add_reader_args(r)
    add_secret(r, "--pin1", "PIN1, to open PIN-protected files")
    add_adm_args(r)
    add_min_adm_tries(r)
    r.set_defaults(func=cmd_read)

    a = sub.add_parser("auth", help="run AKA against a card and check its answer")
    add_reader_args(a)
    add_secret(a, "--ki", "subscriber key K, 32 hex digits")
    add_secret(a, "--opc", "OPc, 32 hex digits")
    a.add_argument("--app", choices=["usim", "isim"], default="usim",
                   help="the application to authenticate in: usim (default) or isim (IMS AKA, TS 31.103)")
    a.add_argument("--sqn", type=nonneg_int(2**48 - 1), default=None, help="SQN to use (default 32: SEQ 1, IND 0)")
    a.add_argument("--amf", default="8000", help="AMF, 4 hex digits (default 8000)")
    a.add_argument("--rand", help="raw mode: RAND (hex); sends RAND/AUTN as given and checks nothing")
    a.add_argument("--autn", help="raw mode: AUTN (hex)")
    a.add_argument("--algorithm", choices=["milenage", "tuak", "xor"], default="milenage",
                   help="the card's algorithm (default milenage); TUAK takes TOPc as --opc, XOR needs no --opc")
    a.add_argument("--tuak-res-bits", type=int_range(32, 128), choices=[32, 64, 128], default=64,
                   help="TUAK RES size (default 64)")
    a.add_argument("--tuak-iterations", type=int_range(1, 255), default=1, metavar="N",
                   help="TUAK Keccak iterations (default 1)")
    a.add_argument("--gsup", metavar="HOST:PORT", help="the network's check: vectors from this HLR over GSUP "
                   "(osmo-hlr: port 4222); not with --ki, --opc, --rand or --autn")
    a.add_argument("--imsi", help="with --gsup: the subscriber (default: the IMSI read from the card)")
    a.add_argument("--vectors", type=int_range(1, 100), default=1, metavar="N",
                   help="with --gsup: how many of the HLR's vectors the card must pass (default 1)")
    a.add_argument("--gsup-timeout", type=positive_float(), default=5.0, metavar="S",
                   help="with --gsup: seconds to wait for the HLR (default 5)")
    a.set_defaults(func=cmd_auth)

    emu = group(sub, "emulator", "emulated cards: create, serve through pcscd")
    n = emu.add_parser("new", help="create a blank emulated card (state file, mode 0600)")
    n.add_argument("card", metavar="CARD.json")
    add_secret(n, "--adm-hex", "the vendor's ADM1 key, 16 hex digits", required=True)
    n.add_argument("--iccid", help="a vendor pre-set ICCID")
    n.add_argument("--protocol", choices=["T=0", "T=1"], default="T=0")
    n.add_argument("--model", default="simtool-emu", help="card model: simtool-emu (default) or sysmoISIM-SJA2")
    n.add_argument("--json", action="store_true")
    n.set_defaults(func=cmd_emulator_new)

    d = sub.add_parser("demo", help="personalize an emulated card with the 1 GB plan and read it back")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_demo)


def _adm_from_args(args: argparse.Namespace) -> bytes | None:
    from simtool.profile.identity import adm_from_digits, adm_from_hex

    hx, digits = secret(args, "--adm-hex"), secret(args, "--adm")
    if hx is not None and digits is not None:
        raise InputError("--adm-hex and --adm: give one")
    try:
        if hx is not None:
            return adm_from_hex(hx)
        if digits is not None:
            return adm_from_digits(digits)
    except ValueError as e:
        raise InputError(f"{'--adm-hex' if hx is not None else '--adm'}: {e}") from None
    return None


def _identity(args: argparse.Namespace,
              reader_iccid: Callable[[], str | None] | None = None) -> tuple[Identity, str]:
    """(identity, where it came from): from the flags, or from a card-data CSV row ("FILE:LINE")."""
    from simtool.cli.cmd_profile import identity_from_args
    from simtool.personalize import carddata
    from simtool.profile import Identity

    if not args.card_data:
        if args.row is not None or args.match_iccid:
            raise InputError("--row and --match-iccid choose a row of --card-data FILE.csv; give the file")
        missing = [f"--{n}" for n in ("iccid", "imsi") if getattr(args, n) is None]
        if secret(args, "--ki") is None:
            missing.append("--ki")
        if missing:
            raise InputError(f"missing {', '.join(missing)} (or --card-data FILE.csv --row N)")
        return identity_from_args(args), "command line"
    given = [f"--{n}" for n in ("iccid", "imsi", "msisdn") if getattr(args, n) is not None]
    given += [f for f in ("--ki", "--opc", "--op") if getattr(args, f[2:]) is not None or
              getattr(args, f[2:] + "_file") is not None]
    if given:
        raise InputError(f"--card-data gives the identity; {', '.join(given)} would be ignored: leave "
                         f"{'it' if len(given) == 1 else 'them'} out")
    if (args.row is None) == (not args.match_iccid):
        raise InputError("--card-data needs --row N or --match-iccid")
    if args.row is not None:
        lineno, row = carddata.row_by_number(args.card_data, args.row)
    else:
        assert reader_iccid is not None  # the caller passes it whenever --match-iccid is given
        iccid = reader_iccid()
        if not iccid:
            raise InputError("--match-iccid: the card has no pre-set ICCID")
        lineno, row = carddata.row_by_iccid(args.card_data, iccid)
    overrides = {"adm1_hex": secret(args, "--adm-hex"), "adm1_digits": secret(args, "--adm")}
    if overrides["adm1_hex"] or overrides["adm1_digits"]:
        row = {k: v for k, v in row.items() if not k.startswith("adm1")}
    kw = carddata.identity_kwargs(args.card_data, lineno, row, overrides)
    where = kw["source"]
    missing = [f"{where}: {name}: missing (no {name} column, or the field is empty)"
               for name in ("iccid", "imsi", "ki") if name not in kw]
    if missing:
        raise InputError(missing)
    for k, v in DEFAULT_PINS.items():
        kw.setdefault(k, v)
    return Identity.create(append_luhn=args.append_luhn, **kw), where


def cmd_flash(args: argparse.Namespace) -> int:
    from simtool.personalize.flash import flash, read_card_iccid
    from simtool.profile import load_profile
    from simtool.profile.capacity import capacities_for_model

    profile = load_profile(args.profile, capacities_for_model())
    ota_keys = None
    if getattr(args, "ota_keys", None):
        from simtool.crypto.ota import read_ota_keys

        ota_keys = read_ota_keys(args.ota_keys)  # checked before any APDU, like every input
    if args.card_data and args.match_iccid:
        # The ICCID is read first (no write, no VERIFY); the row is then checked like any other input.
        reader = open_reader_from_args(args)
        try:
            identity, source = _identity(args, lambda: read_card_iccid(reader))
            identity.check_against(profile, source=source)
        except BaseException:
            reader.close()
            raise
    else:
        identity, source = _identity(args)  # all input checked before the reader is even opened
        identity.check_against(profile, source=source)
        reader = open_reader_from_args(args)
    with reader:
        if ota_keys is not None:  # the key set becomes part of the rendered image (EF.OTA_KEYS, EF.OTA_CNTR)
            if ota_keys.iccid and ota_keys.iccid != identity.iccid:
                raise InputError(f"--ota-keys {args.ota_keys}: made for ICCID {ota_keys.iccid}, not {identity.iccid}")
            identity = dataclasses.replace(identity, ota_keys=ota_keys)
        result = flash(reader, profile, identity, reprogram=args.reprogram, min_adm_tries=args.min_adm_tries,
                       skip_equal=args.skip_equal, verify_auth=not args.no_auth)
    out = result.as_dict()
    if args.json:
        emit_json(out)
    else:
        for f in out["fitted"]:
            err(f"{args.profile}: {f['list']}: warning: card model {f['model']}'s {f['file']} holds {f['holds']} "
                f"of the {f['given']} entries; left out: {', '.join(f['left_out'])}")
        ap = out["apdus"]
        print(f"flashed {result.iccid} (IMSI {result.imsi}) on {reader.name}: {len(result.written)} files written, "
              f"{len(result.verified)} read back, "
              + ("authenticated" if result.auth and result.auth.ok else "not authenticated"))
        print("APDUs: " + ", ".join(f"{k} {v['apdus']}" for k, v in ap["per_phase"].items())
              + f"; total {ap['total']} (write lower bound {ap['write_lower_bound']})")
    return EXIT_OK


def cmd_read(args: argparse.Namespace) -> int:
    from simtool.personalize.read import read_card

    adm = _adm_from_args(args)
    with open_reader_from_args(args) as reader:
        doc = read_card(reader, pin1=secret(args, "--pin1"), adm=adm, min_adm_tries=args.min_adm_tries)
    if args.json:
        emit_json(doc)
        return EXIT_OK
    print(f"{doc['reader']}: {doc['model']} ATR {doc['atr']}")
    for key, val in doc["summary"].items():
        print(f"  {key}: {val}")
    for path, item in doc["files"].items():
        shown = item.get("value") if item.get("readable", True) else f"(needs {'|'.join(item['needs'])})"
        if not item.get("present", True):
            shown = "(absent: not on this card)"
        print(f"  {path} ({item['fid']}): {shown}")
    return EXIT_OK


def cmd_auth(args: argparse.Namespace) -> int:
    from simtool.commands import uicc
    from simtool.crypto import aka
    from simtool.personalize.auth import AuthFailure, authenticate, select_app

    if args.gsup is not None:
        return _auth_gsup(args)
    if args.imsi is not None:
        raise InputError("--imsi goes with --gsup (the HLR's subscriber)")
    with open_reader_from_args(args) as reader:
        select_app(reader, args.app)
        if args.rand or args.autn:
            if not (args.rand and args.autn):
                raise InputError("raw mode needs both --rand and --autn")
            try:
                rand, autn = bytes.fromhex(args.rand), bytes.fromhex(args.autn)
            except ValueError:
                raise InputError("--rand/--autn: not hex") from None
            resp = reader.send(uicc.authenticate_3g(rand, autn))
            out = {"sw": f"{resp.sw:04X}"}
            if resp.ok and resp.data:
                parsed = uicc.parse_auth_response(resp.data)
                out.update({k: (v.hex() if isinstance(v, bytes) else v) for k, v in parsed.items() if v is not None})
            emit_json(out) if args.json else print(" ".join(f"{k}={v}" for k, v in out.items()))
            return EXIT_OK
        ki, opc = secret(args, "--ki"), secret(args, "--opc")
        if not ki or not (opc or args.algorithm == "xor"):
            raise InputError("--ki and --opc are needed (or --rand/--autn for raw mode)")
        alg: aka.Algorithm
        try:
            if args.algorithm == "tuak":
                alg = aka.Tuak(bytes.fromhex(ki), bytes.fromhex(opc or ""), res_len=args.tuak_res_bits // 8,
                               iterations=args.tuak_iterations)
            elif args.algorithm == "xor":
                alg = aka.Xor(bytes.fromhex(ki))
            else:
                alg = aka.Milenage(bytes.fromhex(ki), bytes.fromhex(opc or ""))
            amf = bytes.fromhex(args.amf)
        except ValueError as e:
            raise InputError(f"--ki/--opc/--amf: {e}") from None
        try:
            result = authenticate(reader, alg, sqn=args.sqn, amf=amf)
        except AuthFailure as e:
            if args.json:
                emit_json({"ok": False, "sw": f"{e.sw:04X}" if e.sw else None, "error": str(e)})
            else:
                print(f"authentication failed: {e}", file=sys.stderr)
            return 1
    if args.json:
        emit_json(result.as_dict())
    else:
        for note in result.notes:
            print(note)
        print(f"authenticated: RES, CK, IK{' and Kc' if result.kc else ''} match (SQN {result.sqn})")
    return EXIT_OK


def _auth_gsup(args: argparse.Namespace) -> int:
    """`auth --gsup`: the operator's acceptance check; exit 0 accepted, 1 not (with the reason), 3 HLR away."""
    from simtool.gsup import GsupClient, parse_address
    from simtool.personalize.auth import select_usim
    from simtool.personalize.hlrauth import authenticate_with_hlr, read_imsi

    clash = [f for f in ("--ki", "--opc", "--rand", "--autn") if getattr(args, f[2:]) is not None
             or getattr(args, f[2:] + "_file", None) is not None]
    if clash:
        raise InputError(f"--gsup takes the vectors from the HLR: leave out {', '.join(clash)}")
    host, port = parse_address(args.gsup)
    imsi = args.imsi
    if imsi is not None and not (imsi.isdigit() and 6 <= len(imsi) <= 15):
        raise InputError(f"--imsi {imsi}: 6-15 digits")
    with open_reader_from_args(args) as reader:
        if imsi is None:
            imsi = read_imsi(reader)
        select_usim(reader)
        with GsupClient(host, port, timeout=args.gsup_timeout) as hlr:
            result = authenticate_with_hlr(reader, hlr, imsi, args.vectors)
    if args.json:
        emit_json(result.as_dict())
    else:
        for note in result.notes:
            print(note)
        print(f"accepted by {result.hlr}: IMSI {imsi}, {result.vectors} vector(s), RES = XRES, CK and IK match"
              + (" (resynchronised)" if result.resynchronised else ""))
    return EXIT_OK


def cmd_emulator_new(args: argparse.Namespace) -> int:
    from simtool.emulator.blank import create_card_file
    from simtool.profile.identity import adm_from_hex

    adm_hex = secret(args, "--adm-hex")
    if adm_hex is None:
        raise InputError("--adm-hex is required (the vendor's ADM1 key)")
    try:
        adm = adm_from_hex(adm_hex)
    except ValueError as e:
        raise InputError(f"--adm-hex: {e}") from None
    if args.iccid:
        from simtool.profile.luhn import luhn_ok

        if not (args.iccid.isdigit() and len(args.iccid) in (19, 20) and luhn_ok(args.iccid)):
            raise InputError(f"--iccid {args.iccid}: must be 19 or 20 digits with a valid Luhn check digit")
    if os.path.exists(args.card):
        raise InputError(f"{args.card}: exists already; a blank card is never written over a card")
    create_card_file(args.card, adm=adm, iccid=args.iccid, protocol=args.protocol, model=args.model)
    if args.json:
        emit_json({"card": args.card, "protocol": args.protocol, "iccid": args.iccid})
    else:
        print(f"created blank card {args.card} ({args.protocol}" + (f", ICCID {args.iccid})" if args.iccid else ")"))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from simtool.emulator.blank import create_card_file
    from simtool.personalize.flash import flash
    from simtool.personalize.read import read_card
    from simtool.profile import Identity, load_profile
    from simtool.transport import open_reader

    path = Path(__file__).resolve().parents[2] / "profiles" / "kpn-wechat-1gb-15d.yaml"
    profile = load_profile(path)
    identity = Identity.sample()
    with tempfile.TemporaryDirectory() as d:
        card = os.path.join(d, "card.json")
        create_card_file(card, adm=identity.adm1)
        with open_reader(f"emu:{card}") as reader:
            result = flash(reader, profile, identity)
        with open_reader(f"emu:{card}") as reader:
            doc = read_card(reader, adm=identity.adm1)
    summary = {"profile": profile.name, "flash": result.as_dict(), "read_back": doc["summary"]}
    if args.json:
        emit_json(summary)
        return EXIT_OK
    rb = doc["summary"]
    ap = summary["flash"]["apdus"]
    plan = rb["plan"]
    print(f"Flashed an emulated card with profile {profile.name} ({path.name}), then read it back:")
    print(f"  ICCID {rb['iccid']}  IMSI {rb['imsi']}  SPN {rb['spn']!r}  APNs {rb['apns']}")
    print(f"  roaming partners ({len(rb['oplmn'])}): {' '.join(rb['oplmn'])}")
    print(f"  plan {plan['id']}: {plan['data']} for {plan['validity_days']} days, {plan['price']}; "
          f"names {plan['names']}")
    print(f"  authenticated: {bool(result.auth and result.auth.ok)}; APDUs {ap['total']} "
          f"(write phase {ap['per_phase'].get('write', {}).get('apdus')}, lower bound {ap['write_lower_bound']})")
    return EXIT_OK

"""`simtool suci keygen|conceal|deconceal`: home network key pairs and SUCIs (TS 33.501 §6.12, Annex C), so an
operator can test its key pair before a batch carries the public key to the cards."""

from __future__ import annotations

import argparse

from simtool.cli.common import emit_json, int_range
from simtool.crypto import suci
from simtool.crypto.suci_id import HomeNetworkKey, check_routing_indicator, conceal_imsi, parse
from simtool.errors import InputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("suci", help="SUCI: home network keys, conceal and deconceal an IMSI (TS 33.501 Annex C)")
    s = p.add_subparsers(dest="suci_command", required=True, metavar="SUBCOMMAND")

    k = s.add_parser("keygen", help="a new home network key pair (file 0600; prints the public key)")
    k.add_argument("--scheme", required=True, choices=("A", "B"), help="A: X25519, B: P-256")
    k.add_argument("--key-id", type=int_range(0, 255), default=1, help="home network public key id (default 1)")
    k.add_argument("--out", required=True, help="the key file to create (0600)")
    k.add_argument("--force", action="store_true", help="replace an existing key file")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_keygen)

    c = s.add_parser("conceal", help="the SUCI of an IMSI under a home network public key")
    c.add_argument("--imsi", required=True)
    c.add_argument("--scheme", required=True, choices=("null", "A", "B"))
    c.add_argument("--key-pub", help="the home network public key, hex (A: 32 bytes; B: 33 or 65)")
    c.add_argument("--key-id", type=int_range(0, 255), default=1, help="its key id (default 1)")
    c.add_argument("--routing-indicator", default="0", help="1 to 4 digits (default 0)")
    c.add_argument("--mnc-length", type=int_range(2, 3), default=2, help="MNC digits in the IMSI (default 2)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_conceal)

    d = s.add_parser("deconceal", help="the IMSI inside a SUCI, with the home network private key")
    d.add_argument("--key", required=True, help="the key file of `suci keygen`")
    d.add_argument("suci", help="suci-0-MCC-MNC-RI-SCHEME-KEYID-OUTPUT")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_deconceal)


def _hex(label: str, text: str) -> bytes:
    t = text.strip().removeprefix("0x")
    try:
        return bytes.fromhex(t)
    except ValueError:
        raise InputError(f"{label}: not hex ({len(t)} characters)") from None


def cmd_keygen(args: argparse.Namespace) -> int:
    key = HomeNetworkKey.generate(args.scheme, args.key_id)
    key.save(args.out, overwrite=args.force)
    doc = {"ok": True, "scheme": key.scheme, "key_id": key.key_id, "public_key": key.public.hex(),
           "key_file": args.out}
    if key.scheme == "B":
        doc["public_key_uncompressed"] = suci.uncompressed(key.public).hex()
    if args.json:
        emit_json(doc)
    else:
        print(f"profile {key.scheme} key id {key.key_id}, private key in {args.out} (0600)")
        print(f"public key: {key.public.hex()}")
    return 0


def cmd_conceal(args: argparse.Namespace) -> int:
    pub = _hex("--key-pub", args.key_pub) if args.key_pub is not None else None
    if args.scheme == "null" and pub is not None:
        raise InputError("--key-pub: the null scheme conceals nothing and takes no key")
    value = conceal_imsi(args.imsi, args.scheme, pub, args.key_id,
                         check_routing_indicator(args.routing_indicator), args.mnc_length)
    if args.json:
        emit_json({"ok": True, "suci": str(value), "scheme": args.scheme, "key_id": value.key_id,
                   "routing_indicator": value.routing_indicator})
    else:
        print(value)
    return 0


def cmd_deconceal(args: argparse.Namespace) -> int:
    value = parse(args.suci)
    key = HomeNetworkKey.load(args.key)
    imsi = key.deconceal(value)
    if args.json:
        emit_json({"ok": True, "imsi": imsi, "supi": f"imsi-{imsi}", "scheme": suci.SCHEMES_BY_ID[value.scheme_id],
                   "key_id": value.key_id, "routing_indicator": value.routing_indicator})
    else:
        print(imsi)
    return 0

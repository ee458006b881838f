"""`simtool hlr load (DIR | EXPORT) --transport-key KEY --osmo-hlr-vty HOST:PORT [--dry-run] [--json]` (issue 15).

Everything that can be wrong with the input is checked before the HLR is contacted (the export's MAC and
KCV, the transport key, every subscriber osmo-hlr could not hold), and the HLR is reached before anything
is sent: a bad MAC exits 1, bad input 2, an unreachable HLR 3, and in each case nothing changed.
"""

from __future__ import annotations

import argparse
import sys

from simtool.cli.common import emit_json, group, positive_float
from simtool.errors import EXIT_FAILED, EXIT_OK, InputError

VTY_PORT = 4258


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hlr = group(sub, "hlr", "the operator's HLR: load a batch's subscribers")
    ld = hlr.add_parser("load", help="create or update a batch's subscribers in osmo-hlr over its VTY; read back")
    ld.add_argument("source", metavar="DIR|EXPORT", help="a batch directory (every allocated identity) or an "
                    "export file (its verified cards)")
    ld.add_argument("--transport-key", metavar="FILE", help="the operator's transport key (or "
                    "$SIMTOOL_TRANSPORT_KEY; for DIR default: the file named at create)")
    ld.add_argument("--osmo-hlr-vty", required=True, metavar="HOST:PORT", help="osmo-hlr's VTY, e.g. "
                    "127.0.0.1:4258")
    ld.add_argument("--timeout", type=positive_float(600.0), default=10.0, metavar="S", help=argparse.SUPPRESS)
    ld.add_argument("--dry-run", action="store_true", help="read and compare only: say what would change")
    ld.add_argument("--json", action="store_true")
    ld.set_defaults(func=cmd_load)


def cmd_load(args: argparse.Namespace) -> int:
    from simtool.network.cards import load_cards
    from simtool.network.load import load
    from simtool.network.osmohlr import check_subscriber
    from simtool.network.vty import VtyClient, parse_address

    try:
        host, port = parse_address(args.osmo_hlr_vty, VTY_PORT)
    except ValueError as e:
        raise InputError(f"--osmo-hlr-vty {e}") from None
    cards = load_cards(args.source, args.transport_key)
    subs = [c.subscriber() for c in cards.cards]
    problems = []
    seen: dict[str, str] = {}
    for c, s in zip(cards.cards, subs, strict=True):
        try:
            check_subscriber(s)
        except InputError as e:
            problems += [f"{args.source}: ICCID {c.iccid}: {m}" for m in e.errors]
        if s.imsi in seen:
            problems.append(f"{args.source}: IMSI {s.imsi} twice (ICCIDs {seen[s.imsi]} and {c.iccid})")
        seen[s.imsi] = c.iccid
    if problems:
        raise InputError(problems)
    with VtyClient(host, port, timeout=args.timeout) as vty:
        vty.enable()
        report = load(subs, vty, dry_run=args.dry_run)
    doc = {"ok": report.failed == 0, "source": args.source, "batch": cards.batch, "hlr": f"{host}:{port}",
           "subscribers": len(subs), **report.as_dict()}
    if args.json:
        emit_json(doc)
    else:
        verb = "would be" if args.dry_run else ""
        print(f"{len(subs)} subscribers of batch {cards.batch} -> osmo-hlr {host}:{port}{' (dry run)' * args.dry_run}:"
              f" {report.created} {verb + ' ' if verb else ''}created, {report.updated} updated, "
              f"{report.unchanged} unchanged, {report.failed} failed")
        for f in report.failures:
            print(f"failed: IMSI {f['imsi']}: {f['reason']}", file=sys.stderr)
    return EXIT_OK if report.failed == 0 else EXIT_FAILED

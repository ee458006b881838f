"""PC/SC commands: `readers`, and the `emulator` actions that put emulated cards behind pcscd
(`serve`, `eject`, `insert`, `vpcd-config`). `emulator new` lives in cmd_card; both modules add their
actions to the one `emulator` group through `common.group`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simtool.cli.common import add_secret, emit_json, group, int_range, positive_float, secret
from simtool.errors import EXIT_OK, InputError, SimtoolError

if TYPE_CHECKING:
    from simtool.transport.vpcd_feed import Feed

VPCD_PORT = 35963


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser("readers", help="list the PC/SC readers, their cards, ATRs and card models")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.add_argument("--timeout", type=positive_float(3600.0), default=10.0, metavar="S",
                   help="give up on pcscd after S seconds")
    r.set_defaults(func=cmd_readers)

    emu = group(sub, "emulator", "emulated cards: create, serve through pcscd")

    s = emu.add_parser("serve", help="connect emulated cards to pcscd's vpcd driver, one card per slot",
                       description="Serve emulated cards to the vsmartcard vpcd driver: card i goes into slot i "
                       "(TCP port PORT + i; slot 0 = reader 'Virtual PCD 00 00'). Runs until SIGTERM/Ctrl-C.")
    s.add_argument("cards", nargs="*", metavar="CARD.json", help="card state files (simtool emulator new)")
    s.add_argument("--host", default="127.0.0.1", help="where vpcd listens (default 127.0.0.1)")
    s.add_argument("--port", type=int_range(1, 65535 - 15), default=VPCD_PORT,
                   help=f"vpcd port of slot 0 (default {VPCD_PORT})")
    s.add_argument("--feed", metavar="DIR",
                   help="a feed directory: `eject` replaces a card by a fresh blank one made from DIR/template.json")
    s.add_argument("--slots", type=int_range(1, 16), metavar="N",
                   help="with --feed: fill slots up to N with fresh cards from the feed (default: 1 without cards)")
    add_secret(s, "--adm-hex", "with --feed: the vendor ADM1 key for a new DIR/template.json, 16 hex digits")
    s.add_argument("--protocol", choices=["T=0", "T=1"], default="T=0", help="with --feed: for a new template")
    s.add_argument("--iccid", help="with --feed: the first vendor ICCID for a new template")
    s.add_argument("--control", metavar="SOCKET", help="control socket path (default DIR/control.sock with "
                   "--feed, else simtool-vpcd-PORT.sock in the temp directory)")
    s.add_argument("--json", action="store_true", help="print the slots as JSON once serving")
    s.set_defaults(func=cmd_serve)

    e = emu.add_parser("eject", help="take the card out of a served slot (with --feed a fresh blank one goes in)")
    _control_args(e)
    e.set_defaults(func=cmd_eject)

    i = emu.add_parser("insert", help="put a card file into a served slot")
    i.add_argument("card", metavar="CARD.json")
    _control_args(i)
    i.set_defaults(func=cmd_insert)

    c = emu.add_parser("vpcd-config", help="print (or --install) the /etc/reader.conf.d entries for N vpcd slots")
    c.add_argument("--slots", type=int_range(1, 16), default=2, metavar="N",
                   help="number of emulated readers (default 2)")
    c.add_argument("--install", action="store_true",
                   help="write the entries and copy the driver library (root); restart pcscd afterwards")
    c.set_defaults(func=cmd_vpcd_config)


def _control_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--slot", type=int_range(0, 15), required=True, metavar="N")
    p.add_argument("--feed", metavar="DIR", help="the server's feed directory (its control socket is DIR/control.sock)")
    p.add_argument("--port", type=int_range(1, 65535 - 15), default=VPCD_PORT,
                   help="the server's base port, without --feed")
    p.add_argument("--control", metavar="SOCKET", help="the server's control socket, if not the default")
    p.add_argument("--json", action="store_true")


def _control_socket(args: argparse.Namespace) -> Path:
    from simtool.transport.vpcd import CONTROL_NAME, control_path

    if args.control:
        return Path(args.control)
    if args.feed:
        return Path(args.feed) / CONTROL_NAME
    return control_path(args.port)


def _slot_reader(port: int, slot: int) -> str:
    """The PC/SC name pcscd gives the reader on this port, if a vpcd entry on this machine covers it."""
    from simtool.transport.vpcdconf import installed_slots, reader_name

    n = port - VPCD_PORT + slot
    if n in installed_slots():
        return reader_name(n)
    return f"vpcd port {port + slot} (no /etc/reader.conf.d entry for it: see `simtool emulator vpcd-config`)"


# --- readers -----------------------------------------------------------------------------------------------


def cmd_readers(args: argparse.Namespace) -> int:
    from simtool.transport.pcsc import list_readers

    readers = list_readers(timeout=args.timeout)
    if args.json:
        emit_json({"readers": readers})
        return EXIT_OK
    if not readers:
        print("no PC/SC reader")
    for r in readers:
        if r["card_present"]:
            card = f"card {r['atr']} ({r['model'] or 'unknown model'}, {'/'.join(r['protocols'])})"
        else:
            card = "no card"
        flags = " [in use]" if r["in_use"] else ""
        print(f"{r['index']}: {r['name']}: {card}{flags}")
    return EXIT_OK


# --- emulator serve / eject / insert ----------------------------------------------------------------------------


def _feed(args: argparse.Namespace) -> Feed:
    from simtool.profile.identity import adm_from_hex
    from simtool.transport.vpcd import TEMPLATE_NAME, Feed

    d = Path(args.feed)
    adm_hex = secret(args, "--adm-hex")
    template = d / TEMPLATE_NAME
    if adm_hex is not None:
        try:
            adm = adm_from_hex(adm_hex)
        except ValueError as e:
            raise InputError(f"--adm-hex: {e}") from None
        if template.exists():
            if Feed.open(d).adm != adm:
                raise InputError(f"{template}: exists with another ADM1 key; remove it or drop --adm-hex")
        else:
            Feed.write_template(d, adm, args.protocol, args.iccid)
    elif args.iccid:
        raise InputError("--iccid needs --adm-hex (it goes into a new feed template)")
    return Feed.open(d)


def cmd_serve(args: argparse.Namespace) -> int:
    from simtool.emulator.card import Card
    from simtool.transport.vpcd import VpcdCardServer, serve

    if args.feed is None and (args.slots is not None or args.adm_hex is not None or args.adm_hex_file is not None):
        raise InputError("--slots and --adm-hex go with --feed DIR")
    if not args.cards and args.feed is None:
        raise InputError("give card files to serve (simtool emulator new CARD.json), or --feed DIR")
    for path in args.cards:
        if not os.path.exists(path):
            raise InputError(f"{path}: no such card file (create one with `simtool emulator new {path}`)")
    cards: list[Card] = [Card.load(p) for p in args.cards]
    feed = _feed(args) if args.feed else None
    if feed is not None:
        want = args.slots if args.slots is not None else max(1, len(cards))
        while len(cards) < want:
            cards.append(feed.new_card()[0])
    control = Path(args.control) if args.control else True

    def ready(server: VpcdCardServer) -> None:
        status = server.status()
        for s in status["slots"]:
            s["reader"] = _slot_reader(server.port, s["slot"])
        if args.json:
            emit_json(status)
        else:
            for s in status["slots"]:
                print(f"slot {s['slot']}: {s['card']} -> {s['reader']} ({server.host}:{s['port']})")
            print(f"control socket {status['control']}; SIGTERM or Ctrl-C stops", file=sys.stderr)
        sys.stdout.flush()

    try:
        serve(cards, args.host, args.port, feed=feed, control=control, ready=ready)
    except OSError as e:
        raise SimtoolError(f"emulator serve: {e}") from None
    return EXIT_OK


def _print_swap(args: argparse.Namespace, answer: dict[str, Any]) -> None:
    answer.pop("ok", None)
    if args.json:
        emit_json(answer)
        return
    out = f"slot {answer['slot']}: "
    out += f"ejected {answer['ejected']}" if answer.get("ejected") else "was empty"
    out += f"; inserted {answer['inserted']}" if answer.get("inserted") else "; now empty"
    print(out)


def cmd_eject(args: argparse.Namespace) -> int:
    from simtool.transport.vpcd import send_control

    _print_swap(args, send_control(_control_socket(args), {"cmd": "eject", "slot": args.slot}))
    return EXIT_OK


def cmd_insert(args: argparse.Namespace) -> int:
    from simtool.transport.vpcd import send_control

    if not os.path.exists(args.card):
        raise InputError(f"{args.card}: no such card file")
    request = {"cmd": "insert", "slot": args.slot, "card": os.path.abspath(args.card)}
    _print_swap(args, send_control(_control_socket(args), request))
    return EXIT_OK


# --- vpcd-config -----------------------------------------------------------------------------------------------


def cmd_vpcd_config(args: argparse.Namespace) -> int:
    from simtool.transport import vpcdconf

    if args.slots < 1:
        raise InputError("--slots must be at least 1")
    if not args.install:
        sys.stdout.write(vpcdconf.render(args.slots))
        return EXIT_OK
    if os.geteuid() != 0:
        raise InputError("--install writes /etc/reader.conf.d and the driver directory: run it as root")
    try:
        written = vpcdconf.install(args.slots)
    except OSError as e:
        raise SimtoolError(f"vpcd-config --install: {e}") from None
    for line in written:
        print(f"wrote {line}")
    names = ", ".join(vpcdconf.reader_name(s) for s in range(2 * vpcdconf.entry_count(args.slots)))
    if not written:
        print(f"already installed: {names}")
        return EXIT_OK
    print(f"readers after a pcscd restart: {names}")
    print("restart pcscd for the change to take effect (e.g. `systemctl restart pcscd`, or stop and start `pcscd`)")
    return EXIT_OK

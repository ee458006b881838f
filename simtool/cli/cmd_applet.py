"""The plan applet's commands: `keys new-ota`, `ota build|send`, `phone`, `conformance` (issue 7).

Thin over the library: keys and packets in `simtool.crypto.ota`, the applet's commands and answers in
`simtool.commands.plan`, the handset in `simtool.commands.cat`, scripts in `simtool.commands.script`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from simtool.cli.common import (
    add_min_adm_tries,
    add_reader_args,
    emit_json,
    group,
    int_range,
    open_reader_from_args,
)
from simtool.errors import EXIT_FAILED, EXIT_GUARD, EXIT_OK, CardError, InputError

MAX_TEXT_FILE = 1 << 20  # a script or a hex TPDU file: a few KB


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = group(sub, "keys", "key files: transport keys, OTA keys")
    k = keys.add_parser("new-ota", help="make a KIc/KID pair (AES-128) for one card's plan applet (mode 0600)")
    k.add_argument("file", metavar="FILE")
    k.add_argument("--kvn", type=int_range(1, 15), default=1, help="key version number 1..15 (default 1)")
    k.add_argument("--iccid", help="the card the keys are for (ota build then refuses another ICCID)")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_keys_new_ota)

    ota = group(sub, "ota", "OTA updates of the plan applet (TS 102 225 secured SMS-PP)")
    b = ota.add_parser("build", help="a secured SMS-DELIVER for the applet, as hex (stdout or --out)")
    b.add_argument("--iccid", required=True, help="the card's ICCID (19/20 digits)")
    b.add_argument("--ota-keys", required=True, metavar="FILE", help="the card's key file (keys new-ota)")
    b.add_argument("--counter", required=True, type=int_range(1, 2**40 - 1), metavar="N",
                   help="TS 102 225 counter: must be higher than the last one the card accepted")
    b.add_argument("--out", metavar="FILE", help="write the hex TPDU here instead of stdout")
    b.add_argument("--originator", default=None, metavar="NUMBER", help="the OTA server's address (TP-OA)")
    b.add_argument("--json", action="store_true", help="describe the packet as JSON (the TPDU included)")
    kinds = b.add_subparsers(dest="ota_kind", required=True, metavar="COMMAND")
    t = kinds.add_parser("topup", help="add data and/or days")
    t.add_argument("--add", default="0", metavar="SIZE", help="data to add, e.g. 1GB (1 GB = 10^9 bytes)")
    t.add_argument("--extend", default="0d", metavar="DAYS", help="days to add, e.g. 7d")
    t.set_defaults(func=cmd_ota_build)
    s = kinds.add_parser("set-balance", help="the data remaining, as the network counted it")
    s.add_argument("--remaining", required=True, metavar="SIZE", help="e.g. 734MB")
    s.set_defaults(func=cmd_ota_build)

    snd = ota.add_parser("send", help="deliver a built SMS as ENVELOPE (SMS-PP download); print the PoR")
    add_reader_args(snd)
    snd.add_argument("file", metavar="FILE", help="hex TPDU from `ota build` (- for stdin)")
    snd.add_argument("--ota-keys", metavar="FILE", help="verify the PoR's CC (and decipher a ciphered PoR)")
    snd.set_defaults(func=cmd_ota_send)

    p = sub.add_parser("phone", help="play a handset: terminal profile, SIM menu, events (interactive or scripted)")
    add_reader_args(p)
    p.add_argument("--language", default="en", help="the phone's language, ISO 639-1 (default en)")
    p.add_argument("--date", metavar="ISO", help="the date-time the phone reports, with zone (default: now)")
    p.add_argument("--register", metavar="MCC-MNC", help="register with normal service on this network")
    p.add_argument("--select", action="append", default=[], metavar="ITEM",
                   help="choose this menu item (text or number); repeatable, in order")
    p.add_argument("--choose", action="append", default=[], metavar="ITEM",
                   help="answer to a SELECT ITEM (text or number); repeatable, in order")
    p.set_defaults(func=cmd_phone)

    c = sub.add_parser("conformance", help="run applet conformance scripts (applet_spec/conformance)")
    add_reader_args(c)
    c.add_argument("scripts", nargs="+", metavar="SCRIPT")
    c.add_argument("--ota-keys", metavar="FILE", help="the card's OTA keys, for scripts with `ota` lines")
    c.add_argument("--verbose-log", action="store_true", help="print every APDU of failed scripts (secrets masked)")
    add_min_adm_tries(c)
    c.set_defaults(func=cmd_conformance)


# --- keys ---------------------------------------------------------------------------------------------


def _check_iccid(iccid: str, flag: str = "--iccid") -> str:
    from simtool.profile.luhn import luhn_ok

    if not (iccid.isdigit() and len(iccid) in (19, 20) and luhn_ok(iccid)):
        raise InputError(f"{flag} {iccid}: must be 19 or 20 digits with a valid Luhn check digit")
    return iccid


def cmd_keys_new_ota(args: argparse.Namespace) -> int:
    from simtool.crypto.ota import OtaKeys, write_ota_keys

    if not 1 <= args.kvn <= 15:
        raise InputError(f"--kvn {args.kvn}: the key version number is 1..15")
    iccid = _check_iccid(args.iccid) if args.iccid else None
    keys = OtaKeys.generate(kvn=args.kvn, iccid=iccid)
    write_ota_keys(args.file, keys)
    doc = {"file": args.file, "kvn": keys.kvn, **keys.kcvs(), "iccid": iccid}
    if args.json:
        emit_json(doc)
    else:
        print(f"wrote OTA keys {args.file} (mode 0600): KVN {keys.kvn}, KIc KCV {doc['kic_kcv']}, "
              f"KID KCV {doc['kid_kcv']}")
    return EXIT_OK


def _load_keys(path: str) -> Any:
    from simtool.crypto.ota import read_ota_keys

    return read_ota_keys(path)


# --- ota build / send ---------------------------------------------------------------------------------


def _commands(kind: str, args: argparse.Namespace) -> tuple[bytes, dict[str, Any]]:
    from simtool.commands import plan

    if kind == "topup":
        add, days = plan.parse_bytes(args.add), plan.parse_days(args.extend)
        if not add and not days:
            raise InputError("topup: give --add and/or --extend")
        return plan.topup(add, days), {"command": "topup", "add_bytes": add, "extend_days": days}
    remaining = plan.parse_bytes(args.remaining)
    return plan.set_balance(remaining), {"command": "set-balance", "remaining_bytes": remaining}


def build_tpdu(keys: Any, counter: int, commands: bytes, originator: str | None = None) -> bytes:
    """The SMS-DELIVER TPDU carrying `commands` to the plan applet, secured with `keys` and `counter`."""
    from simtool.commands import cat, plan
    from simtool.crypto import ota

    if not 1 <= counter < 2**40:
        raise InputError(f"--counter {counter}: 1 .. 2^40-1 (the card takes only counters above its last)")
    packet = ota.command_packet(keys, spi=plan.SPI, tar=plan.TAR, counter=counter, data=commands)
    return cat.sms_deliver(ota.CPI + packet, originator or plan.DEFAULT_ORIGINATOR)


def cmd_ota_build(args: argparse.Namespace) -> int:
    from simtool.commands import plan

    iccid = _check_iccid(args.iccid)
    keys = _load_keys(args.ota_keys)
    if keys.iccid and keys.iccid != iccid:
        raise InputError(f"--ota-keys {args.ota_keys}: the keys are for ICCID {keys.iccid}, not {iccid}")
    commands, what = _commands(args.ota_kind, args)
    tpdu = build_tpdu(keys, args.counter, commands, args.originator)
    if args.out:
        Path(args.out).write_text(tpdu.hex().upper() + "\n")
    if args.json:
        emit_json({"iccid": iccid, "counter": args.counter, "tar": plan.TAR.hex().upper(),
                   "spi": plan.SPI.hex().upper(), "kvn": keys.kvn, **keys.kcvs(), **what,
                   "tpdu": tpdu.hex().upper(), "out": args.out})
    elif not args.out:
        print(tpdu.hex().upper())
    else:
        print(f"wrote {args.out}: {what['command']} for {iccid}, counter {args.counter}", file=sys.stderr)
    return EXIT_OK


def _read_hex(path: str) -> bytes:
    from simtool.inputs import read_bounded

    raw = sys.stdin.buffer.read(MAX_TEXT_FILE + 1) if path == "-" else read_bounded(path, MAX_TEXT_FILE, path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not text (the hex output of `simtool ota build`)") from None
    body = "".join(line.split("#", 1)[0].strip() for line in text.splitlines()).replace(" ", "")
    try:
        data = bytes.fromhex(body)
    except ValueError:
        raise InputError(f"{path}: not hex (the output of `simtool ota build`)") from None
    if not data:
        raise InputError(f"{path}: empty")
    return data


def send_sms(reader: Any, tpdu: bytes, keys: Any = None) -> dict[str, Any]:
    """Deliver `tpdu` as SMS-PP data download and decode the answer: PoR and the applet's result."""
    from simtool.commands import cat, plan, uicc
    from simtool.crypto import ota

    if len(tpdu) > 240:
        raise InputError(f"a TPDU of {len(tpdu)} bytes does not fit one ENVELOPE")
    resp = reader.send(uicc.envelope(cat.sms_pp_download(tpdu), le=256))
    doc: dict[str, Any] = {"sw": f"{resp.sw:04X}"}
    if not resp.ok:
        raise _with(CardError(f"{reader.name}: the card refused the ENVELOPE (SW {resp.sw:04X}): not a "
                              "secured SMS it can read; nothing changed"), sw=f"{resp.sw:04X}")
    if not resp.data:
        doc.update(ok=True, por=None)  # SPI2 asked for no PoR
        return doc
    try:
        por = ota.decode_por(resp.data, keys)
    except ota.PorError as e:
        raise CardError(f"{reader.name}: the card's answer is not a proof of receipt: {e}") from None
    answer = plan.applet_answer(por.status, por.data)
    doc["por"] = por.as_dict()
    doc["applet"] = answer
    doc["ok"] = bool(por.ok and answer and answer["sw"] == "9000")
    return doc


def _with(exc: Exception, **details: Any) -> Exception:
    exc.details = details  # type: ignore[attr-defined]
    return exc


def cmd_ota_send(args: argparse.Namespace) -> int:
    from simtool.encoding.sizes import format_bytes

    tpdu = _read_hex(args.file)
    keys = _load_keys(args.ota_keys) if args.ota_keys else None
    with open_reader_from_args(args) as reader:
        doc = send_sms(reader, tpdu, keys)
    if args.json:
        emit_json(doc)
        return EXIT_OK if doc["ok"] else EXIT_FAILED
    por = doc.get("por")
    if por is None:
        print("delivered; the packet asked for no proof of receipt")
        return EXIT_OK
    cc = {True: "CC verified", False: "CC WRONG", None: "CC not checked" + ("" if keys else " (no --ota-keys)")}
    security = cc[por["cc_verified"]] if por["secured"] else "unsecured"
    print(f"PoR: status {por['status']} {por['status_name']} (TAR {por['tar']}, counter {por['counter']}, "
          f"{security})")
    applet = doc.get("applet")
    if applet is not None:
        line = f"applet: {applet['sw']} {applet['result']}"
        plan = applet.get("plan")
        if plan:
            line += (f"; {format_bytes(plan['remaining_bytes'])} left of {format_bytes(plan['total_bytes'])}, "
                     f"{plan['state']}" + (f", expires {plan['expires']}" if plan.get("expires") else
                                           f", {plan['validity_days']} days from activation"))
        print(line)
    elif por["status"] != "00":
        print("nothing changed on the card")
    return EXIT_OK if doc["ok"] else EXIT_FAILED


# --- phone ----------------------------------------------------------------------------------------------


def _clock(text: str | None) -> Callable[[], datetime]:
    if text is None:
        return lambda: datetime.now().astimezone().replace(microsecond=0)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--date {text!r}: ISO 8601 with a zone, e.g. 2026-11-26T10:00+01:00") from None
    if dt.utcoffset() is None:
        raise InputError(f"--date {text!r}: needs a time zone, e.g. +01:00")
    return lambda: dt


def _show(entry: dict[str, Any]) -> None:
    name = entry["command"]
    if name == "SET UP MENU":
        items = ", ".join(f"{i['id']} {i['text']}" for i in entry.get("items", []))
        print(f"[menu] {entry.get('alpha', '')}: {items}")
    elif name == "DISPLAY TEXT":
        print("[screen] " + entry.get("text", "").replace("\n", "\n         "))
    elif name == "SELECT ITEM":
        items = ", ".join(f"{i['id']} {i['text']}" for i in entry.get("items", []))
        print(f"[select] {entry.get('alpha', '')}: {items} -> {entry.get('chosen')}")
    elif name == "LAUNCH BROWSER":
        print(f"[browser] {entry.get('url') or '(default page)'} ({entry.get('alpha', '')})")
    elif name == "PROVIDE LOCAL INFORMATION":
        print(f"[phone] the card asks for the {entry.get('asks')}: {entry.get('answer')}")
    elif name == "SET UP EVENT LIST":
        print(f"[phone] the card listens to: {', '.join(entry.get('events', []))}")
    else:
        print(f"[{name}]")


def cmd_phone(args: argparse.Namespace) -> int:
    from simtool.commands import cat, uicc

    clock = _clock(args.date)
    plmn = cat.parse_plmn(args.register) if args.register else None
    interactive = not args.select and not args.json and sys.stdin.isatty()
    choices = list(args.choose)

    def choose(cmd: cat.ProactiveCommand) -> int | None:
        items = cmd.menu_items
        if choices:
            wanted = choices.pop(0).strip()
            for i, text in items:
                if text.casefold() == wanted.casefold() or str(i) == wanted:
                    return i
            raise InputError(f"--choose {wanted!r}: not among {', '.join(t for _, t in items)}")
        if interactive:
            print(f"[select] {cmd.alpha or ''}")
            for i, text in items:
                print(f"   {i}  {text}")
            answer = input("choose (empty = back): ").strip()
            return int(answer) if answer.isdigit() and int(answer) in dict(items) else None
        return None

    term = cat.Terminal(language=args.language, clock=clock, choose=choose,
                        show=(lambda e: None) if args.json else _show)
    with open_reader_from_args(args) as reader:
        def step(data: bytes) -> None:
            resp = reader.send(uicc.envelope(data))
            if resp.sw == 0x9300:
                raise CardError(f"{reader.name}: the card's toolkit is busy (9300)")
            if not resp.ok:
                raise CardError(f"{reader.name}: ENVELOPE answered {resp.sw:04X}")
            cat.run_session(reader.send, resp, term)

        first = reader.send(uicc.terminal_profile(term.profile))
        if not first.ok:
            raise CardError(f"{reader.name}: TERMINAL PROFILE answered {first.sw:04X}")
        cat.run_session(reader.send, first, term)
        if plmn is not None:
            if not args.json:
                print(f"[phone] registered on {args.register} (normal service)")
            step(cat.location_status(cat.LOCATION_NORMAL, plmn))
        for wanted in args.select:
            item = term.find_item(wanted)
            if not args.json:
                print(f"[phone] selects {wanted!r}")
            step(cat.menu_selection(item))
        while interactive and term.menu is not None:
            items = term.menu["items"]
            print(f"\n{term.menu['title']}")
            for it in items:
                print(f"   {it['id']}  {it['text']}")
            answer = input("item (q = quit): ").strip()
            if answer.lower() in ("q", "quit", ""):
                break
            try:
                step(cat.menu_selection(term.find_item(answer)))
            except InputError as e:
                print(e)
    if args.json:
        emit_json({"ok": True, "reader": args.reader, "language": args.language, "menu": term.menu,
                   "events": term.events, "screens": term.transcript})
    return EXIT_OK


# --- conformance ----------------------------------------------------------------------------------------


def _ota_step(reader: Any, keys: Any) -> Callable[[list[str]], bytes]:
    """The `ota` line of a script: build a secured SMS with the card's counter + 1, as ENVELOPE bytes."""
    from simtool.commands import cat, uicc

    last: dict[str, bytes] = {}

    def build(argv: list[str]) -> bytes:
        if argv == ["again"]:
            if "apdu" not in last:
                raise InputError("`ota again` before any `ota` line")
            return last["apdu"]
        parser = argparse.ArgumentParser(prog="ota", add_help=False, exit_on_error=False)
        kinds = parser.add_subparsers(dest="kind", required=True)
        t = kinds.add_parser("topup", exit_on_error=False)
        t.add_argument("--add", default="0")
        t.add_argument("--extend", default="0d")
        kinds.add_parser("set-balance", exit_on_error=False).add_argument("--remaining", required=True)
        try:
            ns = parser.parse_args(argv)
        except (argparse.ArgumentError, SystemExit):
            raise InputError(f"ota {' '.join(argv)}: topup --add SIZE --extend DAYS | set-balance "
                             "--remaining SIZE | again") from None
        if ns.kind == "topup":
            from simtool.commands import plan

            commands = plan.topup(plan.parse_bytes(ns.add), plan.parse_days(ns.extend))
        else:
            commands, _ = _commands(ns.kind, ns)
        reader.send(uicc.select_path([0x7F4A])).check("SELECT DF.PLAN")
        raw = reader.send(uicc.read_binary(0, 5, sfi=0x04))
        if raw.sw != 0x9000 or len(raw.data) != 5:
            raise InputError(f"cannot read EF.OTA_CNTR (SW {raw.sw:04X}); PIN1 must be disabled")
        counter = int.from_bytes(raw.data, "big") + 1
        last["apdu"] = uicc.envelope(cat.sms_pp_download(build_tpdu(keys, counter, commands)), le=256).to_bytes()
        return last["apdu"]

    return build


def cmd_conformance(args: argparse.Namespace) -> int:
    """Run the scripts in order; every command goes through the reader's ADM guard (`--min-adm-tries`), and
    a command it holds back stops the run with exit 4. Logs are masked like `--trace`."""
    from simtool.commands.apdu import Apdu
    from simtool.commands.script import parse_script, run_script
    from simtool.commands.trace import Tracer
    from simtool.inputs import read_bounded

    scripts = []
    for path in args.scripts:
        raw = read_bounded(path, MAX_TEXT_FILE, path, hint=" for a conformance script")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise InputError(f"{path}:{line}: (file): not UTF-8 text") from None
        scripts.append(parse_script(text, path))
    keys = _load_keys(args.ota_keys) if args.ota_keys else None
    results = []
    with open_reader_from_args(args) as reader:
        reader.adm_guard.min_tries = args.min_adm_tries
        ota = _ota_step(reader, keys) if keys is not None else None
        for script in scripts:
            tracer = Tracer(keep=False, secret_fids=reader.secret_fids or (), secret_sfis=reader.secret_sfis or ())
            outcome = run_script(script, lambda raw: reader.send(Apdu.from_bytes(raw)).to_bytes(), reader.reset,
                                 ota, tracer)
            results.append(outcome)
            if not args.json:
                _print_outcome(outcome, args.verbose_log)
            if outcome.status == "held":
                break  # the guard said no: nothing more is sent to this card
    held = [r for r in results if r.status == "held"]
    failed = sum(r.status == "failed" for r in results)
    summary = {"passed": sum(r.status == "passed" for r in results), "failed": failed,
               "skipped": sum(r.status == "skipped" for r in results), "held": len(held),
               "not_run": len(scripts) - len(results)}
    if args.json:
        emit_json({"ok": not failed and not held, "reader": args.reader, **summary,
                   "scripts": [r.as_dict() for r in results]})
    else:
        print(f"{summary['passed']} passed, {failed} failed, {summary['skipped']} skipped"
              + (f", 1 held back by the ADM guard ({summary['not_run']} not run)" if held else ""))
    if held:
        print(f"error: {held[0].name}:{held[0].line}: {held[0].reason}", file=sys.stderr)
        return EXIT_GUARD
    return EXIT_FAILED if failed else EXIT_OK


def _print_outcome(outcome: Any, verbose_log: bool) -> None:
    mark = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "held": "HELD"}[outcome.status]
    line = f"{mark} {outcome.name} ({outcome.steps} steps)"
    if outcome.status in ("failed", "held"):
        line += f": line {outcome.line}: {outcome.reason}"
        if outcome.expected:
            line += f"\n     expected {outcome.expected}\n     got      {outcome.got}"
    elif outcome.status == "skipped":
        line += f": {outcome.reason}"
    print(line)
    if outcome.status in ("failed", "held") and verbose_log:
        print("\n".join("     " + entry.replace("\n", "\n     ") for entry in outcome.log))

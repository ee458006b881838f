"""Factory commands: `keys new`, `batch create|run|status|export|decrypt|void|demo` (issue 6).

Secrets reach these commands from files or the environment (`--adm-hex-file`, `--op-file`, `--transport-key
FILE` or $SIMTOOL_TRANSPORT_KEY) and leave them only sealed, except `batch decrypt`, whose purpose it is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simtool.cli.common import (
    add_min_adm_tries,
    add_secret,
    emit_json,
    group,
    int_range,
    nonneg_float,
    positive_float,
    positive_int,
    reader_uri,
    secret,
)
from simtool.errors import EXIT_OK, InputError

if TYPE_CHECKING:
    from simtool.batch.feed import CardSource

DEMO_PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "kpn-wechat-1gb-15d.yaml"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = group(sub, "keys", "transport keys for sealing secrets at rest")
    k = keys.add_parser("new", help="create a 32-byte transport key (mode 0600) and print its KCV")
    k.add_argument("file", metavar="FILE")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_keys_new)

    b = group(sub, "batch", "factory batches: create, run on many readers, status, export")

    c = b.add_parser("create", help="allocate identities and keys for a batch of cards")
    c.add_argument("directory", metavar="DIR")
    c.add_argument("--profile", required=True, metavar="PROFILE")
    c.add_argument("--count", type=positive_int(), metavar="N", help="number of cards (default: the rows of --input)")
    c.add_argument("--iccid-start", metavar="ICCID",
                   help="first ICCID: 19/20 digits with a valid Luhn digit, or 18 digits (the digit is appended)")
    c.add_argument("--append-luhn", action="store_true", help="--iccid-start is an 18/19-digit payload")
    c.add_argument("--imsi-start", required=True, metavar="IMSI", help="first IMSI, inside the profile's MCC/MNC")
    c.add_argument("--msisdn-start", metavar="E164", help="first MSISDN, e.g. +31612000001")
    c.add_argument("--transport-key", metavar="FILE", help="the operator's transport key (or $SIMTOOL_TRANSPORT_KEY)")
    add_secret(c, "--adm-hex", "the vendor's ADM1 key for every card, 16 hex digits")
    c.add_argument("--adm-file", metavar="FILE", help="file with the vendor's ADM1 key (16 hex digits)")
    c.add_argument("--input", metavar="VENDOR.csv", help="the vendor's file: ADM1 per card, pre-printed ICCIDs")
    add_secret(c, "--op", "the operator's OP, 32 hex digits (OPc is derived per card; default: random OPc)")
    c.add_argument("--ledger", metavar="URL", help="ledger URL (default sqlite:///DIR/ledger.db)")
    c.add_argument("--esim", action="store_true", help="profile packages instead of cards (no ADM1: there is no "
                   "card); run it with `batch run DIR --esim OUTDIR`")
    c.add_argument("--workers", type=int_range(1, 64), metavar="N", help=argparse.SUPPRESS)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_create)

    r = b.add_parser("run", help="flash the batch's cards on one or more readers")
    r.add_argument("directory", metavar="DIR")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--reader", action="append", metavar="URI", type=reader_uri,
                     help="emu-feed:DIR, emu-feed:, pcsc:N or pcsc:NAME; repeat for more readers")
    src.add_argument("--readers", choices=["all"], help="every PC/SC reader")
    src.add_argument("--esim", metavar="OUTDIR", help="an eSIM batch: one sealed profile package per identity, "
                     "OUTDIR/ICCID.upp (AES-GCM under the transport key, ICCID as associated data)")
    r.add_argument("--smdp", metavar="HOST", help="with --esim: also OUTDIR/activation-codes.csv (ICCID, matching "
                   "ID, LPA:1$HOST$ID) for every verified package")
    r.add_argument("--max-cards", type=positive_int(), metavar="N", help="stop after N cards")
    r.add_argument("--max-failures", type=positive_int(), default=3, metavar="N",
                   help="a reader stops after N consecutive failed cards (default 3)")
    add_min_adm_tries(r)
    r.add_argument("--lease-ttl", type=positive_float(), default=60.0, metavar="S",
                   help="lease lifetime without heartbeat")
    r.add_argument("--transport-key", metavar="FILE", help="default: the file named at create")
    r.add_argument("--ledger", metavar="URL")
    r.add_argument("--json", action="store_true", help="one JSON event per line instead of the live display")
    r.add_argument("--trace", action="store_true", help="print the readers' APDUs (PIN/key data masked) to stderr")
    r.add_argument("--gsup", metavar="HOST:PORT", help="check each card with the operator's HLR over GSUP (its "
                   "vectors, after `hlr load DIR`) instead of our own Milenage; an HLR away stops the run (exit 3)")
    r.add_argument("--gsup-timeout", type=positive_float(), default=5.0, metavar="S",
                   help="with --gsup: seconds to wait for the HLR (default 5)")
    r.set_defaults(func=cmd_run)

    s = b.add_parser("status", help="counts, failures, cards in flight, per-reader figures")
    s.add_argument("directory", metavar="DIR")
    s.add_argument("--ledger", metavar="URL")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    e = b.add_parser("export", help="the operator's output file: verified cards, secrets sealed")
    e.add_argument("directory", metavar="DIR")
    e.add_argument("--out", required=True, metavar="FILE")
    e.add_argument("--force", action="store_true", help="replace an existing output file")
    e.add_argument("--transport-key", metavar="FILE")
    e.add_argument("--ledger", metavar="URL")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_export)

    d = b.add_parser("decrypt", help="the operator's side: print an export's rows in the clear")
    d.add_argument("file", metavar="FILE")
    d.add_argument("--transport-key", metavar="FILE")
    d.add_argument("--out", metavar="FILE", help="write the clear rows to FILE (0600) instead of stdout")
    d.add_argument("--force", action="store_true", help="replace an existing --out file")
    d.add_argument("--format", default=None, metavar="FMT",
                   help="csv (default), json, pysim (pySim-shell --csv), osmo-hlr (VTY commands), open5gs "
                        "(mongoimport documents; needs --profile)")
    d.add_argument("--profile", metavar="PROFILE", help="the batch's profile (checked against profile_sha256): "
                   "the APN and rates for --format open5gs")
    d.add_argument("--json", action="store_true", help="the same as --format json")
    d.set_defaults(func=cmd_decrypt)

    v = b.add_parser("void", help="take an identity out of the batch for good (lost or destroyed card)")
    v.add_argument("directory", metavar="DIR")
    v.add_argument("iccid", metavar="ICCID")
    v.add_argument("--reason", required=True, metavar="TEXT")
    v.add_argument("--ledger", metavar="URL")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_void)

    m = b.add_parser("demo", help="the factory job on emulated readers: create, run live, status, export")
    m.add_argument("--dir", metavar="DIR", help="where to put it (default: a new directory under /tmp)")
    m.add_argument("--count", type=positive_int(), default=20, metavar="N")
    m.add_argument("--readers", type=int_range(1, 16), default=4, metavar="N")
    m.add_argument("--latency-ms", type=nonneg_float(60_000.0), default=10.0, metavar="MS",
                   help="per APDU (default 10)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_demo)


# -- helpers -----------------------------------------------------------------------------------------------------
def _open(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(batch dir, ledger, batch record) for DIR, with --ledger overriding the URL stored at create."""
    from simtool.batch.batchdir import BatchDir
    from simtool.batch.ledger import open_ledger

    bdir = BatchDir.load(args.directory)
    ledger = open_ledger(args.ledger or bdir.ledger)
    batch = ledger.batch(bdir.batch_id)
    if batch is None:
        ledger.close()
        raise InputError(f"{args.directory}: batch {bdir.batch_id} is not in ledger {bdir.ledger}")
    return bdir, ledger, batch


def _key(args: argparse.Namespace, bdir: Any, batch: Any) -> bytes:
    from simtool.batch.keys import check_kcv, load_transport_key

    path = args.transport_key or (bdir.transport_key if bdir is not None else None)
    key = load_transport_key(path)
    check_kcv(key, batch.kcv, args.transport_key or path or "$SIMTOOL_TRANSPORT_KEY")
    return key


def _printer(lock: threading.Lock) -> Callable[[dict[str, Any]], None]:
    def emit(ev: dict[str, Any]) -> None:
        with lock:
            sys.stdout.write(json.dumps(ev, ensure_ascii=False) + "\n")
            sys.stdout.flush()

    return emit


# -- commands ----------------------------------------------------------------------------------------------------
def cmd_keys_new(args: argparse.Namespace) -> int:
    from simtool.batch.keys import create_key_file

    value = create_key_file(args.file)
    if args.json:
        emit_json({"file": args.file, "kcv": value})
    else:
        print(f"transport key written to {args.file} (mode 0600); KCV {value}")
    return EXIT_OK


def cmd_create(args: argparse.Namespace) -> int:
    from simtool.batch.create import CreateRequest, create_batch
    from simtool.batch.keys import read_hex_file
    from simtool.profile.identity import adm_from_hex

    problems: list[str] = []
    adm, source = None, "--adm-hex"
    hx = secret(args, "--adm-hex")
    if hx is not None and args.adm_file:
        problems.append("--adm-hex and --adm-file: give one")
    if hx is not None:
        try:
            adm = adm_from_hex(hx)
        except ValueError as e:
            problems.append(f"--adm-hex: {e}")
    elif args.adm_file:
        source = f"--adm-file {args.adm_file}"
        try:
            adm = read_hex_file(args.adm_file, "--adm-file", 8)
        except InputError as e:
            problems += e.errors
    op = None
    op_text = secret(args, "--op")
    if op_text is not None:
        if len(op_text) != 32 or not all(ch in "0123456789abcdefABCDEF" for ch in op_text):
            problems.append(f"--op: must be 32 hex digits (16 bytes), got {len(op_text)} characters")
        else:
            op = bytes.fromhex(op_text)
    req = CreateRequest(directory=args.directory, profile=args.profile, imsi_start=args.imsi_start,
                        transport_key=args.transport_key, count=args.count, iccid_start=args.iccid_start,
                        append_luhn=args.append_luhn, msisdn_start=args.msisdn_start, adm=adm, adm_source=source,
                        vendor_file=args.input, op=op, ledger=args.ledger, workers=args.workers, esim=args.esim,
                        problems=problems)
    res = create_batch(req)
    out = {**res.as_dict(), "seconds": round(res.seconds, 3)}
    if args.json:
        emit_json(out)
    else:
        print(f"batch {out['batch']} in {args.directory}: {out['count']} cards of {out['profile']}, "
              f"ICCID {out['iccid_first']}..{out['iccid_last']}, IMSI {out['imsi_first']}..{out['imsi_last']}"
              + (f", MSISDN {out['msisdn_first']}..{out['msisdn_last']}" if out["msisdn_first"] else ""))
        print(f"  ledger {out['ledger']}; secrets sealed under transport key KCV {out['kcv']}; "
              f"{res.seconds:.1f} s")
        for line in res.fit["warnings"] + [f"{e} (cards of that model will be refused)" for e in res.fit["refused_on"]]:
            print(f"  {line}", file=sys.stderr)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from simtool.batch.feed import all_pcsc_sources, open_source
    from simtool.batch.runner import RunOptions
    from simtool.gsup import GsupClient, parse_address

    if args.max_failures < 1 or (args.max_cards is not None and args.max_cards < 1):
        raise InputError("--max-failures and --max-cards: at least 1")
    esim_out = getattr(args, "esim", None)
    smdp = getattr(args, "smdp", None)
    if smdp is not None and esim_out is None:
        raise InputError("--smdp: goes with --esim OUTDIR (activation codes are for profile packages)")
    if esim_out is not None and getattr(args, "gsup", None):
        raise InputError("--gsup: an eSIM batch has no card to authenticate; check the packages' keys with "
                         "`hlr load` once the SM-DP+ has them")
    if smdp is not None:
        from simtool.esim.activation import check_host

        check_host(smdp)
    hlr_at = parse_address(args.gsup) if getattr(args, "gsup", None) else None
    bdir, ledger, batch = _open(args)
    with ledger:
        key = _key(args, bdir, batch)
        if esim_out is not None:
            from simtool.batch.package import PackageSource

            if not batch.options.get("esim"):
                raise InputError(f"--esim: batch {batch.id} is a card batch (made without --esim): run it on readers")
            sources: list[Any] = [PackageSource(esim_out)]
        elif batch.options.get("esim"):
            raise InputError(f"batch {batch.id} is an eSIM batch: run it with --esim OUTDIR, not on readers")
        else:
            sources = all_pcsc_sources() if args.readers == "all" else [open_source(u) for u in args.reader]
        if getattr(args, "trace", False):
            lock = threading.Lock()

            def trace(line: str) -> None:
                with lock:
                    print(line, file=sys.stderr, flush=True)

            for s in sources:
                s.trace = trace
        opts = RunOptions(max_cards=args.max_cards, max_failures=args.max_failures, lease_ttl=args.lease_ttl,
                          min_adm_tries=args.min_adm_tries)
        with contextlib.ExitStack() as stack:
            if hlr_at is not None:  # connected before the first card: an HLR away is exit 3 with nothing done
                opts.hlr = stack.enter_context(GsupClient(*hlr_at, timeout=args.gsup_timeout))
            return _run_with(args, ledger, batch, key, sources, opts)


def _run_with(args: argparse.Namespace, ledger: Any, batch: Any, key: bytes, sources: list[Any], opts: Any) -> int:
    from simtool.batch.runner import Runner

    codes = _codes_writer(args, ledger, batch)
    if args.json:
        runner = Runner(ledger, batch, key, sources, opts, emit=_printer(threading.Lock()))
        summary = runner.run()
        _printer(threading.Lock())({"event": "summary", **summary.as_dict(), **codes()})
        return summary.exit_code
    return _run_live(ledger, batch, key, sources, opts, codes)


def _codes_writer(args: argparse.Namespace, ledger: Any, batch: Any) -> Callable[[], dict[str, Any]]:
    """`--smdp`: after the run, OUTDIR/activation-codes.csv for every verified package (the summary says where)."""
    smdp, out = getattr(args, "smdp", None), getattr(args, "esim", None)
    if smdp is None or out is None:
        return dict
    from simtool.batch.package import CODES_FILE, read_codes

    read_codes(Path(out) / CODES_FILE)  # a damaged file is refused before the run, not after it

    def write() -> dict[str, Any]:
        from simtool.batch.package import write_codes

        path, rows, new = write_codes(ledger, batch.id, Path(out), smdp)
        return {"activation_codes": {"file": str(path), "rows": rows, "new_matching_ids": new}}

    return write


def _run_live(ledger: Any, batch: Any, key: bytes, sources: list[CardSource], opts: Any,
              codes: Callable[[], dict[str, Any]] = dict) -> int:
    from simtool.batch.runner import Runner
    from simtool.cli.live import LiveDisplay

    holder: dict[str, LiveDisplay] = {}
    runner = Runner(ledger, batch, key, sources, opts, emit=lambda ev: holder["d"].on_event(ev) if holder else None)
    display = LiveDisplay(runner)
    holder["d"] = display
    with display:
        summary = runner.run()
    d = summary.as_dict()
    display.console.print(f"{summary.reason}. Verified this run: {d['verified_this_run']} in {d['seconds']:.1f} s "
                          f"({d['cards_per_min']} cards/min).", highlight=False)
    written = codes().get("activation_codes")
    if written:
        display.console.print(f"activation codes: {written['file']} ({written['rows']} packages, "
                              f"{written['new_matching_ids']} new matching IDs; mode 0600)", highlight=False)
    return summary.exit_code


def cmd_status(args: argparse.Namespace) -> int:
    from simtool.batch.status import batch_status

    _, ledger, batch = _open(args)
    with ledger:
        st = batch_status(ledger, batch)
    if args.json:
        emit_json(st)
        return EXIT_OK
    b, c = st["batch"], st["counts"]
    what = "eSIM profile packages" if b.get("esim") else "cards"
    print(f"batch {b['id']}: {b['count']} {what} of {b['profile']} (sha256 {b['profile_sha256'][:16]}…), "
          f"KCV {b['kcv']}, simtool {b['simtool_version']}, created {b['created']}")
    print("  " + "  ".join(f"{k} {v}" for k, v in c.items()) + f"  (left {st['left']})")
    if st["failures"]:
        print("failed:")
        for f in st["failures"]:
            print(f"  {f['iccid']} ({f['updated']}): {f['reason']}")
    if st["in_flight_or_waiting"]:
        print("in flight, or waiting for their card to come back:")
        for f in st["in_flight_or_waiting"]:
            print(f"  {f['iccid']} {f['state']} on {f['reader']}" + (f" (card {f['card']})" if f["card"] else ""))
    if st["voided"]:
        print("voided:")
        for f in st["voided"]:
            print(f"  {f['iccid']} ({f['time']}): {f['detail']}")
    if st["readers"]:
        print("readers:")
        for r in st["readers"]:
            print(f"  {r['reader']}: verified {r['verified']}, failed {r['failed']}, refused {r['refused']}, "
                  f"{r['cards_per_min']} cards/min ({r['first']} .. {r['last']})")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from simtool.batch.export import write_export

    bdir, ledger, batch = _open(args)
    with ledger:
        key = _key(args, bdir, batch)
        n = write_export(ledger, batch, key, args.out, overwrite=args.force)
        counts = ledger.counts(batch.id)
    out = {"batch": batch.id, "out": args.out, "rows": n, "kcv": batch.kcv, "profile_sha256": batch.profile_sha256,
           "not_exported": {k: v for k, v in counts.items() if k != "verified" and v}}
    if args.json:
        emit_json(out)
    else:
        print(f"exported {n} verified cards of batch {batch.id} to {args.out} (mode 0600, sealed under KCV "
              f"{batch.kcv})" + (f"; not exported: {out['not_exported']}" if out["not_exported"] else ""))
    return EXIT_OK


def cmd_decrypt(args: argparse.Namespace) -> int:
    from simtool.batch.keys import load_transport_key
    from simtool.network.cards import from_export
    from simtool.network.formats import FORMATS, render

    fmt = args.format or ("json" if args.json else "csv")
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: not one of {', '.join(FORMATS)}")
    if args.json and fmt != "json":
        raise InputError(f"--json is --format json; it cannot go with --format {fmt}")
    profile = _decrypt_profile(args.profile) if args.profile else None
    key = load_transport_key(args.transport_key)
    cards = from_export(args.file, key)
    text = render(fmt, cards, profile)
    if args.out:
        from simtool.crypto.secrets import write_secret_file

        write_secret_file(args.out, text.encode("utf-8"), overwrite=args.force)
        print(f"{len(cards.cards)} rows in the clear written to {args.out} ({fmt}, mode 0600)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _decrypt_profile(path: str) -> Any:
    from simtool.profile import load_profile

    return load_profile(path)


def cmd_void(args: argparse.Namespace) -> int:
    import getpass
    import socket
    import time

    _, ledger, batch = _open(args)
    if not args.reason.strip():
        raise InputError("--reason: say why (it goes into the audit trail)")
    with ledger:
        before = ledger.get(batch.id, args.iccid)
        row = ledger.void(batch.id, args.iccid, args.reason.strip(),
                          f"{getpass.getuser()}@{socket.gethostname()}", time.time())
    out = {"batch": batch.id, "iccid": row.iccid, "imsi": row.imsi, "was": before.state if before else None,
           "state": row.state, "reason": row.reason}
    if args.json:
        emit_json(out)
    else:
        print(f"voided {row.iccid} (IMSI {row.imsi}, was {out['was']}): {row.reason}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The factory job of `make demo`: 20 cards of the 1 GB plan on 4 emulated readers, live; then status,
    export and a check that the operator can open the export."""
    import tempfile

    from simtool.batch.create import CreateRequest, create_batch
    from simtool.batch.export import read_export, write_export
    from simtool.batch.keys import create_key_file, load_transport_key

    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="simtool-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    key_file = base / "transport.key"
    kcv = create_key_file(key_file)
    bdir = base / "batch"
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    say(f"== transport key {key_file} (KCV {kcv})")
    res = create_batch(CreateRequest(
        directory=str(bdir), profile=str(DEMO_PROFILE), imsi_start="204080000000001", transport_key=str(key_file),
        count=args.count, iccid_start="8931080000000000019", msisdn_start="+31612000001",
        adm=bytes.fromhex("3131313131313131")))
    say(f"== batch {res.batch.id}: {res.batch.count} cards of {res.batch.profile_name} in {bdir}")
    # The emulated cards' files play the cards' own memory: they live apart from the ledger (DESIGN.md §4).
    readers = [f"emu-feed:{base}/cards/feed{i + 1}?latency_ms={args.latency_ms:g}" for i in range(args.readers)]
    say(f"== simtool batch run {bdir} " + " ".join(f"--reader {u}" for u in readers))
    run_args = argparse.Namespace(directory=str(bdir), reader=readers, readers=None, max_cards=None, max_failures=3,
                                  min_adm_tries=3, lease_ttl=60.0, transport_key=None, ledger=None, json=args.json)
    code = cmd_run(run_args)
    say(f"== simtool batch status {bdir}")
    if not args.json:
        cmd_status(argparse.Namespace(directory=str(bdir), ledger=None, json=False))
    out = base / "export.txt"
    from simtool.batch.batchdir import BatchDir
    from simtool.batch.ledger import open_ledger

    b = BatchDir.load(bdir)
    with open_ledger(b.ledger) as ledger:
        batch = ledger.batch(b.batch_id)
        assert batch is not None  # created above by this demo
        n = write_export(ledger, batch, load_transport_key(key_file), out)
    rows = list(read_export(out, load_transport_key(key_file)).decrypt(load_transport_key(key_file)))
    say(f"== simtool batch export {bdir} --out {out}: {n} cards; `simtool batch decrypt {out} --transport-key "
        f"{key_file}` opens all {len(rows)} rows")
    if args.json:  # one more JSON line after the run's event stream
        _printer(threading.Lock())({"event": "demo", "directory": str(base), "batch": res.batch.id, "exported": n,
                                    "export": str(out), "transport_key": str(key_file), "kcv": kcv,
                                    "run_exit_code": code})
    return code if code else EXIT_OK

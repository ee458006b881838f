"""Batch-level power cuts: `simtool batch run` killed (SIGKILL, as a power loss does it) at chosen points of
its run, then run again; `check_batch` then says whether the batch survived.

The cut runs `python -m tests.hardening.batchcut --cut POINT:N -- batch run DIR ...` in a separate process:
the real CLI, with the ledger's and the feed's methods wrapped so that the process kills itself at the N-th
time it reaches POINT. No hook in simtool itself: the wrappers sit on the public `Ledger` transitions the
runner makes (`lease_next`, `claim`, `mark_writing`, `mark_verified`, on the ledger every `Runner` is given, so
any engine: SQLite or PostgreSQL), the feed's `finish` (the card goes to `done/`) and the emulated transport's
`transmit` (one APDU). The points, in the order a card meets them:

    lease:after       an identity leased, nothing written (the journal has no card for it yet)
    claim:after       a card that came back claimed again, its re-flash not begun
    writing:before    ADM1 verified, the `writing` commit not made: no write APDU sent yet
    writing:after     `writing` committed, the first write APDU not sent
    apdu:K            before the K-th APDU of the run (inside the writes, the read-back or AUTHENTICATE)
    verified:before   the card's last APDU answered (read back, authenticated), `verified` not committed
    verified:after    `verified` committed, the card still in the reader
    finish:after      between cards: the card moved to done/, the next one not taken

`batch run --esim OUTDIR` (profile packages) meets the ledger points above (lease, claim, writing, verified)
and three of its own, on `PackageSource`:

    upp-move:before   the sealed package durable in its temp file, not yet linked to OUTDIR/ICCID.upp
    upp:before        `writing` committed, the package not yet written
    upp:after         OUTDIR/ICCID.upp in place, not yet read back and checked
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from tests.batch.batch_helpers import card_ids

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
ADM_HEX = "3131313131313131"
POINTS = ("lease:after", "claim:after", "writing:before", "writing:after", "apdu", "verified:before",
          "verified:after", "finish:after")
ESIM_POINTS = ("lease:after", "claim:after", "writing:before", "writing:after", "upp:before", "upp-move:before",
               "upp:after", "verified:before", "verified:after")
TRANSITIONS = {"free", "leased", "writing", "verified", "failed", "voided"}


# -- the cut, inside the `batch run` process ------------------------------------------------------------------
def tap_runner_ledgers(tap: Callable[[Any], None]) -> Callable[[], None]:
    """`tap(ledger)` on the ledger object of every `Runner` made from now on, before the runner uses it (to wrap
    its transitions on that object: any engine); returns the undo."""
    from simtool.batch.runner import Runner

    init = Runner.__init__

    def tapped(self: Any, ledger: Any, *a: Any, **kw: Any) -> None:
        tap(ledger)
        init(self, ledger, *a, **kw)

    Runner.__init__ = tapped  # type: ignore[method-assign]

    def undo() -> None:
        Runner.__init__ = init  # type: ignore[method-assign]

    return undo


def _install(point: str, nth: int, sig: int = signal.SIGKILL) -> None:
    from simtool.batch.feed import EmuFeed
    from simtool.transport.emulated import EmulatedTransport

    lock = threading.Lock()
    seen = [0]

    def hit(name: str) -> None:
        if name != point:
            return
        with lock:
            seen[0] += 1
            if seen[0] == nth:
                sys.stdout.flush()
                os.kill(os.getpid(), sig)

    def wrap(cls: Any, meth: str, name: str, when_after: Callable[[Any], bool] = lambda r: True) -> None:
        orig = getattr(cls, meth)

        def wrapper(*a: Any, **kw: Any) -> Any:
            hit(f"{name}:before")
            r = orig(*a, **kw)
            if when_after(r):
                hit(f"{name}:after")
            return r

        setattr(cls, meth, wrapper)

    def tap(ledger: Any) -> None:
        wrap(ledger, "lease_next", "lease", lambda r: r is not None)
        wrap(ledger, "claim", "claim")
        wrap(ledger, "mark_writing", "writing")
        wrap(ledger, "mark_verified", "verified")

    tap_runner_ledgers(tap)
    wrap(EmuFeed, "finish", "finish")
    from simtool.batch.package import PackageSource

    wrap(PackageSource, "write", "upp")
    wrap(PackageSource, "before_move", "upp-move")
    transmit = EmulatedTransport.transmit

    def counted(self: Any, apdu: bytes) -> bytes:
        hit("apdu")
        return transmit(self, apdu)

    EmulatedTransport.transmit = counted  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sig = signal.SIGKILL
    if len(argv) >= 2 and argv[0] == "--signal":  # e.g. INT: a Ctrl-C at the point instead of a power cut
        sig = signal.Signals["SIG" + argv[1]]
        argv = argv[2:]
    if len(argv) < 3 or argv[0] != "--cut" or argv[2] != "--":
        print("usage: python -m tests.hardening.batchcut [--signal NAME] --cut POINT:N -- SIMTOOL-ARGS...",
              file=sys.stderr)
        return 2
    point, _, nth = argv[1].rpartition(":")
    if point not in POINTS + ESIM_POINTS and not point.startswith("apdu"):
        print(f"unknown cut point {point}; known: {', '.join(dict.fromkeys(POINTS + ESIM_POINTS))}", file=sys.stderr)
        return 2
    _install(point, int(nth), sig)
    from simtool.cli.main import main as simtool_main

    return simtool_main(argv[3:])


# -- the test side ----------------------------------------------------------------------------------------------
def _sim(*args: Any) -> int:
    from simtool.cli.main import main as simtool_main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return simtool_main([str(a) for a in args])


def make_batch(workdir: Path, count: int) -> tuple[Path, Path]:
    """A new batch of `count` identities in workdir/b and its transport key workdir/tk."""
    workdir.mkdir(parents=True, exist_ok=True)
    key = workdir / "tk"
    assert _sim("keys", "new", key) == 0
    d = workdir / "b"
    assert _sim("batch", "create", d, "--profile", PROFILE, "--count", count, "--adm-hex", ADM_HEX,
                "--iccid-start", "8931080000000000019", "--imsi-start", "204080000000001",
                "--transport-key", key) == 0
    return d, key


def run(d: Path, feeds: list[Path], cut: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`batch run d` on emu-feed readers; with `cut` ("POINT:N") the process kills itself there."""
    args = ["batch", "run", str(d), "--json", "--lease-ttl", "30"]
    for f in feeds:
        args += ["--reader", f"emu-feed:{f}"]
    pre = ["-m", "tests.hardening.batchcut", "--cut", cut, "--"] if cut else ["-m", "simtool"]
    return subprocess.run([sys.executable, *pre, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def cut_run(d: Path, feeds: list[Path], cut: str) -> bool:
    """A run cut at `cut`; False if the run ended before it reached the point."""
    p = run(d, feeds, cut)
    if p.returncode == -signal.SIGKILL:
        return True
    if p.returncode in (0, 1):
        return False
    raise AssertionError(f"cut {cut}: exit {p.returncode}: {p.stderr[-2000:]}")


def check_batch(d: Path, feeds: list[Path], key_file: Path, n: int, out: Path, *, cards: list[Path] | None = None,
                trays: bool = True, voided: Collection[str] = ()) -> list[str]:
    """The batch after its cuts (or reader faults) and a clean run: every problem found (empty: it survived).

    Every identity verified exactly once, except `voided` (the ones the test voided: on no card, never verified);
    once `writing`, never free or leased again; distinct identities on the cards (`cards`, default every card
    file under `feeds`), each the ledger's; the export complete, its keys the ledger's, and every card
    authenticates with them. `trays`: the emu-feed layout, where a card that carries an identity is in `done/`
    and is the card the ledger's journal names."""
    from simtool.batch.batchdir import BatchDir
    from simtool.batch.export import read_export, write_export
    from simtool.batch.keys import CardSecrets, Sealer, load_transport_key
    from simtool.batch.ledger import open_ledger
    from simtool.crypto import aka
    from simtool.emulator import Card
    from simtool.personalize.auth import authenticate, select_usim
    from simtool.transport.base import Reader
    from simtool.transport.emulated import EmulatedTransport

    bad: list[str] = []
    voided = set(voided)
    bdir = BatchDir.load(d)
    key = load_transport_key(key_file)
    sealer = Sealer(key)
    with open_ledger(bdir.ledger) as ledger:
        batch = ledger.batch(bdir.batch_id)
        rows = {r.iccid: r for r in ledger.rows(bdir.batch_id)}
        events = list(ledger.events(bdir.batch_id))
        if out.exists():
            out.unlink()
        exported = write_export(ledger, batch, key, out)
    issued = set(rows) - voided
    wrong = sorted((r.iccid, r.state, r.reason) for r in rows.values()
                   if r.state != ("voided" if r.iccid in voided else "verified"))
    if len(rows) != n or wrong:
        bad.append(f"ledger: {len(rows)} rows, not in their expected state: {wrong}")

    per: dict[str, list[str]] = defaultdict(list)
    for e in events:
        if e.iccid and e.state in TRANSITIONS:
            per[e.iccid].append(e.state)
    for iccid, states in per.items():
        last, times = ("voided", 0) if iccid in voided else ("verified", 1)
        if states.count("verified") != times or states[-1] != last:
            bad.append(f"events of {iccid}: {states}")
        if "writing" in states and {"free", "leased"} & set(states[states.index("writing"):]):
            bad.append(f"{iccid} went back to free after writing: {states}")
        if states and states[0] != "leased":
            bad.append(f"{iccid} did not start with a lease: {states}")

    cards = sorted(p for f in feeds for p in f.rglob("card-*.json")) if cards is None else cards
    ids = {p: card_ids(p) for p in cards}
    carrying = {p: v for p, v in ids.items() if v != (None, None)}
    iccids = [i for i, _ in carrying.values()]
    imsis = [m for _, m in carrying.values()]
    want = len(issued)
    if len(carrying) != want or len(set(iccids)) != want or len(set(imsis)) != want or set(iccids) != issued:
        bad.append(f"cards: {len(carrying)} carry an identity, {len(set(iccids))} distinct ICCIDs, "
                   f"{len(set(imsis))} distinct IMSIs, for {want} identities issued")
    for p, (iccid, imsi) in carrying.items():
        row = rows.get(iccid or "")
        if row is None or row.imsi != imsi:
            bad.append(f"{p.name}: carries {iccid}/{imsi}, the ledger says {row and row.imsi}")
            continue
        if not trays:
            continue
        if p.parent.name != "done":
            bad.append(f"{p}: carries {iccid} but is not in done/")
        if row.card_ref is None or Path(row.card_ref).name != p.name or Path(row.card_ref).parent != p.parent.parent:
            bad.append(f"{p}: carries {iccid}, which the ledger gives to card {row.card_ref}")

    clear = {c["iccid"]: c for c in read_export(out, key).decrypt(key)}
    if exported != want or set(clear) != issued:
        bad.append(f"export: {exported} rows, {len(clear)} decrypted, for {want} identities issued")
    for p, (iccid, _) in carrying.items():
        c = clear.get(iccid or "")
        if c is None:
            continue
        if c["ki"] != CardSecrets.unpack(sealer.open(rows[iccid].secrets, iccid)).ki.hex():
            bad.append(f"export: the Ki of {iccid} is not the ledger's")
        reader = Reader(EmulatedTransport(Card.load(p), "emu"))
        select_usim(reader)
        if not authenticate(reader, aka.Milenage(bytes.fromhex(c["ki"]), bytes.fromhex(c["opc"]))).ok:
            bad.append(f"{p.name}: AUTHENTICATE fails with the exported keys of {iccid}")
    return bad


def scenario(workdir: Path, cuts: list[str], n: int = 3, readers: int = 2) -> tuple[int, list[str]]:
    """A new batch, the runs cut at `cuts` one after the other, a clean run, the checks.
    Returns (cuts that fired, problems)."""
    d, key = make_batch(workdir, n)
    feeds = [workdir / f"feed{i}" for i in range(1, readers + 1)]
    fired = sum(cut_run(d, feeds, c) for c in cuts)
    p = run(d, feeds)
    problems = [] if p.returncode == 0 else [f"clean run: exit {p.returncode}: {p.stderr[-500:]}"]
    if p.returncode == 0:
        summary = json.loads(p.stdout.splitlines()[-1])
        if summary["counts"]["verified"] != n:
            problems.append(f"clean run: {summary['counts']}")
    return fired, problems + check_batch(d, feeds, key, n, workdir / "export.txt")


# -- eSIM batches ------------------------------------------------------------------------------------------------
def make_esim_batch(workdir: Path, count: int) -> tuple[Path, Path]:
    """A new eSIM batch of `count` identities in workdir/b and its transport key workdir/tk."""
    workdir.mkdir(parents=True, exist_ok=True)
    key = workdir / "tk"
    assert _sim("keys", "new", key) == 0
    d = workdir / "b"
    assert _sim("batch", "create", d, "--esim", "--profile", PROFILE, "--count", count,
                "--iccid-start", "8931080000000100017", "--imsi-start", "204080000100001",
                "--transport-key", key) == 0
    return d, key


def run_esim(d: Path, out: Path, cut: str | None = None, *, smdp: str | None = None, extra: tuple[str, ...] = (),
             timeout: float = 300) -> subprocess.CompletedProcess:
    """`batch run d --esim out --json`; with `cut` ("POINT:N") the process kills itself there."""
    args = ["batch", "run", str(d), "--esim", str(out), "--json", "--lease-ttl", "30", *extra]
    if smdp:
        args += ["--smdp", smdp]
    pre = ["-m", "tests.hardening.batchcut", "--cut", cut, "--"] if cut else ["-m", "simtool"]
    return subprocess.run([sys.executable, *pre, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def cut_run_esim(d: Path, out: Path, cut: str, smdp: str | None = None) -> bool:
    """A run cut at `cut`; False if the run ended before it reached the point."""
    p = run_esim(d, out, cut, smdp=smdp)
    if p.returncode == -signal.SIGKILL:
        return True
    if p.returncode in (0, 1):
        return False
    raise AssertionError(f"cut {cut}: exit {p.returncode}: {p.stderr[-2000:]}")


def check_esim_batch(d: Path, out: Path, key_file: Path, n: int) -> list[str]:
    """The eSIM batch after its cuts and a clean run: every problem found (empty: it survived).

    Every identity verified exactly once, never free or leased again once `writing`; OUTDIR holds exactly one
    package per identity and nothing else but the activation codes (no second copy, no temp file, nothing set
    aside); each package is sealed for the ICCID of its name, is the journal's file for it, decodes with no
    problem and is byte for byte `esim.build` of the ledger's identity; the export is complete and its keys are
    the packages' keys; activation-codes.csv (if there) names each verified identity once, with distinct IDs."""
    from simtool.batch.batchdir import BatchDir
    from simtool.batch.export import read_export, write_export
    from simtool.batch.keys import CardSecrets, Sealer, load_transport_key
    from simtool.batch.ledger import open_ledger
    from simtool.batch.package import CODES_FILE, read_codes
    from simtool.batch.runner import identity_for, load_frozen_profile
    from simtool.errors import InputError
    from simtool.esim import build, inspect
    from simtool.esim.sealed import unseal_package

    bad: list[str] = []
    bdir = BatchDir.load(d)
    key = load_transport_key(key_file)
    sealer = Sealer(key)
    with open_ledger(bdir.ledger) as ledger:
        batch = ledger.batch(bdir.batch_id)
        rows = {r.iccid: r for r in ledger.rows(bdir.batch_id)}
        events = list(ledger.events(bdir.batch_id))
        export = out.parent / "export.txt"
        export.unlink(missing_ok=True)
        exported = write_export(ledger, batch, key, export)
    wrong = sorted((r.iccid, r.state, r.reason) for r in rows.values() if r.state != "verified")
    if len(rows) != n or wrong:
        bad.append(f"ledger: {len(rows)} rows, not verified: {wrong}")
    per: dict[str, list[str]] = defaultdict(list)
    for e in events:
        if e.iccid and e.state in TRANSITIONS:
            per[e.iccid].append(e.state)
    for iccid, states in per.items():
        if states.count("verified") != 1 or states[-1] != "verified":
            bad.append(f"events of {iccid}: {states}")
        if "writing" in states and {"free", "leased"} & set(states[states.index("writing"):]):
            bad.append(f"{iccid} went back to free after writing: {states}")
        if states and states[0] != "leased":
            bad.append(f"{iccid} did not start with a lease: {states}")

    allowed = {CODES_FILE, f".{CODES_FILE}.lock"}
    stray = sorted(p.name for p in out.iterdir() if not p.name.endswith(".upp") and p.name not in allowed)
    if stray:
        bad.append(f"{out}: files besides the packages: {stray}")
    packages = sorted(out.glob("*.upp"))
    if {p.stem for p in packages} != set(rows):
        bad.append(f"{out}: {len(packages)} packages for {len(rows)} identities")
    profile = load_frozen_profile(batch)
    clear = {c["iccid"]: c for c in read_export(export, key).decrypt(key)}
    if exported != len(rows) or set(clear) != set(rows):
        bad.append(f"export: {exported} rows, {len(clear)} decrypted, for {len(rows)} identities")
    imsis = []
    for p in packages:
        row = rows.get(p.stem)
        if row is None:
            continue
        iccid, der = unseal_package(key, p.read_bytes())
        doc = inspect(der, show_secrets=True)
        imsis.append(doc["imsi"])
        sec = CardSecrets.unpack(sealer.open(row.secrets, row.iccid))
        if iccid != p.stem or doc["problems"] or der != build(profile, identity_for(row, sec)):
            bad.append(f"{p.name}: sealed for {iccid}, problems {doc['problems'][:2]}, or not the identity's build")
        if row.card_ref != str(p.resolve()):
            bad.append(f"{p.name}: the journal names {row.card_ref}")
        aka = next(e for e in doc["elements"] if e["kind"] == "akaParameter")
        if iccid in clear and aka["k"].lower() != clear[iccid]["ki"]:
            bad.append(f"{p.name}: K is not the export's Ki")
    if len(set(imsis)) != len(packages) or set(imsis) != {r.imsi for r in rows.values()}:
        bad.append(f"packages: {len(set(imsis))} distinct IMSIs for {len(packages)} packages")
    codes_file = out / CODES_FILE
    if codes_file.exists():
        try:
            codes = read_codes(codes_file)
        except InputError as e:
            return [*bad, str(e)]
        if set(codes) != {r.iccid for r in rows.values() if r.state == "verified"} or \
                len(set(codes.values())) != len(codes):
            bad.append(f"{codes_file}: {len(codes)} rows, {len(set(codes.values()))} distinct matching IDs")
    return bad


def esim_scenario(workdir: Path, cuts: list[str], n: int = 4, smdp: str | None = None) -> tuple[int, list[str]]:
    """A new eSIM batch, the runs cut at `cuts` one after the other, a clean run, the checks."""
    d, key = make_esim_batch(workdir, n)
    out = workdir / "packages"
    fired = sum(cut_run_esim(d, out, c, smdp) for c in cuts)
    p = run_esim(d, out, smdp=smdp)
    problems = [] if p.returncode == 0 else [f"clean run: exit {p.returncode}: {p.stderr[-500:]}"]
    return fired, problems + check_esim_batch(d, out, key, n)


if __name__ == "__main__":
    sys.exit(main())

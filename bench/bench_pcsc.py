"""APDU/s through pcscd + vpcd for a read workload (SELECT by path P2=0C + READ BINARY, as bench_emulator),
and the time to flash one card through pcscd against the same card in process.

Three ways to the same emulated card: raw pyscard `SCardTransmit` with the card served by a separate
`simtool emulator serve` process (the usual CI layout: target >= 3,000 APDU/s, DESIGN.md §6), the same
with the card served on a thread of this process, and simtool's `Reader` over `pcsc:` (what flash and
read use: adds the T=0/T=1 exchange, counters, the ADM guard and the PC/SC call deadline). The last two
run in alternating slices of the same run, so a load that comes and goes on a shared machine hits both
alike; their ratio is held to READER_TARGET (a report, not a gate: the machine is noisy).

Needs pcscd + vsmartcard-vpcd + pyscard (started as in the tests: simtool.testing.pcscd).
Run: python bench/bench_pcsc.py [--seconds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "bench"))

SETUP = [bytes.fromhex("00A4040C07A0000000871002"), bytes.fromhex("002000010830303030FFFFFFFF")]
ADM = bytes.fromhex("3131313131313131")
READER_TARGET = 0.6  # the Reader through pcscd, as a share of raw pyscard on the same card
SLICES = 6


def _workload() -> list[bytes]:
    from bench_emulator import workload

    from simtool.emulator import Card

    card = Card.blank(adm=ADM)
    for apdu in SETUP:
        card.process(apdu)
    return workload(card)


def _rate(n: int, elapsed: float) -> dict[str, float]:
    return {"apdus": n, "seconds": round(elapsed, 3), "apdu_per_s": round(n / elapsed)}


def _raw_rate(reader_name: str, apdus: list[bytes], seconds: float) -> dict[str, float]:
    n, elapsed = _raw_slice(reader_name, apdus, seconds)
    return _rate(n, elapsed)


def _raw_slice(reader_name: str, apdus: list[bytes], seconds: float) -> tuple[int, float]:
    from smartcard import scard as sc

    hr, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
    assert hr == 0, sc.SCardGetErrorMessage(hr)
    hr, hcard, proto = sc.SCardConnect(ctx, reader_name, sc.SCARD_SHARE_EXCLUSIVE, sc.SCARD_PROTOCOL_T0)
    assert hr == 0, sc.SCardGetErrorMessage(hr)
    try:
        lists = [list(a) for a in apdus]
        for a in [list(x) for x in SETUP] + lists:  # setup, warm-up and a check of every answer
            hr, resp = sc.SCardTransmit(hcard, proto, a)
            if hr != 0 or resp[-2:] != [0x90, 0x00]:
                raise SystemExit(f"workload APDU {bytes(a).hex()} failed: {hr:#x} {bytes(resp).hex()}")
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        transmit = sc.SCardTransmit
        while time.perf_counter() < deadline:
            for a in lists:
                transmit(hcard, proto, a)
            n += len(lists)
        elapsed = time.perf_counter() - start
    finally:
        sc.SCardDisconnect(hcard, sc.SCARD_RESET_CARD)
        sc.SCardReleaseContext(ctx)
    return n, elapsed


def _reader_rate(uri: str, apdus: list[bytes], seconds: float) -> dict[str, float]:
    n, elapsed = _reader_slice(uri, apdus, seconds)
    return _rate(n, elapsed)


def _reader_slice(uri: str, apdus: list[bytes], seconds: float) -> tuple[int, float]:
    from simtool.commands import Apdu
    from simtool.transport import open_reader

    cmds = [Apdu.from_bytes(a) for a in apdus]
    with open_reader(uri) as reader:
        for a in SETUP:
            reader.send(Apdu.from_bytes(a)).check("setup")
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for c in cmds:
                reader.send(c)
            n += len(cmds)
        elapsed = time.perf_counter() - start
    return n, elapsed


def _interleaved(name: str, uri: str, apdus: list[bytes], seconds: float) -> tuple[dict[str, float], ...]:
    """Raw pyscard and the Reader on the same card, in alternating slices of `seconds / SLICES` each."""
    raw = [0, 0.0]
    ours = [0, 0.0]
    for _ in range(SLICES):
        for total, one in ((raw, _raw_slice(name, apdus, seconds / SLICES)),
                           (ours, _reader_slice(uri, apdus, seconds / SLICES))):
            total[0] += one[0]
            total[1] += one[1]
    return _rate(int(raw[0]), raw[1]), _rate(int(ours[0]), ours[1])


def _flash_times() -> dict[str, float]:
    from simtool.emulator.blank import create_card_file
    from simtool.personalize.flash import flash
    from simtool.profile import Identity, load_profile
    from simtool.testing.pcscd import emulated_reader
    from simtool.transport import open_reader

    profile = load_profile(ROOT / "profiles" / "kpn-wechat-4gb-28d.yaml")
    identity = Identity.sample()
    out: dict[str, float] = {}
    with open_reader("emu:") as reader:  # warm-up: imports, codecs, the rendered image
        flash(reader, profile, identity)
    with tempfile.TemporaryDirectory() as d:  # both cards keep state files: every write durable
        path = Path(d) / "inproc.json"
        create_card_file(path, identity.adm1)
        t = time.perf_counter()
        with open_reader(f"emu:{path}") as reader:
            result = flash(reader, profile, identity)
        out["flash_in_process_s"] = round(time.perf_counter() - t, 3)
        out["flash_apdus"] = result.as_dict()["apdus"]["total"]
        with emulated_reader(path=Path(d) / "pcsc.json") as name:
            t = time.perf_counter()
            with name.open() as reader:
                flash(reader, profile, identity)
            out["flash_pcscd_s"] = round(time.perf_counter() - t, 3)
    return out


def measure(seconds: float = 2.0) -> dict[str, object]:
    try:
        from simtool.testing.pcscd import PcscUnavailable, ensure_pcscd, pcscd_shared
    except ImportError as e:
        return {"skipped": str(e)}
    try:
        ensure_pcscd()
    except PcscUnavailable as e:
        return {"skipped": str(e)}
    apdus = _workload()
    result: dict[str, object] = {"workload_apdus": len(apdus)}
    with pcscd_shared():  # no test session restarts pcscd meanwhile
        return _measure(seconds, apdus, result)


def _measure(seconds: float, apdus: list[bytes], result: dict[str, object]) -> dict[str, object]:
    from simtool.emulator.blank import create_card_file
    from simtool.testing.pcscd import emulated_reader, vpcd_readers
    from simtool.transport.pcsc import wait_for_card
    from simtool.transport.vpcd import VPCD_PORT, PortLock

    readers = vpcd_readers()
    slot = None
    for s in sorted(readers):
        lock = PortLock(VPCD_PORT + s)
        if lock.acquire():
            lock.release()
            slot = s
            break
    if slot is None:
        return {"skipped": "every vpcd slot is busy"}
    with tempfile.TemporaryDirectory() as d:
        card = Path(d) / "card.json"
        create_card_file(card, ADM)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.Popen([sys.executable, "-m", "simtool", "emulator", "serve", str(card), "--port",
                                 str(VPCD_PORT + slot), "--control", str(Path(d) / "ctl.sock")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            if not wait_for_card(readers[slot], True, 10):
                raise RuntimeError(f"{readers[slot]}: the served card did not show up")
            result["raw_pyscard_separate_server"] = _raw_rate(readers[slot], apdus, seconds)
        finally:
            proc.terminate()
            proc.wait(10)
            wait_for_card(readers[slot], False, 5)

    # 2. and 3. the card on a thread of this process (1. was a separate `simtool emulator serve` process)
    with emulated_reader() as name:
        raw, ours = _interleaved(str(name), name.uri, apdus, seconds)
        result["raw_pyscard_in_process_server"] = raw
        result["simtool_reader_in_process_server"] = ours
    result["apdu_per_s"] = result["raw_pyscard_separate_server"]["apdu_per_s"]  # type: ignore[index]
    result["reader_vs_raw"] = round(ours["apdu_per_s"] / raw["apdu_per_s"], 2)
    result["reader_target"] = READER_TARGET
    result.update(_flash_times())
    return result


def report(r: dict[str, object]) -> None:
    if "skipped" in r:
        print(f"pcscd+vpcd: skipped: {r['skipped']}")
        return
    rows = [("raw pyscard, card in a separate `emulator serve`", "raw_pyscard_separate_server"),
            ("raw pyscard, card on a thread of this process", "raw_pyscard_in_process_server"),
            ("simtool Reader (pcsc:), card on a thread", "simtool_reader_in_process_server")]
    print(f"through pcscd + vpcd, SELECT (P2=0C) + READ BINARY, {r['workload_apdus']} APDUs a round:")
    for label, key in rows:
        x = r[key]
        print(f"  {label:52s} {x['apdu_per_s']:>7,} APDU/s")  # type: ignore[index]
    ratio, target = r["reader_vs_raw"], r["reader_target"]
    print(f"  Reader / raw pyscard, same card, alternating slices: {ratio:.2f}x (target >= {target}x: "
          f"{'ok' if ratio >= target else 'short'})")  # type: ignore[operator]
    print(f"flash one card ({r['flash_apdus']} APDUs): in process {r['flash_in_process_s']} s, "
          f"through pcscd {r['flash_pcscd_s']} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.seconds)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()

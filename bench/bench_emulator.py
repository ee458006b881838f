"""In-process emulator throughput for a read workload: SELECT (P2=0C) + READ BINARY on an in-memory card.

Prints APDU/s of `Card.process` (target >= TARGET) and of simtool's `Reader` over `emu:` on the same
workload (T=0 exchange, counters, the ADM guard: what flash and read pay per APDU beside the card's own
work). Run: python bench/bench_emulator.py [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from simtool.emulator import Card
from simtool.fs import DEFAULT_MODEL, Cond, allows

TARGET = 500_000  # Card.process, APDU/s (issue 14)


def workload(card: Card) -> list[bytes]:
    """SELECT by path (P2=0C) + READ BINARY (exact Le) of every transparent EF that PIN1 lets one read,
    in the MF, DF.GSM, DF.TELECOM, ADF.USIM (as 7FFF) and DF.PLAN: what `simtool read` does."""
    apdus: list[bytes] = []
    for entry in DEFAULT_MODEL.fs.efs():
        ef = entry.ef
        if ef.is_record or not allows(ef.read, {Cond.PIN1}):
            continue
        if any(p.aid is not None and p.name != "ADF.USIM" for p in entry.parents):
            continue  # 7FFF is the USIM here: the ISIM's files would need their own SELECT by AID
        fids = [0x7FFF if p.aid is not None else p.fid for p in entry.parents[1:]] + [ef.fid]
        path = b"".join(f.to_bytes(2, "big") for f in fids)
        apdus.append(bytes([0x00, 0xA4, 0x08, 0x0C, len(path)]) + path)
        apdus.append(bytes([0x00, 0xB0, 0x00, 0x00, min(ef.size, 256) & 0xFF]))
    return apdus


SETUP = [bytes.fromhex("00A4040C07A0000000871002"),  # ADF.USIM active: 7FFF resolves
         bytes.fromhex("002000010830303030FFFFFFFF")]  # PIN1 (default 0000)


def measure(seconds: float = 2.0) -> dict[str, float]:
    card = Card.blank(adm=b"12345678")
    for raw in SETUP:
        card.process(raw)
    apdus = workload(card)
    process = card.process
    for apdu in apdus:  # warm-up and a sanity check of the workload
        sw = process(apdu)[-2:]
        if sw != b"\x90\x00":
            raise SystemExit(f"workload APDU {apdu.hex()} answered {sw.hex()}")
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for apdu in apdus:
            process(apdu)
        n += len(apdus)
    elapsed = time.perf_counter() - start
    return {"apdus": n, "seconds": round(elapsed, 3), "apdu_per_s": round(n / elapsed),
            "workload_apdus": len(apdus), "target": TARGET, "reader_emu_apdu_per_s": _reader_rate(seconds)}


def _reader_rate(seconds: float) -> int:
    """The same workload through a `Reader` over an in-memory `emu:` card."""
    from simtool.commands import Apdu
    from simtool.transport import open_reader

    with open_reader("emu:?adm_hex=3132333435363738") as reader:
        card = reader.transport.card  # type: ignore[attr-defined]
        for raw in SETUP:
            reader.send(Apdu.from_bytes(raw)).check("setup")
        cmds = [Apdu.from_bytes(a) for a in workload(card)]
        send = reader.send
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for c in cmds:
                send(c)
            n += len(cmds)
        return round(n / (time.perf_counter() - start))


def report(r: dict[str, float]) -> None:
    rate = r["apdu_per_s"]
    print(f"in-process emulator, SELECT + READ BINARY: {rate:,} APDU/s ({r['apdus']:,} APDUs in {r['seconds']} s; "
          f"target >= {TARGET:,}: {'ok' if rate >= TARGET else 'short'})")
    print(f"simtool Reader over emu:, same workload:   {r['reader_emu_apdu_per_s']:,} APDU/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
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

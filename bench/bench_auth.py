"""AKA throughput: Milenage (and TUAK, XOR) vector computations per second, and AUTHENTICATE round trips
per second against an in-process emulated card.

A vector is what an AuC computes per authentication: AUTN (f1, and AK from f5) and RES/CK/IK (f2..f4).
A round trip is what `simtool auth` and the flasher's final check do: the host builds RAND/AUTN with a
fresh SQN, sends AUTHENTICATE through a `Reader` (T=0: 61xx + GET RESPONSE, T=1: one APDU), the emulated
card checks MAC and SQN, stores its SQN memory and answers, and the host checks RES/CK/IK (and Kc).
Cards live in memory unless stated ("on disk": every accepted SQN is written durably, fsync and rename).

Run: python bench/bench_auth.py [--seconds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simtool.commands import uicc  # noqa: E402
from simtool.crypto import milenage, tuak, xor  # noqa: E402
from simtool.crypto.aka import Milenage, Tuak, Xor, int_to_sqn  # noqa: E402
from simtool.emulator import Card, create_card_file, load_card  # noqa: E402
from simtool.fs import MODELS  # noqa: E402
from simtool.personalize.auth import authenticate, select_usim  # noqa: E402
from simtool.transport.base import Reader  # noqa: E402
from simtool.transport.emulated import EmulatedTransport  # noqa: E402

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
TOPC = bytes.fromhex("bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff")
ADM = bytes.fromhex("3131313131313131")
AMF = bytes.fromhex("8000")


def _rate(step: Callable[[int], None], seconds: float) -> dict[str, float]:
    step(0)  # warm-up (and a failure surfaces here)
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            n += 1
            step(n)
    elapsed = time.perf_counter() - start
    return {"count": n, "seconds": round(elapsed, 3), "per_s": round(n / elapsed)}


# --- vectors -------------------------------------------------------------------------------------------


def _vector_steps() -> dict[str, Callable[[int], None]]:
    rands = [os.urandom(16) for _ in range(256)]

    def mil(i: int) -> None:
        rand, sqn = rands[i & 0xFF], int_to_sqn(32 * (i + 1))
        res, ck, ik, ak = milenage.f2345(K, OPC, rand)
        mac_a, _ = milenage.f1(K, OPC, rand, sqn, AMF)
        bytes(a ^ b for a, b in zip(sqn, ak, strict=True)) + AMF + mac_a  # AUTN

    def tk(i: int) -> None:
        rand, sqn = rands[i & 0xFF], int_to_sqn(32 * (i + 1))
        res, ck, ik, ak = tuak.f2345(K, TOPC, rand)
        mac_a, _ = tuak.f1(K, TOPC, rand, sqn, AMF)
        bytes(a ^ b for a, b in zip(sqn, ak, strict=True)) + AMF + mac_a

    def xr(i: int) -> None:
        rand, sqn = rands[i & 0xFF], int_to_sqn(32 * (i + 1))
        res, ck, ik, ak = xor.f2345(K, rand)
        mac_a, _ = xor.f1(K, rand, sqn, AMF)
        bytes(a ^ b for a, b in zip(sqn, ak, strict=True)) + AMF + mac_a

    return {"milenage": mil, "tuak": tk, "xor": xr}


# --- round trips ---------------------------------------------------------------------------------------


def _key_files(card: Card, algorithm: str, k: bytes, opc: bytes) -> dict[str, bytes]:
    fs = card.model.fs
    out = {}
    for path, value in card.model.secrets.secret_files(k, opc, algorithm).items():
        out[path] = fs[path].ef.codec.encode(value, fs[path].ef.size)
    return out


def _personalise(reader: Reader, card: Card, algorithm: str, k: bytes, opc: bytes) -> None:
    """Key file(s) written under ADM1 and PIN1 disabled: what a flashed travel SIM looks like to AKA."""
    from simtool.personalize import plan

    fs = card.model.fs
    reader.send(uicc.verify_pin(uicc.ADM1, ADM)).check("VERIFY ADM1")
    for path, raw in _key_files(card, algorithm, k, opc).items():
        entry = fs[path]
        reader.send(plan.df_select(fs, entry.df_path)).check("SELECT DF")
        reader.send(uicc.select_fid(entry.ef.fid, fcp=False)).check("SELECT key file")
        reader.send(uicc.update_binary(0, raw)).check("UPDATE key file")
    reader.send(uicc.disable_pin(uicc.PIN1, b"0000\xff\xff\xff\xff")).check("DISABLE PIN1")
    select_usim(reader)


def _round_trip(alg: Any, algorithm: str, k: bytes, opc: bytes, *, model: str = "simtool-emu",
                protocol: str = "T=0", on_disk: Path | None = None) -> Callable[[int], None]:
    if on_disk is not None:
        create_card_file(on_disk, ADM, protocol=protocol, model=model)
        card = load_card(on_disk)
    else:
        card = Card.blank(adm=ADM, protocol=protocol, model=MODELS[model])
    reader = Reader(EmulatedTransport(card, "emu:bench"))
    _personalise(reader, card, algorithm, k, opc)
    counter = {"sqn": 0}

    def step(_i: int) -> None:
        counter["sqn"] += 32  # next SEQ, IND 0
        result = authenticate(reader, alg, sqn=counter["sqn"], amf=AMF)
        if not result.ok or result.resynchronised:
            raise RuntimeError(f"AUTHENTICATE round trip failed: {result.as_dict()}")

    step.reader = reader  # type: ignore[attr-defined]
    return step


def measure(seconds: float = 1.0) -> dict[str, Any]:
    vectors = {name: _rate(step, seconds) for name, step in _vector_steps().items()}
    cases: list[tuple[str, Any, str, bytes, bytes, dict[str, Any]]] = [
        ("milenage", Milenage(K, OPC), "milenage", K, OPC, {}),
        ("milenage_t1", Milenage(K, OPC), "milenage", K, OPC, {"protocol": "T=1"}),
        ("milenage_sja2", Milenage(K, OPC), "milenage", K, OPC, {"model": "sysmoISIM-SJA2"}),
        ("tuak", Tuak(K, TOPC), "tuak", K, TOPC, {}),
        ("xor", Xor(K), "xor", K, b"", {}),
    ]
    trips: dict[str, Any] = {}
    for name, alg, algorithm, k, opc, kw in cases:
        step = _round_trip(alg, algorithm, k, opc, **kw)
        reader = step.reader  # type: ignore[attr-defined]
        before = reader.total.apdus
        trips[name] = _rate(step, seconds)
        trips[name]["apdus_per_trip"] = round((reader.total.apdus - before) / (trips[name]["count"] + 1), 2)
        trips[name].update({"protocol": kw.get("protocol", "T=0"), "model": kw.get("model", "simtool-emu")})
    with tempfile.TemporaryDirectory() as d:
        step = _round_trip(Milenage(K, OPC), "milenage", K, OPC, on_disk=Path(d) / "card.json")
        trips["milenage_on_disk"] = _rate(step, seconds)
        trips["milenage_on_disk"].update({"protocol": "T=0", "model": "simtool-emu", "apdus_per_trip": 2.0})
    return {"vectors_per_s": {k: v["per_s"] for k, v in vectors.items()}, "vectors": vectors,
            "round_trips_per_s": {k: v["per_s"] for k, v in trips.items()}, "round_trips": trips}


def report(result: dict[str, Any]) -> None:
    print("AKA vectors (AUTN + RES/CK/IK) per second:")
    for name, v in result["vectors"].items():
        print(f"  {name:20} {v['per_s']:>9,}/s")
    print("AUTHENTICATE round trips per second, in-process (host vector -> card check/answer -> host check):")
    for name, v in result["round_trips"].items():
        print(f"  {name:20} {v['per_s']:>9,}/s  ({v['model']}, {v['protocol']}, {v['apdus_per_trip']} APDUs each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.seconds)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()

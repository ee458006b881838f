"""`auth --gsup` throughput (issue 15): authentications per second against a real osmo-hlr on loopback.

One subscriber (TS 35.208 set 1 K/OPc) is put into a fresh osmo-hlr (`simtool.testing.osmohlr`: its own
127.42.N.M and database) over its VTY, an in-memory emulated card is flashed with the same identity, and
`authenticate_with_hlr` runs for the given time through one `GsupClient` connection: per authentication one
SEND_AUTH_INFO round trip over TCP (osmo-hlr computes the vector and writes the new SQN to SQLite), one
AUTHENTICATE to the card, RES/CK/IK/Kc compared. Also measured: SEND_AUTH_INFO alone (the HLR's share) with
1 and 5 vectors per request. Skipped, with the reason, without osmo-hlr.

    python bench/bench_auth_gsup.py [--seconds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simtool.gsup import GsupClient  # noqa: E402
from simtool.network.vty import VtyClient  # noqa: E402
from simtool.personalize.auth import select_usim  # noqa: E402
from simtool.personalize.flash import flash  # noqa: E402
from simtool.personalize.hlrauth import authenticate_with_hlr  # noqa: E402
from simtool.profile import Identity, load_profile  # noqa: E402
from simtool.testing.osmohlr import OsmoHlrUnavailable, start_hlr  # noqa: E402
from simtool.transport import open_reader  # noqa: E402

PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
K, OPC = "465b5ce8b199b49faa5f0a2ee238a6bc", "cd63cb71954a9f4e48a5994e37a02baf"
IMSI, ICCID, ADM_HEX = "204080000000001", "8931080000000000019", "3131313131313131"


def _rate(step: Callable[[], None], seconds: float) -> dict[str, float]:
    step()  # warm-up; a failure surfaces here
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    took = time.perf_counter() - start
    return {"n": n, "seconds": round(took, 3), "per_s": round(n / took, 1), "ms_each": round(1000 * took / n, 3)}


def measure(seconds: float = 3.0) -> dict[str, Any]:
    try:
        hlr = start_hlr()
    except OsmoHlrUnavailable as e:
        return {"skipped": f"osmo-hlr not available: {e}"}
    with hlr:
        with VtyClient(*hlr.vty) as vty:
            vty.enable()
            vty.commands([f"subscriber imsi {IMSI} create",
                          f"subscriber imsi {IMSI} update aud3g milenage k {K} opc {OPC}"])
        identity = Identity.create(iccid=ICCID, imsi=IMSI, ki=K, opc=OPC, adm1_hex=ADM_HEX, pin1="1234",
                                   puk1="12345678", pin2="5678", puk2="87654321")
        with open_reader(f"emu:?adm_hex={ADM_HEX}") as reader, GsupClient(*hlr.gsup) as client:
            flash(reader, load_profile(PROFILE), identity, verify_auth=False)
            select_usim(reader)
            out: dict[str, Any] = {
                "auth_gsup": _rate(lambda: authenticate_with_hlr(reader, client, IMSI).ok or _fail(), seconds),
                "sai_1_vector": _rate(lambda: client.send_auth_info(IMSI, 1) and None, seconds),
                "sai_5_vectors": _rate(lambda: client.send_auth_info(IMSI, 5) and None, seconds),
            }
    out["vectors_per_s_in_5s"] = round(out["sai_5_vectors"]["per_s"] * 5, 1)
    return out


def _fail() -> None:
    raise RuntimeError("the card did not pass the HLR's vector")


def report(r: dict[str, Any]) -> None:
    if "skipped" in r:
        print(f"  skipped: {r['skipped']}")
        return
    a = r["auth_gsup"]
    print(f"  auth --gsup (SAI + AUTHENTICATE + compare): {a['per_s']}/s ({a['ms_each']} ms each)")
    print(f"  SEND_AUTH_INFO alone: {r['sai_1_vector']['per_s']}/s with 1 vector, "
          f"{r['sai_5_vectors']['per_s']}/s with 5 ({r['vectors_per_s_in_5s']} vectors/s)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    res = measure(a.seconds)
    print(json.dumps(res, indent=2)) if a.json else report(res)

"""APDUs and bytes per personalized card, per phase, against the lower bound of DESIGN.md §6,
for both travel profiles under T=0 and T=1 (in-process emulated cards: counts, not time).

`bound` is the bound under the rule the flasher keeps (EF.ICCID first on a blank card, so a pulled card is
recognised by it: one SELECT more than in the best order); `any` is the bound in any visiting order."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simtool.emulator import Card  # noqa: E402
from simtool.personalize import plan  # noqa: E402
from simtool.personalize.flash import flash  # noqa: E402
from simtool.profile import Identity, load_profile  # noqa: E402
from simtool.profile.render import render  # noqa: E402
from simtool.transport.base import Reader  # noqa: E402
from simtool.transport.emulated import EmulatedTransport  # noqa: E402

PROFILES = ["kpn-wechat-1gb-15d", "kpn-wechat-4gb-28d"]


def one(profile_name: str, protocol: str) -> dict:
    profile = load_profile(ROOT / "profiles" / f"{profile_name}.yaml")
    identity = Identity.sample()
    card = Card.blank(adm=identity.adm1, protocol=protocol)
    reader = Reader(EmulatedTransport(card, "emu:"))
    result = flash(reader, profile, identity)
    image = render(profile, identity)
    bound = result.lower_bound_write + 2  # + the ADM1 retry query and VERIFY
    any_order = plan.lower_bound(image.model.fs, image.files)
    phases = reader.counts()
    write_and_adm = phases["write"]["apdus"] + phases["adm"]["apdus"]
    return {
        "profile": profile_name, "protocol": protocol, "phases": phases,
        "total_apdus": reader.total.apdus,
        "bytes": reader.total.bytes_out + reader.total.bytes_in,
        "write_plus_adm": write_and_adm, "lower_bound": bound, "lower_bound_any_order": any_order,
        "ratio": round(write_and_adm / bound, 3), "authenticated": bool(result.auth and result.auth.ok),
    }


def measure() -> dict:
    return {"cards": [one(p, proto) for p in PROFILES for proto in ("T=0", "T=1")]}


def report(res: dict) -> None:
    print(f"{'profile':22} {'proto':5} {'guard':>5} {'adm':>4} {'write':>5} {'verify':>6} {'auth':>4} {'total':>5}"
          f" {'bytes':>6}  {'adm+write':>9} {'bound':>5} {'any':>4} {'ratio':>5}")
    for c in res["cards"]:
        ph = c["phases"]

        def n(k: str, ph: dict = ph) -> int:
            return ph.get(k, {}).get("apdus", 0)

        print(f"{c['profile']:22} {c['protocol']:5} {n('guard'):5} {n('adm'):4} {n('write'):5} {n('verify'):6}"
              f" {n('auth'):4} {c['total_apdus']:5} {c['bytes']:6}  {c['write_plus_adm']:9} {c['lower_bound']:5}"
              f" {c['lower_bound_any_order']:4} {c['ratio']:5}")


if __name__ == "__main__":
    r = measure()
    report(r)

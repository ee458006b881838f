"""Card commands: `demo` for now; flash/read/emulator arrive with the emulator."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("demo", help="the main job on an emulated card, end to end")
    d.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from simtool.profile import Identity, load_profile
    from simtool.profile.render import render

    path = Path(__file__).resolve().parents[2] / "profiles" / "kpn-wechat-1gb-15d.yaml"
    profile = load_profile(path)
    identity = Identity.sample()
    image = render(profile, identity)
    print(f"profile {profile.name}: rendered for ICCID {identity.iccid}, IMSI {identity.imsi}")
    for p, entry in image.decoded().items():
        print(f"  {p} ({entry['fid']}): {entry['value']}")
    return 0

"""simtool: personalize UICC/USIM cards, and emulate them.

    import simtool
    profile = simtool.load_profile("profiles/kpn-wechat-1gb-15d.yaml")
    identity = simtool.Identity.sample()
    with simtool.open_reader("emu:") as reader:
        simtool.flash(reader, profile, identity)
        print(simtool.read_card(reader, adm=identity.adm1)["files"]["MF/ADF.USIM/EF.IMSI"]["value"])

Names are imported lazily so that `import simtool` stays cheap for scripts that need one part.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "load_profile": "simtool.profile",
    "validate_profile": "simtool.profile",
    "Identity": "simtool.profile",
    "Profile": "simtool.profile",
    "render": "simtool.profile.render",
    "CardImage": "simtool.profile.render",
    "open_reader": "simtool.transport",
    "Reader": "simtool.transport",
    "flash": "simtool.personalize.flash",
    "FlashResult": "simtool.personalize.flash",
    "read_card": "simtool.personalize.read",
    "authenticate": "simtool.personalize.auth",
    "DEFAULT_MODEL": "simtool.fs",
    "MODELS": "simtool.fs",
    "FileSystem": "simtool.fs",
    "Card": "simtool.emulator",
    "efs": "simtool.encoding.efs",
    "CodecError": "simtool.encoding.codec",
    "codecs": "simtool.encoding.efs",
    "crypto": "simtool.crypto",
    "errors": "simtool.errors",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'simtool' has no attribute {name!r}")
    module = import_module(_API[name])
    value = module if name in ("efs", "codecs", "crypto", "errors") else getattr(module, name)
    globals()[name] = value
    return value

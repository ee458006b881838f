"""The profile's `suci` section: the checks across its fields and the card model, and the two files it renders.

    suci:
      protection_schemes: [profile_a, null_scheme]     # priority order, highest first
      home_network_keys:
        - {id: 1, scheme: profile_a, public_key: "5a8d38..."}   # the PUBLIC key only
      routing_indicator: "0"

Each non-null scheme uses the one key of its scheme; the key index written to EF.SUCI_Calc_Info is that
key's 1-based place in the key list, 0 for the null scheme (TS 31.102 §4.4.11.8). The home network private
key never appears here (`schema.PRIVATE_KEY_FIELD`); the handset conceals with the public key
(UST 124 on, 125 off: the card models do not compute the SUCI, `CardModel.usim_computes_suci`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import ValidationError

from simtool.crypto import suci as ecies
from simtool.encoding.efs_5gs import SUCI_CALC_INFO
from simtool.encoding.types import EncodeError

from .capacity import Capacities
from .schema import Suci
from .yamlsrc import Path

Finding = tuple[Path, str]
_CRYPTO_SCHEME = {"profile_a": "A", "profile_b": "B"}


def findings(data: dict[str, Any], services: dict[str, int], caps: Capacities) -> list[Finding]:
    """Errors of the `suci` section and of the SUCI services (values the schema cannot judge alone)."""
    out: list[Finding] = []
    for name in ("suci_by_usim", "supi_nai"):
        if name in services and (name == "supi_nai" or not caps.usim_computes_suci):
            why = ("the SUPI is the IMSI: with service 130 EF.IMSI would have to go (TS 31.102 §4.2.2)"
                   if name == "supi_nai" else
                   f"card model {caps.model} does not calculate the SUCI itself; the handset does (service 124)")
            out.append((("services", services[name]), f"service {name!r}: {why}"))
    section = data.get("suci")
    if "suci_privacy" in services and section is None:
        out.append((("services", services["suci_privacy"]),
                    "service 'suci_privacy' is set but the profile has no suci section (EF.SUCI_Calc_Info and "
                    "EF.Routing_Indicator would be empty, and some handsets then turn 5G off)"))
    if not isinstance(section, dict):
        return out
    schemes = section.get("protection_schemes")
    keys = section.get("home_network_keys", [])
    keys = keys if isinstance(keys, list) else []
    by_scheme: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if not isinstance(k, dict) or not isinstance(k.get("scheme"), str):
            continue
        by_scheme.setdefault(k["scheme"], []).append(i)
        pub = k.get("public_key")
        if k["scheme"] in _CRYPTO_SCHEME and isinstance(pub, str):
            try:
                ecies.check_public_key(_CRYPTO_SCHEME[k["scheme"]], bytes.fromhex(pub))
            except (ValueError, ecies.SuciError) as e:
                out.append((("suci", "home_network_keys", i, "public_key"), str(e)))
    ids = [k.get("id") for k in keys if isinstance(k, dict)]
    for i, key_id in enumerate(ids):
        if key_id in ids[:i]:
            out.append((("suci", "home_network_keys", i, "id"), f"key id {key_id} is listed twice"))
    if isinstance(schemes, list):
        for i, s in enumerate(schemes):
            if isinstance(s, str) and s in _CRYPTO_SCHEME and len(by_scheme.get(s, [])) != 1:
                n = len(by_scheme.get(s, []))
                out.append((("suci", "protection_schemes", i),
                            f"{s} needs exactly one key of scheme {s} in home_network_keys, found {n}"))
        for s, where in by_scheme.items():
            if s in _CRYPTO_SCHEME and s not in schemes:
                out.append((("suci", "home_network_keys", where[0], "scheme"),
                            f"a {s} key, but {s} is not in protection_schemes"))
    if not out:
        with contextlib.suppress(ValidationError):  # the schema reports what does not validate
            out += _size(caps, Suci.model_validate(section))
    return out


def calc_info(section: Suci) -> dict[str, Any]:
    """EF.SUCI_Calc_Info's value (its codec's shape)."""
    keys = [{"id": k.id, "public_key": k.public_bytes} for k in section.home_network_keys]
    place = {k.scheme: i + 1 for i, k in enumerate(section.home_network_keys)}
    schemes = [{"scheme": s, "key_index": place.get(s, 0) if s != "null_scheme" else 0}
               for s in section.protection_schemes]
    return {"schemes": schemes, "keys": keys}


def _size(caps: Capacities, section: Suci) -> list[Finding]:
    """The encoded scheme and key lists must fit the model's EF.SUCI_Calc_Info."""
    try:
        n = len(SUCI_CALC_INFO.encode(calc_info(section)))
    except EncodeError as e:
        return [(("suci",), str(e))]
    if n > caps.suci_calc_info_bytes:
        return [(("suci", "home_network_keys"),
                 f"EF.SUCI_Calc_Info needs {n} bytes, card model {caps.model} holds {caps.suci_calc_info_bytes}"
                 " (a profile B key compressed takes 33 bytes, uncompressed 65)")]
    return []

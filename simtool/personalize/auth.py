"""Host side of AKA: build RAND/AUTN, send AUTHENTICATE, check the card's answer, resync once on AUTS."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from simtool.commands import uicc
from simtool.commands.apdu import Response
from simtool.crypto import aka, gsm
from simtool.errors import CardError
from simtool.fs.tree import ISIM_AID, USIM_AID
from simtool.transport.base import Reader

DEFAULT_AMF = bytes.fromhex("8000")  # separation bit set, as EPS/5G networks send it
USIM_AID_PREFIX = USIM_AID[:7]  # RID A000000087 + 1002: selected right-truncated, whatever the card's tail
ISIM_AID_PREFIX = ISIM_AID[:7]  # RID + 1004 (TS 31.103)
# The applications AKA runs in: the USIM's 3G/EPS context and the ISIM's IMS AKA (both AUTHENTICATE P2 81,
# TS 31.102 §7.1.2 and TS 31.103 §7.1.2; the ISIM answers without Kc).
APPS = {"usim": ("ADF.USIM", USIM_AID_PREFIX), "isim": ("ADF.ISIM", ISIM_AID_PREFIX)}


class AuthFailure(CardError):
    """The card refused the vector (MAC) or its RES/CK/IK differ from ours (exit 1)."""

    def __init__(self, message: str, sw: int | None = None):
        super().__init__(message)
        self.sw = sw
        self.details: dict[str, Any] = {}  # shown in --json (the reason, the IMSI): never a key


@dataclass
class AuthResult:
    ok: bool
    sqn: int
    resynchronised: bool = False
    sqn_ms: int | None = None
    kc: bool = False
    sw: str = "9000"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "sqn": self.sqn, "resynchronised": self.resynchronised, "sqn_ms": self.sqn_ms,
                "kc_present": self.kc, "sw": self.sw, "notes": self.notes}


def send_authenticate(reader: Reader, rand: bytes, autn: bytes) -> Response:
    return reader.send(uicc.authenticate_3g(rand, autn))


def select_usim(reader: Reader) -> None:
    select_app(reader, "usim")


def select_app(reader: Reader, app: str) -> None:
    """Select the application AKA runs in ("usim" or "isim") by its right-truncated AID."""
    name, aid = APPS[app]
    resp = reader.send(uicc.select_aid(aid, fcp=False))
    if resp.sw == 0x6A82:
        raise CardError(f"{reader.name}: the card has no {name} (SELECT by AID {aid.hex().upper()}: 6A82)")
    resp.check(f"SELECT {name}")


def authenticate(reader: Reader, alg: aka.Algorithm, sqn: int | None = None, amf: bytes = DEFAULT_AMF,
                 rand: bytes | None = None) -> AuthResult:
    """One AKA run against the card; on a sequence failure recover SQNms from AUTS, resync once."""
    sqn = 32 if sqn is None else sqn  # SEQ 1, IND 0
    result = AuthResult(ok=False, sqn=sqn)
    for attempt in range(2):
        r = rand or os.urandom(16)
        autn = aka.build_autn(alg, r, aka.int_to_sqn(sqn), amf)
        resp = send_authenticate(reader, r, autn)
        result.sw = f"{resp.sw:04X}"
        if resp.sw == 0x9862:
            raise AuthFailure("card answered 9862: authentication error, incorrect MAC (K/OPc differ)", resp.sw)
        if not resp.ok:
            raise AuthFailure(f"AUTHENTICATE failed with status word {resp.sw:04X}", resp.sw)
        parsed = uicc.parse_auth_response(resp.data)
        if parsed["result"] == "sync_failure":
            if attempt:
                raise AuthFailure("card asked for resynchronisation twice")
            sqn_ms = aka.sqn_to_int(aka.recover_sqn_from_auts(alg, r, parsed["auts"]))
            result.resynchronised, result.sqn_ms = True, sqn_ms
            result.notes.append(f"sequence failure: card's SQNms is {sqn_ms}; resynchronised")
            sqn = sqn_ms + 32  # next SEQ, same IND slot 0
            result.sqn = sqn
            continue
        res, ck, ik, _ak = alg.f2345(r)
        if parsed["res"] != res or parsed["ck"] != ck or parsed["ik"] != ik:
            raise AuthFailure("card's RES/CK/IK differ from the expected values")
        if parsed["kc"] is not None:
            result.kc = True
            if parsed["kc"] != gsm.c3(ck, ik):
                raise AuthFailure("card's Kc differs from c3(CK, IK)")
        result.ok = True
        return result
    raise AuthFailure("authentication did not complete")

"""The network's check of a card: vectors from the operator's HLR (over GSUP) sent to the card, its answers
compared with the HLR's XRES/CK/IK; on a synchronisation failure the card's AUTS and the RAND go back to the
HLR, which resynchronises and sends fresh vectors (once).

What the card says decides: 9862 is a MAC failure (the card and the HLR hold different K/OPc), a RES
differing from XRES the same from the other side; the HLR's refusal (unknown IMSI) is `HlrRefused`. All of
these are exit 1 (`CardError`); an HLR away is `HlrUnreachable` (exit 3). No key is known here, so none can
be shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from simtool.commands import uicc
from simtool.crypto import gsm
from simtool.errors import CardError, InputError
from simtool.gsup.errors import HlrRefused
from simtool.gsup.message import MAX_TUPLES, AuthTuple, Cause
from simtool.personalize.auth import AuthFailure, send_authenticate
from simtool.transport.base import Reader

__all__ = ["HlrAuthResult", "VectorSource", "authenticate_with_hlr", "read_imsi"]


class VectorSource(Protocol):
    """What is asked of the HLR (`simtool.gsup.GsupClient` is one)."""

    where: str

    def send_auth_info(self, imsi: str, vectors: int = 1) -> list[AuthTuple]: ...

    def resync(self, imsi: str, auts: bytes, rand: bytes, vectors: int = 1) -> list[AuthTuple]: ...


@dataclass
class HlrAuthResult:
    imsi: str
    hlr: str
    vectors: int = 0  # vectors the card passed
    resynchronised: bool = False
    kc_checked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.vectors > 0

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "imsi": self.imsi, "hlr": self.hlr, "vectors": self.vectors,
                "resynchronised": self.resynchronised, "kc_checked": self.kc_checked, "notes": self.notes}


def read_imsi(reader: Reader) -> str:
    """The IMSI the card carries (EF.IMSI, at its model's path), leaving ADF.USIM selected."""
    from simtool.encoding.efs import IMSI
    from simtool.personalize.flash import detect_model, select_df

    model = detect_model(reader, None)
    select_df(reader, model, "MF/ADF.USIM")
    ef = model.fs["MF/ADF.USIM/EF.IMSI"].ef
    resp = reader.send(uicc.read_binary(0, ef.size, sfi=ef.sfi))
    if resp.sw == 0x6982:
        raise InputError(f"{reader.name}: EF.IMSI needs PIN1 on this card; give --imsi IMSI")
    resp.check("READ BINARY EF.IMSI")
    imsi = IMSI.decode(resp.data)
    if not imsi:
        raise CardError(f"{reader.name}: the card carries no IMSI (a blank card?)")
    return str(imsi)


# the reasons a network would not accept the card (`reason` in --json and on the failure's `details`)
MAC_FAILURE, RES_MISMATCH, UNKNOWN_IMSI, HLR_REFUSED, SYNC_AGAIN, CARD_ERROR = (
    "MAC failure", "RES mismatch", "unknown IMSI", "HLR refused", "resynchronisation failed", "card error")


def _fail(reason: str, message: str, imsi: str, hlr: VectorSource, sw: int | None = None) -> AuthFailure:
    e = AuthFailure(message, sw)
    e.details = {"reason": reason, "imsi": imsi, "hlr": hlr.where}
    return e


def authenticate_with_hlr(reader: Reader, hlr: VectorSource, imsi: str, vectors: int = 1) -> HlrAuthResult:
    """Authenticate the card (ADF.USIM selected) with `vectors` of the HLR's vectors for `imsi`; each must pass.
    Raises AuthFailure (MAC failure, RES/CK/IK mismatch, a second sync failure) or HlrRefused (the HLR's error,
    unknown IMSI), each with `details["reason"]`; HlrUnreachable when the HLR is away."""
    try:
        return _authenticate(reader, hlr, imsi, vectors)
    except HlrRefused as e:
        e.details = {"reason": UNKNOWN_IMSI if e.cause == Cause.IMSI_UNKNOWN else HLR_REFUSED, "imsi": imsi,
                     "hlr": hlr.where, "cause": e.cause}
        raise


def _authenticate(reader: Reader, hlr: VectorSource, imsi: str, vectors: int) -> HlrAuthResult:
    result = HlrAuthResult(imsi, hlr.where)

    def wanted() -> int:
        return min(vectors - result.vectors, MAX_TUPLES)

    queue = hlr.send_auth_info(imsi, wanted())
    while result.vectors < vectors:
        if not queue:
            queue = hlr.send_auth_info(imsi, wanted())
        t = queue.pop(0)
        if t.autn is None or t.res is None or t.ck is None or t.ik is None:
            raise _fail(HLR_REFUSED, f"{hlr.where} sent a GSM-only vector for IMSI {imsi}: no AUTN (no 3G key?)",
                        imsi, hlr)
        resp = send_authenticate(reader, t.rand, t.autn)
        if resp.sw == 0x9862:
            raise _fail(MAC_FAILURE, f"MAC failure: the card refused the HLR's AUTN (9862): K/OPc on the card and "
                        f"in the HLR differ for IMSI {imsi}", imsi, hlr, resp.sw)
        if not resp.ok:
            raise _fail(CARD_ERROR, f"AUTHENTICATE failed with status word {resp.sw:04X}", imsi, hlr, resp.sw)
        parsed = uicc.parse_auth_response(resp.data)
        if parsed["result"] == "sync_failure":
            if result.resynchronised:
                raise _fail(SYNC_AGAIN, f"the card asked for resynchronisation again after {hlr.where} "
                            "resynchronised", imsi, hlr)
            queue = hlr.resync(imsi, parsed["auts"], t.rand, wanted())
            result.resynchronised = True
            result.notes.append("sequence failure: the card's AUTS went to the HLR, which resynchronised")
            continue
        if parsed["res"] != t.res:
            raise _fail(RES_MISMATCH, f"RES mismatch: the card's RES differs from the HLR's XRES for IMSI {imsi}",
                        imsi, hlr)
        if parsed["ck"] != t.ck or parsed["ik"] != t.ik:
            raise _fail(RES_MISMATCH, f"the card's CK/IK differ from the HLR's for IMSI {imsi}", imsi, hlr)
        # Kc is comparable when the HLR derived its GSM values from the 3G ones (c2/c3; no 2G key of its own)
        if parsed["kc"] is not None and t.kc is not None and t.sres == gsm.c2(t.res):
            if parsed["kc"] != t.kc:
                raise _fail(RES_MISMATCH, f"the card's Kc differs from the HLR's for IMSI {imsi}", imsi, hlr)
            result.kc_checked += 1
        result.vectors += 1
    return result

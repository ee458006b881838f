"""USIM in GSM context (TS 33.102 §6.8.1.2): conversion functions c2 and c3, as TS 55.205 GSM-Milenage uses.

A USIM answers a GSM AUTHENTICATE (and adds Kc to a 3G answer when service 27 is on) with values derived
from the 3G ones, so these helpers work for any AKA algorithm.
"""

from __future__ import annotations

from simtool.crypto import milenage
from simtool.crypto._util import BytesLike, need, xor
from simtool.crypto.vector import Vector

__all__ = ["VECTORS", "c2", "c2_first_word", "c3", "run_vector"]


def c2(res: BytesLike) -> bytes:
    """SRES (4 bytes) from RES (4..16 bytes): zero-pad RES to 16 bytes and XOR its four 32-bit words."""
    r = need("res", res, range(4, 17)).ljust(16, b"\x00")
    return xor(xor(r[0:4], r[4:8]), xor(r[8:12], r[12:16]))


def c2_first_word(res: BytesLike) -> bytes:
    """SRES#2 of TS 55.205: the first 4 bytes of RES, a vendor option (sysmoISIM `sres_deriv_func` 2)."""
    return need("res", res, range(4, 17))[:4]


def c3(ck: BytesLike, ik: BytesLike) -> bytes:
    """Kc (8 bytes) = CK[0:8] xor CK[8:16] xor IK[0:8] xor IK[8:16]."""
    ck_ = need("ck", ck, 16)
    ik_ = need("ik", ik, 16)
    return xor(xor(ck_[:8], ck_[8:]), xor(ik_[:8], ik_[8:]))


def run_vector(v: Vector) -> dict[str, bytes]:
    """GSM-Milenage end to end: Milenage f2345 from K/OPc/RAND, then c2 and c3."""
    res, ck, ik, _ak = milenage.f2345(v.input("k"), v.input("opc"), v.input("rand"))
    return {"sres": c2(res), "sres2": c2_first_word(res), "kc": c3(ck, ik)}


def _gsm_milenage(name: str, set_35208: int, outputs: dict[str, str]) -> Vector:
    """A GSM-Milenage vector whose K, RAND and OPc are those of a TS 35.208 set (no copy to drift)."""
    src = milenage.VECTORS[set_35208 - 1]
    assert src.name == f"TS 35.208 set {set_35208}"
    inputs = {"k": src.inputs["k"], "rand": src.inputs["rand"], "opc": src.outputs["opc"]}
    return Vector(name, inputs=inputs, outputs=outputs)


# TS 55.205 set 1 uses the inputs of TS 35.208 set 1, set n >= 2 those of TS 35.208 set n+1 (specfacts §1.2).
# "sres" is SRES#1 (= c2), "sres2" SRES#2. The last entry is computed in specfacts §1.3, not published.
VECTORS: list[Vector] = [
    _gsm_milenage("TS 55.205 set 1", 1, {"sres": "46f8416a", "sres2": "a54211d5", "kc": "eae4be823af9a08b"}),
    _gsm_milenage("TS 55.205 set 2", 3, {"sres": "8c308a5e", "sres2": "8011c48c", "kc": "aa01739b8caa976d"}),
    _gsm_milenage("TS 55.205 set 3", 4, {"sres": "cfbce3fe", "sres2": "f365cd68", "kc": "9a8ec95f408cc507"}),
    _gsm_milenage("TS 55.205 set 4", 5, {"sres": "9655e265", "sres2": "5860fc1b", "kc": "cdc1dc0841b81a22"}),
    _gsm_milenage("TS 55.205 set 5", 6, {"sres": "13688f17", "sres2": "16c8233f", "kc": "df75bc5ea899879f"}),
    _gsm_milenage("TS 35.208 set 2 in GSM context", 2, {"sres": "4b20081d", "kc": "933b5481c192a8fb"}),
]

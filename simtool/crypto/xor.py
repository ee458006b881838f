"""The XOR test algorithm of TS 34.108 §8.1.2: what test SIMs in conformance labs and callboxes run.

No security at all (K xor RAND), but the same inputs and outputs as Milenage, so the emulator can stand
in for a lab test USIM and the AKA helpers can be exercised with values one can check by hand.
"""

from __future__ import annotations

from simtool.crypto import gsm
from simtool.crypto._util import BytesLike, need, need_choice, xor
from simtool.crypto.vector import Vector

__all__ = ["VECTORS", "f1", "f2345", "f5star", "run_vector"]


def _xdout(k: BytesLike, rand: BytesLike) -> bytes:
    return xor(need("k", k, 16), need("rand", rand, 16))


def f1(k: BytesLike, rand: BytesLike, sqn: BytesLike, amf: BytesLike) -> tuple[bytes, bytes]:
    """(MAC-A, MAC-S) = XDOUT[0..7] xor (SQN || AMF), the same formula for both.

    For AUTS call with the card's SQNms and AMF* = 0000, which gives osmocom's MAC-S.
    """
    cdout = need("sqn", sqn, 6) + need("amf", amf, 2)
    mac = xor(_xdout(k, rand)[:8], cdout)
    return mac, mac


def f2345(k: BytesLike, rand: BytesLike, res_len: int = 16) -> tuple[bytes, bytes, bytes, bytes]:
    """(RES, CK, IK, AK).

    RES = XDOUT[0:res_len] (4..16 bytes; osmocom uses 16), CK and IK = XDOUT rotated left by 1 and 2 bytes,
    AK = XDOUT[3:9].
    """
    need_choice("res_len", res_len, range(4, 17))
    x = _xdout(k, rand)
    return x[:res_len], x[1:] + x[:1], x[2:] + x[:2], x[3:9]


def f5star(k: BytesLike, rand: BytesLike) -> bytes:
    """AK* = AK = XDOUT[3:9]: TS 34.108 has no separate f5*; osmocom reuses AK and the AUTS example agrees."""
    return _xdout(k, rand)[3:9]


def run_vector(v: Vector) -> dict[str, bytes]:
    k, rand, sqn = v.input("k"), v.input("rand"), v.input("sqn")
    res, ck, ik, ak = f2345(k, rand)
    mac_a, _ = f1(k, rand, sqn, v.input("amf"))
    return {
        "res": res,
        "ck": ck,
        "ik": ik,
        "ak": ak,
        "ak_star": f5star(k, rand),
        "mac_a": mac_a,
        "mac_s": f1(k, rand, v.input("sqn_ms"), b"\x00\x00")[1],
        "sres": gsm.c2(res),
        "kc": gsm.c3(ck, ik),
    }


# TS 34.108 §8.1.2 worked example of specfacts §8.3 (cross-checked there with osmo-auc-gen). AK* and
# MAC-S (for SQNms = SQN) are read off the example's AUTS: a9bc1accb48c = SQNms xor AK*, then MAC-S.
VECTORS: list[Vector] = [
    Vector(
        "TS 34.108 XOR worked example",
        inputs={
            "k": "465b5ce8b199b49faa5f0a2ee238a6bc",
            "rand": "23553cbe9637a89d218ae64dae47bf35",
            "sqn": "ff9bb4d0b607",
            "amf": "b9b9",
            "sqn_ms": "ff9bb4d0b607",
        },
        outputs={
            "res": "650e605627ae1c028bd5ec634c7f1989",
            "ck": "0e605627ae1c028bd5ec634c7f198965",
            "ik": "605627ae1c028bd5ec634c7f1989650e",
            "ak": "5627ae1c028b",
            "ak_star": "5627ae1c028b",
            "mac_a": "9a95d48691a9a5bb",
            "mac_s": "9a95d48691a91c02",
            "sres": "850a89be",
            "kc": "57b95ebad48e6535",
        },
    ),
]

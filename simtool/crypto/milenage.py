"""Milenage (3GPP TS 35.205/35.206): the AKA functions f1, f1*, f2, f3, f4, f5, f5* and OPc.

A functional API, bytes in and bytes out, so the emulator (card side), the AuC helpers and the batch key
generator all share one implementation. The block cipher is AES-128 from `cryptography`; only the
Milenage glue (XORs, rotations, constants of TS 35.206 §4.1) is written here.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from simtool.crypto._util import BytesLike, need, xor
from simtool.crypto.vector import Vector

__all__ = ["VECTORS", "f1", "f2345", "f5star", "opc", "run_vector"]

# TS 35.206 §4.1: rotations in bytes (r1=64, r2=0, r3=32, r4=64, r5=96 bits) and constants c1..c5.
_R = {1: 8, 2: 0, 3: 4, 4: 8, 5: 12}
_C = {n: bytes(15) + bytes([v]) for n, v in {1: 0, 2: 1, 3: 2, 4: 4, 5: 8}.items()}


def _cipher(k: bytes) -> CipherContext:
    return Cipher(algorithms.AES(k), modes.ECB()).encryptor()


def _rot(x: bytes, nbytes: int) -> bytes:
    """rot(x, r) of TS 35.206: cyclic left shift towards the MSB; every r is a whole number of bytes."""
    return x[nbytes:] + x[:nbytes]


def _out(enc: CipherContext, temp: bytes, opc_: bytes, n: int) -> bytes:
    """OUTn = E_K(rot(TEMP xor OPc, rn) xor cn) xor OPc, for n = 2..5."""
    return xor(enc.update(xor(_rot(xor(temp, opc_), _R[n]), _C[n])), opc_)


def opc(k: BytesLike, op: BytesLike) -> bytes:
    """OPc = OP xor E_K(OP). Cards store OPc so the operator's OP never leaves the AuC."""
    k_ = need("k", k, 16)
    op_ = need("op", op, 16)
    return xor(_cipher(k_).update(op_), op_)


def f1(k: BytesLike, opc: BytesLike, rand: BytesLike, sqn: BytesLike, amf: BytesLike) -> tuple[bytes, bytes]:
    """f1 and f1*: (MAC-A, MAC-S), both from the same OUT1 block.

    MAC-A authenticates the network in AUTN; MAC-S authenticates the card's SQNms in AUTS (call with
    AMF* = 0000 for that).
    """
    k_ = need("k", k, 16)
    opc_ = need("opc", opc, 16)
    rand_ = need("rand", rand, 16)
    sqn_ = need("sqn", sqn, 6)
    amf_ = need("amf", amf, 2)
    enc = _cipher(k_)
    temp = enc.update(xor(rand_, opc_))
    in1 = sqn_ + amf_ + sqn_ + amf_
    out1 = xor(enc.update(xor(xor(temp, _rot(xor(in1, opc_), _R[1])), _C[1])), opc_)
    return out1[:8], out1[8:]


def f2345(k: BytesLike, opc: BytesLike, rand: BytesLike) -> tuple[bytes, bytes, bytes, bytes]:
    """f2..f5: (RES 8 bytes, CK 16, IK 16, AK 6), everything the card needs to answer AUTHENTICATE."""
    k_ = need("k", k, 16)
    opc_ = need("opc", opc, 16)
    rand_ = need("rand", rand, 16)
    enc = _cipher(k_)
    temp = enc.update(xor(rand_, opc_))
    out2 = _out(enc, temp, opc_, 2)
    return out2[8:], _out(enc, temp, opc_, 3), _out(enc, temp, opc_, 4), out2[:6]


def f5star(k: BytesLike, opc: BytesLike, rand: BytesLike) -> bytes:
    """f5*: AK* (6 bytes), which conceals SQNms in AUTS during resynchronisation."""
    k_ = need("k", k, 16)
    opc_ = need("opc", opc, 16)
    rand_ = need("rand", rand, 16)
    enc = _cipher(k_)
    temp = enc.update(xor(rand_, opc_))
    return _out(enc, temp, opc_, 5)[:6]


def run_vector(v: Vector) -> dict[str, bytes]:
    """Compute every field of a TS 35.208 set.

    OPc is checked from OP; the published OPc feeds f1..f5* so that a fault shows in one field only.
    """
    k, rand = v.input("k"), v.input("rand")
    opc_ = v.output("opc")
    mac_a, mac_s = f1(k, opc_, rand, v.input("sqn"), v.input("amf"))
    res, ck, ik, ak = f2345(k, opc_, rand)
    return {
        "opc": opc(k, v.input("op")),
        "f1": mac_a,
        "f1star": mac_s,
        "f2": res,
        "f3": ck,
        "f4": ik,
        "f5": ak,
        "f5star": f5star(k, opc_, rand),
    }


# TS 35.208 §4.3 test sets 1-6 (identical to TS 35.207 sets 1-6); values as in specfacts §1.2.
VECTORS: list[Vector] = [
    Vector(
        "TS 35.208 set 1",
        inputs={
            "k": "465b5ce8b199b49faa5f0a2ee238a6bc",
            "rand": "23553cbe9637a89d218ae64dae47bf35",
            "sqn": "ff9bb4d0b607",
            "amf": "b9b9",
            "op": "cdc202d5123e20f62b6d676ac72cb318",
        },
        outputs={
            "opc": "cd63cb71954a9f4e48a5994e37a02baf",
            "f1": "4a9ffac354dfafb3",
            "f1star": "01cfaf9ec4e871e9",
            "f2": "a54211d5e3ba50bf",
            "f3": "b40ba9a3c58b2a05bbf0d987b21bf8cb",
            "f4": "f769bcd751044604127672711c6d3441",
            "f5": "aa689c648370",
            "f5star": "451e8beca43b",
        },
    ),
    Vector(
        "TS 35.208 set 2",
        inputs={
            "k": "0396eb317b6d1c36f19c1c84cd6ffd16",
            "rand": "c00d603103dcee52c4478119494202e8",
            "sqn": "fd8eef40df7d",
            "amf": "af17",
            "op": "ff53bade17df5d4e793073ce9d7579fa",
        },
        outputs={
            "opc": "53c15671c60a4b731c55b4a441c0bde2",
            "f1": "5df5b31807e258b0",
            "f1star": "a8c016e51ef4a343",
            "f2": "d3a628ed988620f0",
            "f3": "58c433ff7a7082acd424220f2b67c556",
            "f4": "21a8c1f929702adb3e738488b9f5c5da",
            "f5": "c47783995f72",
            "f5star": "30f1197061c1",
        },
    ),
    Vector(
        "TS 35.208 set 3",
        inputs={
            "k": "fec86ba6eb707ed08905757b1bb44b8f",
            "rand": "9f7c8d021accf4db213ccff0c7f71a6a",
            "sqn": "9d0277595ffc",
            "amf": "725c",
            "op": "dbc59adcb6f9a0ef735477b7fadf8374",
        },
        outputs={
            "opc": "1006020f0a478bf6b699f15c062e42b3",
            "f1": "9cabc3e99baf7281",
            "f1star": "95814ba2b3044324",
            "f2": "8011c48c0c214ed2",
            "f3": "5dbdbb2954e8f3cde665b046179a5098",
            "f4": "59a92d3b476a0443487055cf88b2307b",
            "f5": "33484dc2136b",
            "f5star": "deacdd848cc6",
        },
    ),
    Vector(
        "TS 35.208 set 4",
        inputs={
            "k": "9e5944aea94b81165c82fbf9f32db751",
            "rand": "ce83dbc54ac0274a157c17f80d017bd6",
            "sqn": "0b604a81eca8",
            "amf": "9e09",
            "op": "223014c5806694c007ca1eeef57f004f",
        },
        outputs={
            "opc": "a64a507ae1a2a98bb88eb4210135dc87",
            "f1": "74a58220cba84c49",
            "f1star": "ac2cc74a96871837",
            "f2": "f365cd683cd92e96",
            "f3": "e203edb3971574f5a94b0d61b816345d",
            "f4": "0c4524adeac041c4dd830d20854fc46b",
            "f5": "f0b9c08ad02e",
            "f5star": "6085a86c6f63",
        },
    ),
    Vector(
        "TS 35.208 set 5",
        inputs={
            "k": "4ab1deb05ca6ceb051fc98e77d026a84",
            "rand": "74b0cd6031a1c8339b2b6ce2b8c4a186",
            "sqn": "e880a1b580b6",
            "amf": "9f07",
            "op": "2d16c5cd1fdf6b22383584e3bef2a8d8",
        },
        outputs={
            "opc": "dcf07cbd51855290b92a07a9891e523e",
            "f1": "49e785dd12626ef2",
            "f1star": "9e85790336bb3fa2",
            "f2": "5860fc1bce351e7e",
            "f3": "7657766b373d1c2138f307e3de9242f9",
            "f4": "1c42e960d89b8fa99f2744e0708ccb53",
            "f5": "31e11a609118",
            "f5star": "fe2555e54aa9",
        },
    ),
    Vector(
        "TS 35.208 set 6",
        inputs={
            "k": "6c38a116ac280c454f59332ee35c8c4f",
            "rand": "ee6466bc96202c5a557abbeff8babf63",
            "sqn": "414b98222181",
            "amf": "4464",
            "op": "1ba00a1a7c6700ac8c3ff3e96ad08725",
        },
        outputs={
            "opc": "3803ef5363b947c6aaa225e58fae3934",
            "f1": "078adfb488241a57",
            "f1star": "80246b8d0186bcf1",
            "f2": "16c8233f05a0ac28",
            "f3": "3f8c7587fe8e4b233af676aede30ba3b",
            "f4": "a7466cc1e6b2a1337d49d3b66e95d7b4",
            "f5": "45b0f69ab06c",
            "f5star": "1f53cd2b1113",
        },
    ),
]

"""TUAK (3GPP TS 35.231): the Keccak-based alternative to Milenage, f1..f5* and TOPc.

Same shape as `milenage`, plus the output lengths TUAK lets an operator choose (all in bytes) and the
Keccak iteration count. Lengths and iterations are per-subscription settings: card and AuC must agree.
The 200-byte permutation input follows the 3GPP reference code, which fills fields from their last byte,
hence the byte reversals (specfacts §1.4).
"""

from __future__ import annotations

from simtool.crypto._util import BytesLike, need, need_choice
from simtool.crypto.keccak import keccak_f1600
from simtool.crypto.vector import Vector

__all__ = ["VECTORS", "f1", "f2345", "f5star", "run_vector", "topc"]

_ALGONAME = b"TUAK1.0"
_MAC_INSTANCE = {8: 0x08, 16: 0x10, 32: 0x20}
_RES_INSTANCE = {4: 0x40, 8: 0x48, 16: 0x50, 32: 0x60}
_F5STAR_INSTANCE = 0xC0


def _k(k: BytesLike) -> bytes:
    return need("k", k, (16, 32))


def _iterations(iterations: int) -> int:
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    return iterations


def _keccak(top: bytes, instance: int, data: bytes, k: bytes, iterations: int) -> bytes:
    """Build the 200-byte input of TS 35.231 and permute it; `instance` already carries the K-256 bit."""
    state = (
        top[::-1]
        + bytes([instance | (len(k) == 32)])
        + _ALGONAME[::-1]
        + data
        + k[::-1]
        + bytes(32 - len(k))
        + b"\x1f"
        + bytes(38)
        + b"\x80"
        + bytes(64)
    )
    return keccak_f1600(state, iterations)


def topc(k: BytesLike, top: BytesLike, iterations: int = 1) -> bytes:
    """TOPc (32 bytes) from the operator's TOP, the TUAK counterpart of Milenage's OPc."""
    k_ = _k(k)
    out = _keccak(need("top", top, 32), 0x00, bytes(24), k_, _iterations(iterations))
    return out[:32][::-1]


def f1(
    k: BytesLike,
    topc: BytesLike,
    rand: BytesLike,
    sqn: BytesLike,
    amf: BytesLike,
    mac_len: int = 8,
    iterations: int = 1,
) -> tuple[bytes, bytes]:
    """f1 and f1*: (MAC-A, MAC-S), each `mac_len` bytes (8, 16 or 32); two permutations."""
    k_ = _k(k)
    topc_ = need("topc", topc, 32)
    data = need("rand", rand, 16)[::-1] + need("amf", amf, 2)[::-1] + need("sqn", sqn, 6)[::-1]
    instance = _MAC_INSTANCE[need_choice("mac_len", mac_len, _MAC_INSTANCE)]
    n = _iterations(iterations)
    mac_a = _keccak(topc_, instance, data, k_, n)[:mac_len][::-1]
    mac_s = _keccak(topc_, instance | 0x80, data, k_, n)[:mac_len][::-1]
    return mac_a, mac_s


def f2345(
    k: BytesLike,
    topc: BytesLike,
    rand: BytesLike,
    res_len: int = 8,
    ck_len: int = 16,
    ik_len: int = 16,
    iterations: int = 1,
) -> tuple[bytes, bytes, bytes, bytes]:
    """f2..f5 in one permutation: (RES res_len bytes, CK ck_len, IK ik_len, AK 6)."""
    k_ = _k(k)
    topc_ = need("topc", topc, 32)
    data = need("rand", rand, 16)[::-1] + bytes(8)
    instance = _RES_INSTANCE[need_choice("res_len", res_len, _RES_INSTANCE)]
    if need_choice("ck_len", ck_len, (16, 32)) == 32:
        instance |= 0x04
    if need_choice("ik_len", ik_len, (16, 32)) == 32:
        instance |= 0x02
    out = _keccak(topc_, instance, data, k_, _iterations(iterations))
    return out[:res_len][::-1], out[32 : 32 + ck_len][::-1], out[64 : 64 + ik_len][::-1], out[96:102][::-1]


def f5star(k: BytesLike, topc: BytesLike, rand: BytesLike, iterations: int = 1) -> bytes:
    """f5*: AK* (6 bytes) for AUTS."""
    k_ = _k(k)
    data = need("rand", rand, 16)[::-1] + bytes(8)
    out = _keccak(need("topc", topc, 32), _F5STAR_INSTANCE, data, k_, _iterations(iterations))
    return out[96:102][::-1]


def run_vector(v: Vector) -> dict[str, bytes]:
    """Compute every field of a TUAK test set; the published TOPc feeds f1..f5* (cf. milenage.run_vector)."""
    p = v.params
    k, rand, n = v.input("k"), v.input("rand"), int(p["iterations"])
    topc_ = v.output("topc")
    mac_a, mac_s = f1(k, topc_, rand, v.input("sqn"), v.input("amf"), int(p["mac_len"]), n)
    res, ck, ik, ak = f2345(k, topc_, rand, int(p["res_len"]), int(p["ck_len"]), int(p["ik_len"]), n)
    return {
        "topc": topc(k, v.input("top"), n),
        "f1": mac_a,
        "f1star": mac_s,
        "f2": res,
        "f3": ck,
        "f4": ik,
        "f5": ak,
        "f5star": f5star(k, topc_, rand, n),
    }


# TUAK test sets 1-6 of the 3GPP TUAK test data (TS 35.232/35.233), as carried in mitshell/CryptoMobile
# test/test_TUAK.py: tuak_testset_6n gives TOPc, f1, f1* and tuak_testset_7n gives f2..f5* for the same
# K/RAND/TOP. Set 1 is the one quoted in specfacts §1.4. Lengths are in bytes.
VECTORS: list[Vector] = [
    Vector(
        "TUAK test set 1",
        inputs={
            "k": "abababababababababababababababab",
            "rand": "42424242424242424242424242424242",
            "sqn": "111111111111",
            "amf": "ffff",
            "top": "5555555555555555555555555555555555555555555555555555555555555555",
        },
        outputs={
            "topc": "bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff",
            "f1": "f9a54e6aeaa8618d",
            "f1star": "e94b4dc6c7297df3",
            "f2": "657acd64",
            "f3": "d71a1e5c6caffe986a26f783e5c78be1",
            "f4": "be849fa2564f869aecee6f62d4337e72",
            "f5": "719f1e9b9054",
            "f5star": "e7af6b3d0e38",
        },
        params={"mac_len": 8, "res_len": 4, "ck_len": 16, "ik_len": 16, "iterations": 1},
    ),
    Vector(
        "TUAK test set 2",
        inputs={
            "k": "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0",
            "rand": "0123456789abcdef0123456789abcdef",
            "sqn": "0123456789ab",
            "amf": "abcd",
            "top": "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        },
        outputs={
            "topc": "305425427e18c503c8a4b294ea72c95d0c36c6c6b29d0c65de5974d5977f8524",
            "f1": "c0b8c2d4148ec7aa5f1d78a97e4d1d58",
            "f1star": "ef81af7290f7842c6ceafa537fa0745b",
            "f2": "e9d749dc4eea0035",
            "f3": "a4cb6f6529ab17f8337f27baa8234d47",
            "f4": "2274155ccf4199d5e2abcbf621907f90",
            "f5": "480a9345cc1e",
            "f5star": "f84eb338848c",
        },
        params={"mac_len": 16, "res_len": 8, "ck_len": 16, "ik_len": 16, "iterations": 1},
    ),
    Vector(
        "TUAK test set 3",
        inputs={
            "k": "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0",
            "rand": "0123456789abcdef0123456789abcdef",
            "sqn": "0123456789ab",
            "amf": "abcd",
            "top": "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        },
        outputs={
            "topc": "305425427e18c503c8a4b294ea72c95d0c36c6c6b29d0c65de5974d5977f8524",
            "f1": "d97b75a1776065271b1e212bc3b1bf173f438b21e6c64a55a96c372e085e5cc5",
            "f1star": "427bbf07c6e3a86c54f8c5216499f3909a6fd4a164c9fe235b1550258111b821",
            "f2": "07021c73e7635c7d",
            "f3": "4d59ac796834eb85d11fa148a5058c3c",
            "f4": "126d47500136fdc5ddfd14f19ebf16749ce4b6435323fbb5715a3a796a6082bd",
            "f5": "1d6622c4e59a",
            "f5star": "f84eb338848c",
        },
        params={"mac_len": 32, "res_len": 8, "ck_len": 16, "ik_len": 32, "iterations": 1},
    ),
    Vector(
        "TUAK test set 4",
        inputs={
            "k": "b8da837a50652d6ac7c97da14f6acc61",
            "rand": "6887e55425a966bd86c9661a5fa72be8",
            "sqn": "0dea2ee2c5af",
            "amf": "df1e",
            "top": "0952be13556c32ebc58195d9dd930493e12a9003669988ffde5fa1f0fe35cc01",
        },
        outputs={
            "topc": "2bc16eb657a68e1f446f08f57c0efb1d493527a2e652ce281eb6ca0e4487760a",
            "f1": "749214087958dd8f58bfcdf869d8ae3f",
            "f1star": "619e865afe80e382aee13063f9dfb56d",
            "f2": "4041ce438e3e38e8aa96562eed83ac43",
            "f3": "3e3bc01bea0cd914c4c2c83ce2d92757",
            "f4": "666a8e6f577b1aa77b7fd53cebb8a3d6",
            "f5": "1f880d005119",
            "f5star": "45e617d77fe5",
        },
        params={"mac_len": 16, "res_len": 16, "ck_len": 16, "ik_len": 16, "iterations": 1},
    ),
    Vector(
        "TUAK test set 5",
        inputs={
            "k": "1574ca56881d05c189c82880f789c9cd4244955f4426aa2b69c29f15770e5aa5",
            "rand": "c570aac68cde651fb1e3088322498bef",
            "sqn": "c89bb71f3a41",
            "amf": "297d",
            "top": "e59f6eb10ea406813f4991b0b9e02f181edf4c7e17b480f66d34da35ee88c95e",
        },
        outputs={
            "topc": "3c6052e41532a28a47aa3cbb89f223e8f3aaa976aecd48bc3e7d6165a55eff62",
            "f1": "d7340dad02b4cb01",
            "f1star": "c6021e2e66accb15",
            "f2": "84d89b41db1867ffd4c7ba1d82163f4d526a20fbae5418fbb526940b1eeb905c",
            "f3": "d419676afe5ab58c1d8bee0d43523a4d2f52ef0b31a4676a0c334427a988fe65",
            "f4": "205533e505661b61d05cc0eac87818f4",
            "f5": "d7b3d2d4980a",
            "f5star": "ca9655264986",
        },
        params={"mac_len": 8, "res_len": 32, "ck_len": 32, "ik_len": 16, "iterations": 1},
    ),
    Vector(
        "TUAK test set 6",
        inputs={
            "k": "1574ca56881d05c189c82880f789c9cd4244955f4426aa2b69c29f15770e5aa5",
            "rand": "c570aac68cde651fb1e3088322498bef",
            "sqn": "c89bb71f3a41",
            "amf": "297d",
            "top": "e59f6eb10ea406813f4991b0b9e02f181edf4c7e17b480f66d34da35ee88c95e",
        },
        outputs={
            "topc": "b04a66f26c62fcd6c82de22a179ab65506ecf47f56245cd149966cfa9cec7a51",
            "f1": "90d2289ed1ca1c3dbc2247bb480d431ac71d2e4a7677f6e997cfddb0cbad88b7",
            "f1star": "427355dbac30e825063aba61b556e87583abac638e3ab01c4c884ad9d458dc2f",
            "f2": "d67e6e64590d22eecba7324afa4af4460c93f01b24506d6e12047d789a94c867",
            "f3": "ede57edfc57cdffe1aae75066a1b7479bbc3837438e88d37a801cccc9f972b89",
            "f4": "48ed9299126e5057402fe01f9201cf25249f9c5c0ed2afcf084755daff1d3999",
            "f5": "6aae8d18c448",
            "f5star": "8c5f33b61f4e",
        },
        params={"mac_len": 32, "res_len": 32, "ck_len": 32, "ik_len": 32, "iterations": 2},
    ),
]

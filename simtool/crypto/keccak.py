"""Keccak-f[1600], the 24-round permutation under SHA-3, as TUAK (TS 35.231) uses it.

TUAK needs the bare permutation on a 200-byte state, which hashlib does not expose, so it is written here.
The round constants and rotation offsets are derived from their definitions (FIPS 202 §3.2) rather than
typed in, and the tests check the result against hashlib's SHA3-256 and the TS 35.232 vectors.
"""

from __future__ import annotations

import struct

from simtool.crypto._util import BytesLike, need
from simtool.crypto.vector import Vector

__all__ = ["STATE_BYTES", "VECTORS", "keccak_f1600", "run_vector"]

STATE_BYTES = 200
_MASK = (1 << 64) - 1


def _round_constants() -> tuple[int, ...]:
    """RC[i] from the degree-8 LFSR rc(t) of FIPS 202 Algorithm 5."""
    lfsr = 1
    bits = []
    for _ in range(7 * 24):
        bits.append(lfsr & 1)
        lfsr = ((lfsr << 1) ^ 0x71) & 0xFF if lfsr & 0x80 else lfsr << 1
    constants = []
    for i in range(24):
        rc = 0
        for j in range(7):
            rc |= bits[7 * i + j] << ((1 << j) - 1)
        constants.append(rc)
    return tuple(constants)


def _rho_pi() -> tuple[tuple[int, int], ...]:
    """(source lane, rotation) for each destination lane of rho then pi; lane index = x + 5*y.

    rho's offsets are (t+1)(t+2)/2 along the walk (x, y) -> (y, 2x+3y) from (1, 0), and that walk is also
    pi's lane map, so one pass over the 24 steps fills every lane but (0, 0), which stays put unrotated.
    """
    table = {0: (0, 0)}
    x, y = 1, 0
    for t in range(24):
        dest_x, dest_y = y, (2 * x + 3 * y) % 5
        table[dest_x + 5 * dest_y] = (x + 5 * y, ((t + 1) * (t + 2) // 2) % 64)
        x, y = dest_x, dest_y
    return tuple(table[i] for i in range(25))


_RC = _round_constants()
_RHO_PI = _rho_pi()


def _rol(v: int, n: int) -> int:
    return ((v << n) | (v >> (64 - n))) & _MASK if n else v


def _permute(a: list[int]) -> list[int]:
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [a[i] ^ d[i % 5] for i in range(25)]
        b = [_rol(a[src], rot) for src, rot in _RHO_PI]
        a = [b[i] ^ (~b[i - i % 5 + (i + 1) % 5] & b[i - i % 5 + (i + 2) % 5]) for i in range(25)]
        a[0] ^= rc
    return a


def keccak_f1600(state: BytesLike, iterations: int = 1) -> bytes:
    """Apply Keccak-f[1600] `iterations` times to a 200-byte state (lanes little-endian, as FIPS 202)."""
    data = need("state", state, STATE_BYTES)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    lanes = list(struct.unpack("<25Q", data))
    for _ in range(iterations):
        lanes = _permute(lanes)
    return struct.pack("<25Q", *lanes)


def run_vector(v: Vector) -> dict[str, bytes]:
    return {"out": keccak_f1600(v.input("in"))}


# TS 35.232 Keccak-f[1600] test sets 1-6 (as carried in mitshell/CryptoMobile test/test_TUAK.py).
VECTORS: list[Vector] = [
    Vector(
        "TS 35.232 Keccak set 1",
        inputs={
            "in": (
                "2476d2dac59e2e9349df3255a9dab1b69eb5c208f151c7309e8c8f17db456d0b5eb0afb6c73e37ce"
                "8ccccf20b79d8a67294149174809e429709330c4ad231d3e5211ae0bd80520c43ad4b436625792a7"
                "6c52089d0f739271151a37594df66de4429f3c970a3456b6ce2c78cd1128717f4bdb731a4c97dbe5"
                "eb7353fe81e37c33ac60b82122eac611a98e0e7442b99964752293e4f9c696ba05f07a21451f9073"
                "0c9678c645ad4be44c4d2d981a3412081c9c6b05c993ff1c561a0d242b4706d501c34765b37a0b50"
            )
        },
        outputs={
            "out": (
                "2fdc58d4d94a884c1cb03a8e63acab8375e856b561ba3a0625e830acdb55734286646f87189b4354"
                "25b5d6654e228228b697b81cbead655b71aaccc25e3d7e51b5cb5ac227f67f2ad8a062976782b08a"
                "7ec3f1b538d6008c0babef83da64366b62a53f88a3dc0629bded795f3220f3c65c76bdd01243e88f"
                "63d6912e5fb5cda167b71f9baaa742dc193ff78c1767a38a1c96408cce169239b077f2903a07b8c4"
                "6a048d66318e595ea4bb92992c7c2d3dcd381975b6e05f85ba18152096cc30ed22140ff3b6711ea7"
            )
        },
    ),
    Vector(
        "TS 35.232 Keccak set 2",
        inputs={
            "in": (
                "80000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
            )
        },
        outputs={
            "out": (
                "44e0e58ca968975c4c2592a157f53f2124519b010b89e15e301ef58f76501db59cde067f1fde09c0"
                "a4b5c210a6a19f06ba4c8f0c6fc868f0fc80a63b2553791e41c82278ad115efc70f71d641ff0774a"
                "a5d547b6d9914914022c514c45fceca61cb66b0f0313e34988ae0d36737e2c0529907fe653fc4e18"
                "5d07f3961f826bb88031af844d9e7d9876170363fde76786c58ccbcf5c3a01bb914c1b0208a27c7b"
                "e3bbbbbb9976e040317afc2afbfadc7ba7fc237235c65551aa3139641fa8db2e6483f28740b31b61"
            )
        },
    ),
    Vector(
        "TS 35.232 Keccak set 3",
        inputs={
            "in": (
                "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728"
                "292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f50"
                "5152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778"
                "797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0"
                "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8"
            )
        },
        outputs={
            "out": (
                "5dd0e3dd9e46db2187a9e1a444427d7a832fef29913990e015ea8d1f3f1fa6413ffbbc586f5a4d69"
                "4dd60668fbf3b4bbda4945c9ea0cbee211735ebfa8399b613aff34d1dd47fa398c78f48a91a6657d"
                "29036c87f7735f43e2abb76a135045b70e42c59d809214a4cd301f1857300a55d01d32365b6abda5"
                "1ead7541db7beddc46e485727c3b2b5d83b59e5a7a62e0131614ba0d7bfacd4eba716232808859f0"
                "03855f5c47010a50e1262f9e9e812e6cb3dd52d9adb7be1910427634025231968de0b43fa24b4b3e"
            )
        },
    ),
    Vector(
        "TS 35.232 Keccak set 4",
        inputs={
            "in": (
                "abababababababababababababababababababababababababababababababababababababababab"
                "abababababababababababababababababababababababababababababababababababababababab"
                "abababababababababababababababababababababababababababababababababababababababab"
                "abababababababababababababababababababababababababababababababababababababababab"
                "abababababababababababababababababababababababababababababababababababababababab"
            )
        },
        outputs={
            "out": (
                "0052f00eb409b5ce5f78e95320ee6a715f5b1a0a7e5bed0343d6911330abe2fc57b66fb5ba9ef288"
                "0b0575ed0a9870c50c6657838a1d32f388fdc3a4e73246ddd956587477c4c8d41ad419140452cc17"
                "1323ae1ff0910ce1c3278b62c64875912b7f7c21cfa052e0b040214c5f3b81c320758792cea0c8d1"
                "e42e92e1ef3cf066be16c61ee44ddd69db729a825d4dbbfd9f97da46c6103d5a5f8c8d21bd427d58"
                "af4b411178bede5a1986a0c91d38c485ee2d5472bdd0a5b9faabf7077313caf9f30a1e46ac8e1258"
            )
        },
    ),
    Vector(
        "TS 35.232 Keccak set 5",
        inputs={
            "in": (
                "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
            )
        },
        outputs={
            "out": (
                "c16ca06def3add45b20ccfd67aa8f91215c2e8751edd02a5103f61ba6f7bf3bbb2595f411baf6aab"
                "1653f17e951e2dc88dfbf76867940a6338608218f8dff1417bdb3c6f45226487a9a6078b656a37ff"
                "861dfa793077c08803a8b962da6724ddc86d1093ffd00588a28e6c1b801f735463bc05581ed597bd"
                "bf37a459297f650539989efc4a7a9c8b2233c020dea30034c1f2c6cf5e0ccccc535540871803ed3d"
                "20b0c51013a3024ac56b33af5a2611233d537d11804ef02eb55978ffd43d9a7e48844264dece8fa8"
            )
        },
    ),
    Vector(
        "TS 35.232 Keccak set 6",
        inputs={
            "in": (
                "00000000000000000100000000000000020000000000000003000000000000000400000000000000"
                "00000000000000000100000000000000020000000000000003000000000000000400000000000000"
                "00000000000000000100000000000000020000000000000003000000000000000400000000000000"
                "00000000000000000100000000000000020000000000000003000000000000000400000000000000"
                "00000000000000000100000000000000020000000000000003000000000000000400000000000000"
            )
        },
        outputs={
            "out": (
                "560dbe41f6a75a7d33e15d6bfe0bdc647de554341ce0d061bbbdf1be757649dee741b1fd37418da6"
                "f35ab70e1587cc368c1b89adccce1d07ad920d4d9d08a043946c2f6fe1a517a249ce3c8a5f834eec"
                "fa2faaaddee832e6db24d42a2b04a78463a9b2df6d2f02fc5c29732a126514fb15eb7abe7fbf5718"
                "916691c7c2f8434600da7e2f9b7665a59c6141115505c9d9e9f805af6f9e6bc4f19c65c60ea972a6"
                "e4fa01857d298a09268390d574f63d4f76fb6d6dfcd13738c49848acd51e4ed783afa1ba520fa337"
            )
        },
    ),
]

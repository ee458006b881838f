"""SUCI: the SUPI concealed for the home network, TS 33.501 §6.12 and Annex C (ECIES profiles A and B).

The handset (or the USIM, with UST service 125) conceals the MSIN under the home network's public key; the
home network's SIDF deconceals it with the private key. Both profiles share the scheme (Annex C.3):

- Z = ECDH(ephemeral private, HN public): X25519 (profile A), or the x-coordinate of P-256 cofactor DH
  (profile B, cofactor 1);
- ANSI X9.63 KDF with SHA-256, SharedInfo1 = the ephemeral public key as transmitted, 64 bytes out:
  encryption key (16) ‖ initial counter block (16) ‖ MAC key (32);
- AES-128-CTR from that ICB over the scheme input; HMAC-SHA-256 over the ciphertext, the first 8 bytes;
- scheme output = ephemeral public key (A: 32 bytes raw, B: 33 bytes compressed) ‖ ciphertext ‖ MAC tag.

For an IMSI the scheme input is the MSIN in nibble-swapped BCD, F padded (Annex C.4). The null scheme
(id 0) sends the MSIN as it is. `VECTORS` are the TS 33.501 Annex C.4 test data, walked by
tests/crypto/test_crypto_vectors.py with the test-only ephemeral keys given there.

    keys = generate("A")
    out = conceal(b"\\x00\\x01...", "A", keys.public)     # scheme output bytes
    conceal(msin_bcd, "A", hn_pub, ephemeral=TEST_KEY)  # tests only: the published ephemeral key
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from simtool.crypto._util import as_bytes
from simtool.crypto.vector import Vector

Scheme = Literal["A", "B"]
SCHEME_IDS: dict[str, int] = {"null": 0, "A": 1, "B": 2}  # TS 33.501 Annex C.1 / TS 24.501 §9.11.3.4
SCHEMES_BY_ID = {v: k for k, v in SCHEME_IDS.items()}
MAC_LEN = 8
PUBLIC_LENGTHS = {"A": (32,), "B": (33, 65)}  # B: compressed (as transmitted) or uncompressed
EPHEMERAL_LENGTH = {"A": 32, "B": 33}


class SuciError(ValueError):
    """Bad key, bad scheme output, or a MAC that does not match: says what, never a key byte."""


@dataclass(frozen=True)
class KeyPair:
    scheme: Scheme
    private: bytes  # 32 bytes: the X25519 private key, or the P-256 scalar
    public: bytes  # A: 32 bytes; B: 33 bytes, compressed


def _scheme(scheme: str) -> Scheme:
    if scheme not in ("A", "B"):
        raise SuciError(f"scheme must be A (X25519) or B (P-256), got {scheme!r}")
    return scheme  # type: ignore[return-value]


def _x25519_private(private: bytes) -> x25519.X25519PrivateKey:
    if len(private) != 32:
        raise SuciError(f"a profile A private key is 32 bytes, got {len(private)}")
    return x25519.X25519PrivateKey.from_private_bytes(private)


def _p256_private(private: bytes) -> ec.EllipticCurvePrivateKey:
    if len(private) != 32:
        raise SuciError(f"a profile B private key is 32 bytes, got {len(private)}")
    try:
        return ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1())
    except ValueError:
        raise SuciError("a profile B private key must be a scalar from 1 to n-1 of P-256") from None


def _public_of(scheme: Scheme, private: bytes) -> bytes:
    if scheme == "A":
        return _x25519_private(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _p256_private(private).public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def public_key(scheme: str, private: bytes) -> bytes:
    """The public key of `private` (A: 32 bytes raw; B: 33 bytes compressed)."""
    return _public_of(_scheme(scheme), as_bytes("private key", private))


def check_public_key(scheme: str, public: bytes) -> bytes:
    """`public` if it is a valid home network public key of `scheme` (a P-256 point on the curve)."""
    s = _scheme(scheme)
    public = as_bytes("public key", public)
    if len(public) not in PUBLIC_LENGTHS[s]:
        want = " or ".join(str(n) for n in PUBLIC_LENGTHS[s])
        raise SuciError(f"a profile {s} public key is {want} bytes, got {len(public)}")
    if s == "B":
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
        except ValueError:
            raise SuciError("the profile B public key is not a point on P-256") from None
    return public


def uncompressed(public: bytes) -> bytes:
    """A P-256 public key as the 65-byte uncompressed point `04 X Y`."""
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), check_public_key("B", public))
    return point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def generate(scheme: str) -> KeyPair:
    """A fresh home network key pair from the OS random source."""
    s = _scheme(scheme)
    if s == "A":
        private = x25519.X25519PrivateKey.generate().private_bytes_raw()
    else:
        value = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
        private = value.to_bytes(32, "big")
    return KeyPair(s, private, _public_of(s, private))


def _shared(scheme: Scheme, private: bytes, peer: bytes) -> bytes:
    try:
        if scheme == "A":
            return _x25519_private(private).exchange(x25519.X25519PublicKey.from_public_bytes(peer))
        point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer)
        return _p256_private(private).exchange(ec.ECDH(), point)
    except (ValueError, InvalidKey):
        raise SuciError(f"the profile {scheme} public key is not a usable point") from None


def derive(shared: bytes, eph_public: bytes) -> tuple[bytes, bytes, bytes]:
    """(encryption key, ICB, MAC key) from Z and the ephemeral public key (X9.63 KDF, SHA-256)."""
    out = X963KDF(algorithm=hashes.SHA256(), length=64, sharedinfo=eph_public).derive(shared)
    return out[:16], out[16:32], out[32:]


def _ctr(key: bytes, icb: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CTR(icb)).encryptor()
    return enc.update(data) + enc.finalize()


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")[:MAC_LEN]


def conceal(plaintext: bytes, scheme: str, hn_public: bytes, *, ephemeral: bytes | None = None) -> bytes:
    """The scheme output for `plaintext` (the BCD MSIN) under `hn_public`.

    `ephemeral` fixes the ephemeral private key: for the Annex C.4 test vectors only. Real use leaves it
    out and gets a fresh key from the OS random source for every SUCI."""
    s = _scheme(scheme)
    peer = check_public_key(s, hn_public)
    eph = ephemeral if ephemeral is not None else generate(s).private
    eph_public = _public_of(s, as_bytes("ephemeral key", eph))
    key, icb, mac_key = derive(_shared(s, eph, peer), eph_public)
    ciphertext = _ctr(key, icb, as_bytes("plaintext", plaintext))
    return eph_public + ciphertext + _mac(mac_key, ciphertext)


def deconceal(output: bytes, scheme: str, hn_private: bytes) -> bytes:
    """The plaintext inside a scheme output; SuciError when the MAC tag does not match."""
    s = _scheme(scheme)
    output = as_bytes("scheme output", output)
    n = EPHEMERAL_LENGTH[s]
    if len(output) < n + MAC_LEN + 1:
        raise SuciError(f"a profile {s} scheme output is at least {n + MAC_LEN + 1} bytes, got {len(output)}")
    eph_public, ciphertext, tag = output[:n], output[n:-MAC_LEN], output[-MAC_LEN:]
    key, icb, mac_key = derive(_shared(s, hn_private, eph_public), eph_public)
    if not hmac.compare_digest(_mac(mac_key, ciphertext), tag):
        raise SuciError("the MAC tag does not match: another home network key, or the SUCI was altered")
    return _ctr(key, icb, ciphertext)


# --- MSIN as the scheme input (Annex C.4: nibble-swapped BCD, F padded) ---------------------------------


def msin_encode(msin: str) -> bytes:
    if not (msin.isascii() and msin.isdigit()) or not 1 <= len(msin) <= 13:
        raise SuciError(f"an MSIN is 1 to 13 digits, got {len(msin)} characters")
    digits = msin + ("F" if len(msin) % 2 else "")
    return bytes(int(digits[i + 1], 16) << 4 | int(digits[i], 16) for i in range(0, len(digits), 2))


def msin_decode(data: bytes) -> str:
    nibbles = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data)
    digits = nibbles[:-1] if nibbles.endswith("F") else nibbles
    if not digits or not digits.isdigit():
        raise SuciError("the deconcealed MSIN is not BCD digits")
    return digits


# --- TS 33.501 Annex C.4 test data (C.4.3 profile A, C.4.4 profile B, IMSI-based SUPI) --------------------
# MCC 274, MNC 012, MSIN 001002086: scheme input 00012080F6 (Annex C.4.1).

VECTORS = [
    Vector(
        "TS 33.501 C.4.3 profile A",
        inputs={"hn_private": "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d",
                "eph_private": "c80949f13ebe61af4ebdbd293ea4f942696b9e815d7e8f0096bbf6ed7de62256",
                "plaintext": "00012080f6"},
        outputs={"hn_public": "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650",
                 "eph_public": "b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d",
                 "shared": "028ddf890ec83cdf163947ce45f6ec1a0e3070ea5fe57e2b1f05139f3e82422a",
                 "enc_key": "2ba342cabd2b3b1e5e4e890da11b65f6", "icb": "e2622cb0cdd08204e721c8ea9b95a7c6",
                 "mac_key": "d9846966fb7cf5fcf11266c5957dea60b83fff2b7c940690a4bfe57b1eb52bd2",
                 "output": "b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d"
                           "cb02352410" "cddd9e730ef3fa87",
                 "deconcealed": "00012080f6"},
        params={"scheme": "A"},
    ),
    Vector(
        "TS 33.501 C.4.4 profile B",
        inputs={"hn_private": "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda",
                "eph_private": "99798858a1dc6a2c68637149a4b1dbfd1fdff5addd62a2142f06699ed7602529",
                "plaintext": "00012080f6"},
        outputs={"hn_public": "0272da71976234ce833a6907425867b82e074d44ef907dfb4b3e21c1c2256ebcd1",
                 "hn_public_uncompressed": "0472da71976234ce833a6907425867b82e074d44ef907dfb4b3e21c1c2256ebcd1"
                                           "5a7ded52fcbb097a4ed250e036c7b9c8c7004c4eedc4f068cd7bf8d3f900e3b4",
                 "eph_public": "039aab8376597021e855679a9778ea0b67396e68c66df32c0f41e9acca2da9b9d1",
                 "shared": "6c7e6518980025b982fbb2ff746e3c2e85a196d252099a7ad23ea7b4c0959cae",
                 "enc_key": "8a65c3aed80295c12bd55087e965702a", "icb": "ef285b4061c3baee858ab6ec68487dae",
                 "mac_key": "a5ebac0bc48d9cf7ae5ce39cd840ac6c761aec04078fab954d634f923e901c64",
                 "output": "039aab8376597021e855679a9778ea0b67396e68c66df32c0f41e9acca2da9b9d1"
                           "46a33fc271" "6ac7dae96aa30a4d",
                 "deconcealed": "00012080f6"},
        params={"scheme": "B"},
    ),
    Vector("TS 33.501 C.4.1 MSIN as scheme input", inputs={"msin": "303031303032303836"},
           outputs={"plaintext": "00012080f6"}, params={"scheme": "null"}),
]


def run_vector(v: Vector) -> dict[str, bytes]:
    scheme = str(v.params["scheme"])
    if scheme == "null":
        return {"plaintext": msin_encode(v.input("msin").decode("ascii"))}
    hn_private, eph = v.input("hn_private"), v.input("eph_private")
    hn_public = public_key(scheme, hn_private)
    eph_public = public_key(scheme, eph)
    shared = _shared(_scheme(scheme), eph, hn_public)
    enc_key, icb, mac_key = derive(shared, eph_public)
    output = conceal(v.input("plaintext"), scheme, hn_public, ephemeral=eph)
    out = {"hn_public": hn_public, "eph_public": eph_public, "shared": shared, "enc_key": enc_key, "icb": icb,
           "mac_key": mac_key, "output": output, "deconcealed": deconceal(output, scheme, hn_private)}
    if scheme == "B":
        out["hn_public_uncompressed"] = uncompressed(hn_public)
    return out

"""AKA tokens and SQN handling that do not depend on the algorithm (TS 33.102 §6.3, Annex C).

The emulator's AUTHENTICATE, the test AuC and the CLI's `auth` helpers all need AUTN/AUTS built and checked
the same way whatever the card runs (Milenage, TUAK or the XOR test algorithm), so the algorithms are
wrapped in small key-bound objects sharing one protocol and the token logic is written once here.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from simtool.crypto import milenage, tuak, xor
from simtool.crypto._util import BytesLike, need, need_choice
from simtool.crypto._util import xor as _xor
from simtool.crypto.vector import Vector
from simtool.errors import InputError, SimtoolError

__all__ = [
    "AMF_STAR",
    "DEFAULT_DELTA",
    "SQN_MAX",
    "VECTORS",
    "Algorithm",
    "AuthenticationError",
    "Milenage",
    "SqnState",
    "Tuak",
    "Xor",
    "build_auts",
    "build_autn",
    "check_autn",
    "int_to_sqn",
    "recover_sqn_from_auts",
    "run_vector",
    "sqn_to_int",
]

AMF_STAR = b"\x00\x00"  # the dummy AMF that enters f1* for AUTS (TS 33.102 §6.3.3)
SQN_MAX = (1 << 48) - 1
DEFAULT_DELTA = 1 << 28  # Δ in SEQ steps (specfacts §2.4)


class AuthenticationError(SimtoolError):
    """A MAC did not verify: wrong key, wrong OPc, or a token that was altered."""


@runtime_checkable
class Algorithm(Protocol):
    """An AKA algorithm with its subscriber key bound: what a card (or an AuC entry) knows."""

    name: str

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> tuple[bytes, bytes]:
        """(MAC-A, MAC-S)."""
        ...

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        """(RES, CK, IK, AK)."""
        ...

    def f5star(self, rand: bytes) -> bytes:
        """AK*."""
        ...


class _Keyed:
    """Holds key material; repr shows the algorithm only, so keys stay out of logs and tracebacks."""

    __slots__ = ()
    name = "?"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} key=***>"


class Milenage(_Keyed):
    """Milenage with K and OPc bound."""

    __slots__ = ("_k", "_opc")
    name = "milenage"

    def __init__(self, k: BytesLike, opc: BytesLike) -> None:
        self._k = need("k", k, 16)
        self._opc = need("opc", opc, 16)

    @classmethod
    def from_op(cls, k: BytesLike, op: BytesLike) -> Milenage:
        """For an AuC that holds OP: derive OPc once."""
        return cls(k, milenage.opc(k, op))

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> tuple[bytes, bytes]:
        return milenage.f1(self._k, self._opc, rand, sqn, amf)

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        return milenage.f2345(self._k, self._opc, rand)

    def f5star(self, rand: bytes) -> bytes:
        return milenage.f5star(self._k, self._opc, rand)


class Tuak(_Keyed):
    """TUAK with K (16 or 32 bytes), TOPc and the subscription's output lengths (bytes) bound."""

    __slots__ = ("_k", "_topc", "ck_len", "ik_len", "iterations", "mac_len", "res_len")
    name = "tuak"

    def __init__(
        self,
        k: BytesLike,
        topc: BytesLike,
        mac_len: int = 8,
        res_len: int = 8,
        ck_len: int = 16,
        ik_len: int = 16,
        iterations: int = 1,
    ) -> None:
        self._k = need("k", k, (16, 32))
        self._topc = need("topc", topc, 32)
        self.mac_len = need_choice("mac_len", mac_len, (8, 16, 32))
        self.res_len = need_choice("res_len", res_len, (4, 8, 16, 32))
        self.ck_len = need_choice("ck_len", ck_len, (16, 32))
        self.ik_len = need_choice("ik_len", ik_len, (16, 32))
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
        self.iterations = iterations

    @classmethod
    def from_top(
        cls,
        k: BytesLike,
        top: BytesLike,
        mac_len: int = 8,
        res_len: int = 8,
        ck_len: int = 16,
        ik_len: int = 16,
        iterations: int = 1,
    ) -> Tuak:
        """For an AuC that holds TOP: derive TOPc once (with the same iteration count)."""
        return cls(k, tuak.topc(k, top, iterations), mac_len, res_len, ck_len, ik_len, iterations)

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> tuple[bytes, bytes]:
        return tuak.f1(self._k, self._topc, rand, sqn, amf, self.mac_len, self.iterations)

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        return tuak.f2345(self._k, self._topc, rand, self.res_len, self.ck_len, self.ik_len, self.iterations)

    def f5star(self, rand: bytes) -> bytes:
        return tuak.f5star(self._k, self._topc, rand, self.iterations)


class Xor(_Keyed):
    """The TS 34.108 XOR test algorithm with K bound."""

    __slots__ = ("_k", "res_len")
    name = "xor"

    def __init__(self, k: BytesLike, res_len: int = 16) -> None:
        self._k = need("k", k, 16)
        self.res_len = need_choice("res_len", res_len, range(4, 17))

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> tuple[bytes, bytes]:
        return xor.f1(self._k, rand, sqn, amf)

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        return xor.f2345(self._k, rand, self.res_len)

    def f5star(self, rand: bytes) -> bytes:
        return xor.f5star(self._k, rand)


# --- SQN as a number -------------------------------------------------------------------------------------


def sqn_to_int(sqn: BytesLike) -> int:
    """The 48-bit SQN (6 bytes, big-endian) as an integer."""
    return int.from_bytes(need("sqn", sqn, 6), "big")


def _sqn_value(sqn: BytesLike | int) -> int:
    if isinstance(sqn, int) and not isinstance(sqn, bool):
        int_to_sqn(sqn)  # range check
        return sqn
    return int.from_bytes(need("sqn", sqn, 6), "big")  # a bool is refused here, as any non-bytes


def int_to_sqn(value: int) -> bytes:
    """An integer 0..2^48-1 as the 6-byte SQN."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SQN_MAX:
        raise ValueError(f"SQN must be an integer 0..2^48-1, got {value!r}")
    return value.to_bytes(6, "big")


# --- tokens ----------------------------------------------------------------------------------------------


def build_autn(alg: Algorithm, rand: BytesLike, sqn: BytesLike, amf: BytesLike) -> bytes:
    """AUTN = (SQN xor AK) || AMF || MAC-A: what the network sends to prove itself to the card."""
    rand_ = need("rand", rand, 16)
    sqn_ = need("sqn", sqn, 6)
    amf_ = need("amf", amf, 2)
    ak = alg.f2345(rand_)[3]
    mac_a = alg.f1(rand_, sqn_, amf_)[0]
    return _xor(sqn_, ak) + amf_ + mac_a


def check_autn(alg: Algorithm, rand: BytesLike, autn: BytesLike) -> tuple[bytes, bool]:
    """The card's side: recover SQN from AUTN and verify MAC-A. Returns (sqn, mac_ok).

    The SQN is returned even when the MAC fails so callers can log it; it must not be trusted then.
    The MAC comparison is constant-time. AUTN is 16 bytes, longer only for TUAK with a 128/256-bit MAC.
    """
    rand_ = need("rand", rand, 16)
    autn_ = need("autn", autn, (16, 24, 40))
    ak = alg.f2345(rand_)[3]
    sqn = _xor(autn_[:6], ak)
    xmac = alg.f1(rand_, sqn, autn_[6:8])[0]
    if len(autn_) != 8 + len(xmac):
        raise ValueError(f"autn must be {8 + len(xmac)} bytes long for {alg.name}, got {len(autn_)}")
    return sqn, hmac.compare_digest(xmac, autn_[8:])


def build_auts(alg: Algorithm, rand: BytesLike, sqn_ms: BytesLike) -> bytes:
    """AUTS = (SQNms xor AK*) || MAC-S with AMF* = 0000: the card's resynchronisation token."""
    rand_ = need("rand", rand, 16)
    sqn_ms_ = need("sqn_ms", sqn_ms, 6)
    mac_s = alg.f1(rand_, sqn_ms_, AMF_STAR)[1]
    return _xor(sqn_ms_, alg.f5star(rand_)) + mac_s


def recover_sqn_from_auts(alg: Algorithm, rand: BytesLike, auts: BytesLike) -> bytes:
    """The AuC's side of resynchronisation: SQNms from AUTS, raising AuthenticationError if MAC-S fails."""
    rand_ = need("rand", rand, 16)
    auts_ = need("auts", auts, (14, 22, 38))
    sqn_ms = _xor(auts_[:6], alg.f5star(rand_))
    xmac_s = alg.f1(rand_, sqn_ms, AMF_STAR)[1]
    if len(auts_) != 6 + len(xmac_s):
        raise ValueError(f"auts must be {6 + len(xmac_s)} bytes long for {alg.name}, got {len(auts_)}")
    if not hmac.compare_digest(xmac_s, auts_[6:]):
        raise AuthenticationError("AUTS rejected: MAC-S does not verify (wrong key/OPc, or wrong RAND)")
    return sqn_ms


# --- card-side SQN freshness (TS 33.102 Annex C) ---------------------------------------------------------


class SqnState:
    """The USIM's SQN memory per TS 33.102 Annex C.

    SQN = SEQ || IND, IND being the low `ind_len` bits. The card keeps the last accepted SQN of each IND
    slot, so vectors fetched by different serving nodes (which use different IND values) may arrive out of
    order. An SQN is accepted iff its SEQ is above its slot's, at most `delta` above the highest SEQ
    accepted so far (C.2.2, protects against wrap-around; None disables it, as the Δ-check flag of real
    cards does), and, when `age_limit` is set, less than `age_limit` below it (L). Both count SEQ steps.
    Rejection means a sync failure: the card reports `highest()` in AUTS.
    """

    __slots__ = ("_slots", "age_limit", "delta", "ind_len")

    def __init__(
        self, ind_len: int = 5, delta: int | None = DEFAULT_DELTA, age_limit: int | None = None
    ) -> None:
        need_choice("ind_len", ind_len, range(0, 11))
        for name, value in (("delta", delta), ("age_limit", age_limit)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        self.ind_len = ind_len
        self.delta = delta
        self.age_limit = age_limit
        self._slots = [0] * (1 << ind_len)  # last accepted SQN per IND slot; 0 = nothing accepted yet

    def _split(self, sqn: int) -> tuple[int, int]:
        return sqn >> self.ind_len, sqn & ((1 << self.ind_len) - 1)

    def _highest_int(self) -> int:
        return max(self._slots)

    def would_accept(self, sqn: BytesLike | int) -> bool:
        """The freshness check alone; nothing is stored."""
        seq, ind = self._split(_sqn_value(sqn))
        seq_slot = self._slots[ind] >> self.ind_len
        seq_ms = self._highest_int() >> self.ind_len
        if seq <= seq_slot:
            return False
        if self.delta is not None and seq - seq_ms > self.delta:
            return False
        return not (self.age_limit is not None and seq_ms - seq >= self.age_limit)

    def check(self, sqn: BytesLike | int) -> bool:
        """Annex C verification; on acceptance the SQN is stored in its IND slot. Returns acceptance."""
        if not self.would_accept(sqn):
            return False
        value = _sqn_value(sqn)
        self._slots[self._split(value)[1]] = value
        return True

    def highest(self) -> bytes:
        """SQNms, the highest SQN accepted so far (000000000000 initially): what AUTS reports."""
        return int_to_sqn(self._highest_int())

    def slots(self) -> list[int]:
        """Last accepted SQN per IND slot (a copy)."""
        return list(self._slots)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state for the emulator's card file."""
        return {
            "ind_len": self.ind_len,
            "delta": self.delta,
            "age_limit": self.age_limit,
            "slots": list(self._slots),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SqnState:
        """Rebuild from `to_dict()` output; a malformed state raises InputError saying what is wrong."""
        try:
            state = cls(
                ind_len=data.get("ind_len", 5),
                delta=data.get("delta", DEFAULT_DELTA),
                age_limit=data.get("age_limit"),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputError(f"SQN state: {exc}") from None
        slots = data.get("slots")
        if not isinstance(slots, list) or len(slots) != 1 << state.ind_len:
            raise InputError(f"SQN state: 'slots' must be a list of {1 << state.ind_len} integers")
        mask = (1 << state.ind_len) - 1
        for i, value in enumerate(slots):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SQN_MAX:
                raise InputError(f"SQN state: slot {i} is not an SQN (0..2^48-1)")
            if value and value & mask != i:
                raise InputError(f"SQN state: slot {i} holds an SQN with IND {value & mask}")
        state._slots = list(slots)
        return state

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SqnState) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SqnState(ind_len={self.ind_len}, delta={self.delta}, highest={self.highest().hex()})"


# --- vectors ---------------------------------------------------------------------------------------------


def _algorithm(v: Vector) -> Algorithm:
    kind = v.params["algorithm"]
    if kind == "milenage":
        return Milenage(v.input("k"), v.input("opc"))
    if kind == "xor":
        return Xor(v.input("k"))
    raise ValueError(f"unknown algorithm {kind!r} in vector {v.name}")


def run_vector(v: Vector) -> dict[str, bytes]:
    alg = _algorithm(v)
    rand = v.input("rand")
    return {
        "autn": build_autn(alg, rand, v.input("sqn"), v.input("amf")),
        "auts": build_auts(alg, rand, v.input("sqn_ms")),
    }


# specfacts §2.3 (TS 35.208 set 1 as AUTN/AUTS) and §8.3 (TS 34.108 XOR worked example).
VECTORS: list[Vector] = [
    Vector(
        "TS 33.102 tokens, TS 35.208 set 1",
        inputs={
            "k": "465b5ce8b199b49faa5f0a2ee238a6bc",
            "opc": "cd63cb71954a9f4e48a5994e37a02baf",
            "rand": "23553cbe9637a89d218ae64dae47bf35",
            "sqn": "ff9bb4d0b607",
            "amf": "b9b9",
            "sqn_ms": "000000000020",
        },
        outputs={
            "autn": "55f328b43577b9b94a9ffac354dfafb3",
            "auts": "451e8beca41bf8ee589d46d835c9",
        },
        params={"algorithm": "milenage"},
    ),
    Vector(
        "TS 34.108 XOR worked example tokens",
        inputs={
            "k": "465b5ce8b199b49faa5f0a2ee238a6bc",
            "rand": "23553cbe9637a89d218ae64dae47bf35",
            "sqn": "ff9bb4d0b607",
            "amf": "b9b9",
            "sqn_ms": "ff9bb4d0b607",
        },
        outputs={
            "autn": "a9bc1accb48cb9b99a95d48691a9a5bb",
            "auts": "a9bc1accb48c9a95d48691a91c02",
        },
        params={"algorithm": "xor"},
    ),
]

"""The card side of AUTHENTICATE (TS 31.102 §7.1.2, TS 33.102 §6.3): pure functions over the key file's
algorithm and the SQN memory, so the command processor only moves bytes and saves state.
"""

from __future__ import annotations

from typing import Any

from simtool.crypto import gsm
from simtool.crypto.aka import Algorithm, Milenage, SqnState, Tuak, Xor, build_auts, check_autn
from simtool.encoding import efs as C
from simtool.encoding.codec import DecodeError
from simtool.encoding.sw import SW

TAG_SUCCESS = 0xDB
TAG_SYNC_FAILURE = 0xDC


class KeyFileError(ValueError):
    """The key file holds something no algorithm can use (the card refuses with 6985)."""


def algorithm_from_key_file(raw: bytes) -> Algorithm | None:
    """The key-bound algorithm an EF.AUTH_KEY body (our own card model's coding) describes."""
    try:
        key = C.AUTH_KEY.decode(raw)
    except (DecodeError, KeyError, TypeError) as e:
        raise KeyFileError(str(e)) from None
    if key is None:
        return None
    return algorithm_from_key({"algorithm": key["algorithm"], "k": key["k"], "opc": key["opc"]})


def algorithm_from_key(key: dict[str, Any] | None) -> Algorithm | None:
    """The key-bound algorithm for a key as a card model's `secrets.read_key` gives it (None: no key yet).

    {"algorithm", "k", "opc" or "op", "tuak": {sizes in bytes, iterations}}: a family that stores OP/TOP
    instead of OPc/TOPc has it derived here, as the card does.
    """
    if key is None:
        return None
    name = key.get("algorithm")
    try:
        k = key["k"]
        if name == "milenage":
            return Milenage(k, key["opc"]) if "opc" in key else Milenage.from_op(k, key["op"])
        if name == "tuak":
            sizes = key.get("tuak") or {}
            return Tuak(k, key["opc"], **sizes) if "opc" in key else Tuak.from_top(k, key["op"], **sizes)
        if name == "xor":
            return Xor(k)
    except (ValueError, KeyError, TypeError) as e:
        raise KeyFileError(f"{name}: {e}") from None
    raise KeyFileError(f"unsupported algorithm {name}")


def _lv(value: bytes) -> bytes:
    return bytes([len(value)]) + value


def parse_3g(data: bytes) -> tuple[bytes, bytes] | None:
    """`Lrand RAND Lautn AUTN` → (RAND, AUTN); None when the lengths do not add up."""
    if len(data) < 2 or data[0] != 16 or len(data) < 18:
        return None
    n = data[17]
    if n not in (16, 24, 40) or len(data) != 18 + n:
        return None
    return data[1:17], data[18:]


def parse_gsm(data: bytes) -> bytes | None:
    if len(data) != 17 or data[0] != 16:
        return None
    return data[1:]


def next_sqn_state(sqn: SqnState, value: bytes) -> SqnState | None:
    """TS 33.102 Annex C check on a copy: the new SQN memory if `value` is fresh, else None.

    Δ bounds how far an SQN may jump ahead of the highest one accepted; a card that has accepted none
    yet (all slots zero) takes any first SQN, so a network may start its sequence anywhere.
    """
    doc = sqn.to_dict()
    first = not any(doc["slots"])
    candidate = SqnState.from_dict({**doc, "delta": None} if first else doc)
    if not candidate.check(value):
        return None
    if first:
        candidate = SqnState.from_dict({**candidate.to_dict(), "delta": sqn.delta})
    return candidate


def run_3g(
    alg: Algorithm, sqn: SqnState, rand: bytes, autn: bytes, with_kc: bool
) -> tuple[bytes, SW, SqnState | None]:
    """(response data, SW, new SQN memory to store or None). MAC is checked before the SQN."""
    try:
        seq, mac_ok = check_autn(alg, rand, autn)
    except ValueError:  # AUTN length does not fit this algorithm's MAC
        return b"", SW.WRONG_LENGTH, None
    if not mac_ok:
        return b"", SW.AUTH_MAC, None
    new = next_sqn_state(sqn, seq)
    if new is None:
        return bytes([TAG_SYNC_FAILURE]) + _lv(build_auts(alg, rand, sqn.highest())), SW.OK, None
    res, ck, ik, _ak = alg.f2345(rand)
    out = bytes([TAG_SUCCESS]) + _lv(res) + _lv(ck) + _lv(ik)
    if with_kc and len(ck) == 16 and len(ik) == 16:
        out += _lv(gsm.c3(ck, ik))
    return out, SW.OK, new


def sres_kc(alg: Algorithm, rand: bytes) -> tuple[bytes, bytes]:
    """(SRES, Kc) from the 3G values by the conversions c2 and c3 (TS 33.102 §6.8.1.2; GSM-Milenage of
    TS 55.205 when the algorithm is Milenage)."""
    res, ck, ik, _ak = alg.f2345(rand)
    return gsm.c2(res[:16]), gsm.c3(ck[:16], ik[:16])


def run_gsm(alg: Algorithm, rand: bytes) -> bytes:
    """USIM AUTHENTICATE in GSM security context: `04 SRES 08 Kc`."""
    sres, kc = sres_kc(alg, rand)
    return _lv(sres) + _lv(kc)


def run_gsm_algorithm(alg: Algorithm, rand: bytes) -> bytes:
    """The classic SIM's RUN GSM ALGORITHM (TS 51.011 §9.2.16): `SRES(4) Kc(8)`, no length bytes."""
    sres, kc = sres_kc(alg, rand)
    return sres + kc

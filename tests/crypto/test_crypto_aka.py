"""AKA tokens for every algorithm (round-trips, tampering) and the Annex C SQN checker."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simtool.crypto import aka, milenage
from simtool.crypto.aka import (
    AuthenticationError,
    Milenage,
    SqnState,
    Tuak,
    Xor,
    build_autn,
    build_auts,
    check_autn,
    int_to_sqn,
    recover_sqn_from_auts,
    sqn_to_int,
)
from simtool.errors import InputError, SimtoolError


def _b(n: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=n, max_size=n)


milenages = st.builds(Milenage, _b(16), _b(16))
xors = st.builds(Xor, _b(16), st.integers(4, 16))
tuaks = st.builds(
    Tuak,
    st.one_of(_b(16), _b(32)),
    _b(32),
    mac_len=st.sampled_from([8, 16, 32]),
    res_len=st.sampled_from([4, 8, 16, 32]),
    ck_len=st.sampled_from([16, 32]),
    ik_len=st.sampled_from([16, 32]),
    iterations=st.integers(1, 2),
)
ALGORITHMS = [
    pytest.param(milenages, 100, id="milenage"),
    pytest.param(tuaks, 50, id="tuak"),
    pytest.param(xors, 100, id="xor"),
]
K1 = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC1 = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
RAND1 = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")


def _flip(data: bytes, bit: int) -> bytes:
    bit %= 8 * len(data)
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


@pytest.mark.parametrize(("algorithms", "examples"), ALGORITHMS)
def test_autn_round_trip_and_tamper(algorithms: st.SearchStrategy[aka.Algorithm], examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None)
    @given(alg=algorithms, rand=_b(16), sqn=_b(6), amf=_b(2), bit=st.integers(0, 8 * 40))
    def prop(alg: aka.Algorithm, rand: bytes, sqn: bytes, amf: bytes, bit: int) -> None:
        autn = build_autn(alg, rand, sqn, amf)
        assert autn[6:8] == amf
        assert check_autn(alg, rand, autn) == (sqn, True)
        assert check_autn(alg, rand, _flip(autn, bit))[1] is False

    prop()


@pytest.mark.parametrize(("algorithms", "examples"), ALGORITHMS)
def test_auts_round_trip_and_tamper(algorithms: st.SearchStrategy[aka.Algorithm], examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None)
    @given(alg=algorithms, rand=_b(16), sqn_ms=_b(6), bit=st.integers(0, 8 * 38))
    def prop(alg: aka.Algorithm, rand: bytes, sqn_ms: bytes, bit: int) -> None:
        auts = build_auts(alg, rand, sqn_ms)
        assert recover_sqn_from_auts(alg, rand, auts) == sqn_ms
        with pytest.raises(AuthenticationError, match="MAC-S"):
            recover_sqn_from_auts(alg, rand, _flip(auts, bit))

    prop()


def test_wrong_key_fails_mac() -> None:
    autn = build_autn(Milenage(K1, OPC1), RAND1, bytes(6), b"\x80\x00")
    other = Milenage(bytes(16), OPC1)
    assert check_autn(other, RAND1, autn)[1] is False
    auts = build_auts(Milenage(K1, OPC1), RAND1, bytes(6))
    with pytest.raises(AuthenticationError) as info:
        recover_sqn_from_auts(other, RAND1, auts)
    assert isinstance(info.value, SimtoolError)


def test_tuak_default_token_sizes_and_from_top() -> None:
    alg = Tuak.from_top(bytes(16), bytes(32))
    assert len(build_autn(alg, RAND1, bytes(6), bytes(2))) == 16
    assert len(build_auts(alg, RAND1, bytes(6))) == 14
    wide = Tuak(bytes(32), bytes(32), mac_len=32)
    assert len(build_autn(wide, RAND1, bytes(6), bytes(2))) == 40


def test_token_length_must_match_the_algorithm() -> None:
    alg = Milenage(K1, OPC1)
    with pytest.raises(ValueError, match="autn must be 16 bytes long for milenage"):
        check_autn(alg, RAND1, bytes(24))
    with pytest.raises(ValueError, match="auts must be 14 bytes long for milenage"):
        recover_sqn_from_auts(alg, RAND1, bytes(22))
    with pytest.raises(ValueError, match="autn must be 16 or 24 or 40 bytes long"):
        check_autn(alg, RAND1, bytes(15))


def test_from_op_matches_opc() -> None:
    op = bytes.fromhex("cdc202d5123e20f62b6d676ac72cb318")
    assert build_autn(Milenage.from_op(K1, op), RAND1, bytes(6), bytes(2)) == build_autn(
        Milenage(K1, milenage.opc(K1, op)), RAND1, bytes(6), bytes(2)
    )


@pytest.mark.parametrize(
    "alg", [Milenage(K1, OPC1), Tuak(K1, bytes(range(32))), Xor(K1)], ids=["milenage", "tuak", "xor"]
)
def test_repr_hides_keys(alg: object) -> None:
    text = repr(alg) + str(alg)
    assert K1.hex() not in text and "465b" not in text
    assert isinstance(alg, aka.Algorithm)


@settings(database=None)
@given(st.integers(0, aka.SQN_MAX))
def test_sqn_int_round_trip(value: int) -> None:
    assert sqn_to_int(int_to_sqn(value)) == value


@pytest.mark.parametrize("bad", [-1, aka.SQN_MAX + 1, True])
def test_int_to_sqn_range(bad: int) -> None:
    with pytest.raises(ValueError, match="SQN"):
        int_to_sqn(bad)


# --- SqnState ---------------------------------------------------------------------------------------------


def sqn(seq: int, ind: int, ind_len: int = 5) -> int:
    return seq << ind_len | ind


def test_sqn_state_fresh() -> None:
    state = SqnState()
    assert state.ind_len == 5 and len(state.slots()) == 32 and state.delta == 1 << 28
    assert state.highest() == bytes(6)
    assert not state.check(sqn(0, 3))  # SEQ must exceed the slot's 0


def test_sqn_state_per_slot_freshness() -> None:
    state = SqnState()
    assert state.check(sqn(5, 0))
    assert not state.check(sqn(5, 0)), "replay"
    assert not state.check(sqn(4, 0)), "older in the same slot"
    assert state.check(sqn(3, 1)), "older SEQ, but fresh in its own slot"
    assert not state.check(int_to_sqn(sqn(3, 1))), "replay given as bytes"
    assert state.check(int_to_sqn(sqn(6, 0)))
    assert state.highest() == int_to_sqn(sqn(6, 0))
    assert state.slots()[:2] == [sqn(6, 0), sqn(3, 1)]


def test_sqn_state_highest_takes_ind_into_account() -> None:
    state = SqnState()
    assert state.check(sqn(7, 2))
    assert state.check(sqn(7, 9))
    assert state.highest() == int_to_sqn(sqn(7, 9))


def test_sqn_state_delta() -> None:
    state = SqnState(delta=10)
    assert not state.check(sqn(11, 0)), "beyond delta from nothing accepted"
    assert state.check(sqn(10, 0))
    assert not state.check(sqn(21, 1))
    assert state.check(sqn(20, 1))
    unlimited = SqnState(delta=None)
    assert unlimited.check(aka.SQN_MAX)
    assert not unlimited.check(aka.SQN_MAX)


def test_sqn_state_default_delta_rejects_a_wrapped_counter() -> None:
    state = SqnState()
    assert not state.check(bytes.fromhex("ff9bb4d0b607"))
    assert state.check(sqn(1 << 28, 7))
    assert not state.check(sqn((2 << 28) + 1, 8))


def test_sqn_state_age_limit() -> None:
    state = SqnState(age_limit=5)
    assert state.check(sqn(100, 0))
    assert state.check(sqn(96, 1)), "4 below the highest is within L"
    assert not state.check(sqn(95, 2)), "5 below the highest is too old"


def test_sqn_state_would_accept_does_not_update() -> None:
    state = SqnState()
    assert state.would_accept(sqn(1, 0))
    assert state.would_accept(sqn(1, 0))
    assert state.highest() == bytes(6)


def test_sqn_state_single_slot() -> None:
    state = SqnState(ind_len=0)
    assert state.check(1) and state.check(2)
    assert not state.check(2) and not state.check(1)


def test_sqn_state_feeds_auts_worked_example() -> None:
    """specfacts §2.3: after accepting SQN 000000000020 the card's AUTS is 451e8beca41bf8ee589d46d835c9."""
    state = SqnState()
    assert state.check(bytes.fromhex("000000000020"))
    alg = Milenage(K1, OPC1)
    sqn_in_autn, ok = check_autn(alg, RAND1, bytes.fromhex("55f328b43577b9b94a9ffac354dfafb3"))
    assert ok and not state.check(sqn_in_autn)  # ff9bb4d0b607 is far beyond delta: resync
    assert build_auts(alg, RAND1, state.highest()).hex() == "451e8beca41bf8ee589d46d835c9"


def test_sqn_state_persistence_round_trip() -> None:
    state = SqnState(ind_len=4, delta=1000, age_limit=50)
    for value in (sqn(3, 1, 4), sqn(9, 2, 4), sqn(8, 15, 4)):
        assert state.check(value)
    restored = SqnState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert restored.to_dict() == state.to_dict()
    assert (restored.ind_len, restored.delta, restored.age_limit) == (4, 1000, 50)
    assert not restored.check(sqn(9, 2, 4)), "replay still rejected after reload"
    assert restored.check(sqn(10, 2, 4))
    assert restored != state


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ind_len": 5, "slots": [0] * 31}, "32 integers"),
        ({"ind_len": 1, "slots": [0, "x"]}, "slot 1"),
        ({"ind_len": 1, "slots": [0, 2]}, "slot 1 holds an SQN with IND 0"),
        ({"ind_len": 1, "slots": [0, 1 << 48]}, "slot 1"),
        ({"ind_len": 99, "slots": []}, "ind_len"),
        ({"ind_len": 1, "delta": 0, "slots": [0, 0]}, "delta"),
        ({"ind_len": "5", "slots": []}, "ind_len"),
    ],
)
def test_sqn_state_from_dict_rejects_garbage(data: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        SqnState.from_dict(data)


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), max_size=40))
def test_sqn_state_matches_annex_c_model(events: list[tuple[int, int]]) -> None:
    """Against a direct model of Annex C: per-slot SEQ arrays, delta on the highest SEQ."""
    delta = 16
    state = SqnState(ind_len=2, delta=delta)
    seq_ms = [0, 0, 0, 0]
    accepted: set[int] = set()
    previous_highest = 0
    for seq, ind in events:
        expect = seq > seq_ms[ind] and seq - max(seq_ms) <= delta
        value = sqn(seq, ind, 2)
        assert state.check(value) is expect
        if expect:
            seq_ms[ind] = seq
            assert value not in accepted
            accepted.add(value)
        highest = sqn_to_int(state.highest())
        assert highest >= previous_highest
        previous_highest = highest
    assert [s >> 2 for s in state.slots()] == seq_ms

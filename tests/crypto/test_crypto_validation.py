"""Argument checking: wrong lengths raise ValueError naming the argument and never echoing its value."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import simtool.crypto
from simtool.crypto import aka, gsm, milenage, tuak, xor

K = bytes(range(0xA0, 0xB0))
K32 = bytes(range(0xA0, 0xC0))
OPC = bytes(16)
TOPC = bytes(32)
RAND = bytes(16)
SQN = bytes(6)
AMF = bytes(2)
SECRETISH = bytes(range(0xC1, 0xC1 + 40))  # the bad value; its hex must never show up in a message

CALLS: list[tuple[str, Callable[[bytes], object], str, int]] = [
    ("milenage.opc k", lambda v: milenage.opc(v, OPC), "k", 16),
    ("milenage.opc op", lambda v: milenage.opc(K, v), "op", 16),
    ("milenage.f1 k", lambda v: milenage.f1(v, OPC, RAND, SQN, AMF), "k", 16),
    ("milenage.f1 opc", lambda v: milenage.f1(K, v, RAND, SQN, AMF), "opc", 16),
    ("milenage.f1 rand", lambda v: milenage.f1(K, OPC, v, SQN, AMF), "rand", 16),
    ("milenage.f1 sqn", lambda v: milenage.f1(K, OPC, RAND, v, AMF), "sqn", 6),
    ("milenage.f1 amf", lambda v: milenage.f1(K, OPC, RAND, SQN, v), "amf", 2),
    ("milenage.f2345 k", lambda v: milenage.f2345(v, OPC, RAND), "k", 16),
    ("milenage.f2345 rand", lambda v: milenage.f2345(K, OPC, v), "rand", 16),
    ("milenage.f5star opc", lambda v: milenage.f5star(K, v, RAND), "opc", 16),
    ("tuak.topc k", lambda v: tuak.topc(v, TOPC), "k", 16),
    ("tuak.topc top", lambda v: tuak.topc(K, v), "top", 32),
    ("tuak.f1 topc", lambda v: tuak.f1(K, v, RAND, SQN, AMF), "topc", 32),
    ("tuak.f1 sqn", lambda v: tuak.f1(K32, TOPC, RAND, v, AMF), "sqn", 6),
    ("tuak.f1 amf", lambda v: tuak.f1(K32, TOPC, RAND, SQN, v), "amf", 2),
    ("tuak.f2345 rand", lambda v: tuak.f2345(K, TOPC, v), "rand", 16),
    ("tuak.f5star k", lambda v: tuak.f5star(v, TOPC, RAND), "k", 16),
    ("xor.f1 k", lambda v: xor.f1(v, RAND, SQN, AMF), "k", 16),
    ("xor.f1 sqn", lambda v: xor.f1(K, RAND, v, AMF), "sqn", 6),
    ("xor.f2345 rand", lambda v: xor.f2345(K, v), "rand", 16),
    ("xor.f5star k", lambda v: xor.f5star(v, RAND), "k", 16),
    ("gsm.c3 ck", lambda v: gsm.c3(v, bytes(16)), "ck", 16),
    ("gsm.c3 ik", lambda v: gsm.c3(bytes(16), v), "ik", 16),
    ("aka.Milenage k", lambda v: aka.Milenage(v, OPC), "k", 16),
    ("aka.Tuak topc", lambda v: aka.Tuak(K, v), "topc", 32),
    ("aka.Xor k", lambda v: aka.Xor(v), "k", 16),
    ("aka.build_autn sqn", lambda v: aka.build_autn(aka.Xor(K), RAND, v, AMF), "sqn", 6),
    ("aka.build_auts sqn_ms", lambda v: aka.build_auts(aka.Xor(K), RAND, v), "sqn_ms", 6),
    ("aka.check_autn rand", lambda v: aka.check_autn(aka.Xor(K), v, bytes(16)), "rand", 16),
    ("aka.recover auts", lambda v: aka.recover_sqn_from_auts(aka.Xor(K), RAND, v), "auts", 14),
    ("aka.sqn_to_int", lambda v: aka.sqn_to_int(v), "sqn", 6),
]


@pytest.mark.parametrize(("call", "name", "size"), [pytest.param(c, n, s, id=i) for i, c, n, s in CALLS])
@pytest.mark.parametrize("delta", [-1, 1])
def test_wrong_length(call: Callable[[bytes], object], name: str, size: int, delta: int) -> None:
    bad = SECRETISH[: size + delta]
    with pytest.raises(ValueError) as info:
        call(bad)
    message = str(info.value)
    assert message.startswith(f"{name} must be ")
    assert f"got {len(bad)}" in message
    assert bad.hex() not in message and repr(bad) not in message and bad[:4].hex() not in message


def test_wrong_type_names_the_argument() -> None:
    with pytest.raises(TypeError, match="k must be bytes, not str"):
        milenage.opc(K.hex(), OPC)  # type: ignore[arg-type]


def test_bytearray_and_memoryview_accepted() -> None:
    expected = milenage.f2345(K, OPC, RAND)
    assert milenage.f2345(bytearray(K), memoryview(OPC), bytearray(RAND)) == expected


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: tuak.f1(K, TOPC, RAND, SQN, AMF, mac_len=4), "mac_len"),
        (lambda: tuak.f2345(K, TOPC, RAND, res_len=5), "res_len"),
        (lambda: tuak.f2345(K, TOPC, RAND, ck_len=8), "ck_len"),
        (lambda: tuak.f2345(K, TOPC, RAND, ik_len=64), "ik_len"),
        (lambda: tuak.topc(K, TOPC, iterations=0), "iterations"),
        (lambda: xor.f2345(K, RAND, res_len=17), "res_len"),
        (lambda: xor.f2345(K, RAND, res_len=3), "res_len"),
        (lambda: aka.Xor(K, res_len=2), "res_len"),
        (lambda: aka.Tuak(K, TOPC, mac_len=12), "mac_len"),
        (lambda: aka.Tuak(K, TOPC, iterations=0), "iterations"),
        (lambda: aka.SqnState(ind_len=11), "ind_len"),
        (lambda: aka.SqnState(delta=0), "delta"),
        (lambda: aka.SqnState(age_limit=-3), "age_limit"),
        (lambda: gsm.c2(bytes(3)), "res"),
        (lambda: gsm.c2(bytes(17)), "res"),
    ],
)
def test_bad_parameters(call: Callable[[], object], name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} must"):
        call()


# --- shapes of the outputs --------------------------------------------------------------------------------


def test_output_lengths() -> None:
    assert [len(x) for x in milenage.f1(K, OPC, RAND, SQN, AMF)] == [8, 8]
    assert [len(x) for x in milenage.f2345(K, OPC, RAND)] == [8, 16, 16, 6]
    assert len(milenage.f5star(K, OPC, RAND)) == 6
    assert [len(x) for x in tuak.f2345(K32, TOPC, RAND, 32, 32, 32, 1)] == [32, 32, 32, 6]
    assert [len(x) for x in xor.f2345(K, RAND, 4)] == [4, 16, 16, 6]


@pytest.mark.parametrize("res_len", range(4, 17))
def test_c2_any_res_length(res_len: int) -> None:
    res = bytes(range(1, res_len + 1))
    padded = res.ljust(16, b"\x00")
    words = [int.from_bytes(padded[i : i + 4], "big") for i in range(0, 16, 4)]
    assert int.from_bytes(gsm.c2(res), "big") == words[0] ^ words[1] ^ words[2] ^ words[3]
    assert gsm.c2_first_word(res) == res[:4]


def test_c2_of_milenage_res_is_two_word_xor() -> None:
    res = bytes.fromhex("a54211d5e3ba50bf")
    assert gsm.c2(res).hex() == "46f8416a"


# --- the leaf rule (DESIGN §2) ----------------------------------------------------------------------------

ALLOWED_PREFIXES = ("cryptography", "simtool.errors", "simtool.inputs", "simtool.crypto")  # inputs: stdlib, layer 0


@pytest.mark.parametrize(
    "path", sorted(Path(simtool.crypto.__file__).parent.glob("*.py")), ids=lambda p: p.name
)
def test_crypto_imports_only_stdlib_cryptography_and_errors(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else ["simtool.crypto"]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            ok = top in sys.stdlib_module_names or name == "__future__"
            ok = ok or any(name == p or name.startswith(p + ".") for p in ALLOWED_PREFIXES)
            assert ok, f"{path.name} imports {name}"

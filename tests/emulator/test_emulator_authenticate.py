"""AUTHENTICATE (TS 31.102 §7.1.2): the specfacts §2.3 worked example, sync failure and AUTS, MAC failure,
GSM context, the XOR test algorithm (§8.3), TUAK, and SQN memory per TS 33.102 Annex C, durable."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.commands import authenticate_3g, authenticate_gsm, parse_auth_response
from simtool.crypto import tuak
from simtool.crypto.aka import Milenage, Tuak, Xor, build_autn, int_to_sqn, recover_sqn_from_auts
from simtool.emulator import Card, load_card
from simtool.encoding import efs as C
from tests.emulator.emucard_helpers import ADM, FS, h, host, select_path, select_usim, sw, tx, verify_adm, verify_pin1

K = h("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = h("cd63cb71954a9f4e48a5994e37a02baf")
RAND = h("23553CBE9637A89D218AE64DAE47BF35")
AUTN = h("55F328B43577B9B94A9FFAC354DFAFB3")
APDU = h("0088008122 10") + RAND + b"\x10" + AUTN
WITH_KC = h(
    "DB 08 A54211D5E3BA50BF 10 B40BA9A3C58B2A05BBF0D987B21BF8CB 10 F769BCD751044604127672711C6D3441"
    " 08 EAE4BE823AF9A08B"
)
MILENAGE = Milenage(K, OPC)


def write_key(card: Card, algorithm: str, k: bytes, opc: bytes) -> None:
    entry = FS.by_role("auth_key")
    raw = C.AUTH_KEY.encode({"algorithm": algorithm, "k": k, "opc": opc}, entry.ef.size)
    verify_adm(card)
    assert select_path(card, entry.path) == 0x9000
    assert sw(card, bytes([0x00, 0xD6, 0x00, 0x00, len(raw)]) + raw) == 0x9000


def set_services(card: Card, *services: int) -> None:
    ef = FS["MF/ADF.USIM/EF.UST"].ef
    body = bytearray(ef.size)
    for n in services:
        body[(n - 1) // 8] |= 1 << ((n - 1) % 8)
    verify_adm(card)
    select_usim(card)
    assert sw(card, bytes([0x00, 0xD6, 0x80 | ef.sfi, 0x00, len(body)]) + body) == 0x9000


def ready(card: Card, algorithm: str = "milenage", k: bytes = K, opc: bytes = OPC) -> Card:
    write_key(card, algorithm, k, opc)
    select_usim(card)
    verify_pin1(card)
    return card


def test_worked_example_t1_exact(card1: Card) -> None:
    ready(card1)
    assert card1.process(APDU + b"\x00") == WITH_KC + h("9000")


def test_worked_example_t0_exact(card: Card) -> None:
    ready(card)
    assert card.process(APDU) == h("6135")
    assert card.process(h("00C0000035")) == WITH_KC + h("9000")


def test_without_gsm_access_no_kc(card1: Card) -> None:
    set_services(card1, 38)
    ready(card1)
    out = card1.process(APDU + b"\x00")
    assert out == WITH_KC[:-9] + h("9000")
    assert len(out) - 2 == 0x2C


def test_host_side_parses(card: Card) -> None:
    ready(card)
    r = host(card, authenticate_3g(RAND, AUTN))
    assert r.sw == 0x9000
    parsed = parse_auth_response(r.data)
    assert parsed["res"] == h("A54211D5E3BA50BF") and parsed["kc"] == h("EAE4BE823AF9A08B")


def test_replay_is_a_sync_failure_with_auts(card1: Card) -> None:
    ready(card1)
    assert card1.process(APDU + b"\x00")[-2:] == h("9000")
    data, s = tx(card1, APDU + b"\x00")
    assert s == 0x9000 and data[:2] == h("DC0E")
    assert recover_sqn_from_auts(MILENAGE, RAND, data[2:]) == h("ff9bb4d0b607")


def test_auts_worked_example(card1: Card) -> None:
    ready(card1)
    other = bytes(16)
    assert card1.process(h("0088008122 10") + other + b"\x10" + build_autn(MILENAGE, other, int_to_sqn(0x20),
                                                                            h("8000")) + b"\x00")[-2:] == h("9000")
    replay = build_autn(MILENAGE, RAND, int_to_sqn(0x20), h("b9b9"))
    out = card1.process(h("0088008122 10") + RAND + b"\x10" + replay + b"\x00")
    assert out == h("DC 0E 451E8BECA41BF8EE589D46D835C9 9000")


def test_mac_failure_is_checked_before_sqn(card1: Card) -> None:
    ready(card1)
    bad = AUTN[:-1] + bytes([AUTN[-1] ^ 1])
    apdu = h("0088008122 10") + RAND + b"\x10" + bad + b"\x00"
    assert card1.process(apdu) == h("9862")
    assert card1.state.sqn.highest() == bytes(6)  # nothing stored
    assert card1.process(APDU + b"\x00")[-2:] == h("9000")
    assert card1.process(apdu) == h("9862")  # a stale SQN with a bad MAC: still the MAC error
    wrong_key = ready(Card.blank(adm=ADM, protocol="T=1"), k=bytes(16))
    assert wrong_key.process(APDU + b"\x00") == h("9862")


def test_gsm_context(card: Card) -> None:
    ready(card)
    r = host(card, authenticate_gsm(RAND))
    assert (r.data, r.sw) == (h("04 46f8416a 08 eae4be823af9a08b"), 0x9000)
    assert card.state.sqn.highest() == bytes(6)  # no SQN in GSM context


def test_gsm_context_needs_service_38(card1: Card) -> None:
    set_services(card1, 27)
    ready(card1)
    assert card1.process(h("0088008011 10") + RAND + b"\x00") == h("9864")


def test_xor_algorithm(card1: Card) -> None:
    ready(card1, "xor", K, b"")
    autn = h("a9bc1accb48cb9b99a95d48691a9a5bb")
    out = card1.process(h("0088008122 10") + RAND + b"\x10" + autn + b"\x00")
    res = h("650e605627ae1c028bd5ec634c7f1989")
    ck = h("0e605627ae1c028bd5ec634c7f198965")
    ik = h("605627ae1c028bd5ec634c7f1989650e")
    assert out == b"\xdb\x10" + res + b"\x10" + ck + b"\x10" + ik + h("08 57b95ebad48e6535 9000")
    out = card1.process(h("0088008122 10") + RAND + b"\x10" + autn + b"\x00")
    assert out == h("DC0E a9bc1accb48c9a95d48691a91c02 9000")
    assert card1.process(h("0088008011 10") + RAND + b"\x00") == h("04 850a89be 08 57b95ebad48e6535 9000")
    assert recover_sqn_from_auts(Xor(K), RAND, out[2:-2]) == h("ff9bb4d0b607")


def test_tuak_algorithm(card1: Card) -> None:
    k = h("abababababababababababababababab")
    topc = tuak.topc(k, b"\x55" * 32)
    assert topc.hex() == "bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff"
    ready(card1, "tuak", k, topc)
    alg = Tuak(k, topc)
    rand, sqn, amf = b"\x42" * 16, h("111111111111"), h("ffff")
    autn = build_autn(alg, rand, sqn, amf)
    data, s = tx(card1, h("0088008122 10") + rand + b"\x10" + autn + b"\x00")
    res, ck, ik, _ = alg.f2345(rand)
    assert s == 0x9000
    parsed = parse_auth_response(data)
    assert (parsed["res"], parsed["ck"], parsed["ik"]) == (res, ck, ik)


def test_sqn_annex_c_ind_slots_and_delta(card1: Card) -> None:
    ready(card1)

    def auth(sqn: int) -> bytes:
        autn = build_autn(MILENAGE, RAND, int_to_sqn(sqn), h("8000"))
        return card1.process(h("0088008122 10") + RAND + b"\x10" + autn + b"\x00")

    seq = lambda s, i: (s << 5) | i  # noqa: E731  SQN = SEQ || IND (5 bits)
    assert auth(seq(10, 0))[0] == 0xDB
    assert auth(seq(10, 0))[0] == 0xDC  # same slot, same SEQ
    assert auth(seq(5, 1))[0] == 0xDB  # another slot may be behind
    assert auth(seq(11, 0))[0] == 0xDB
    assert auth(seq(11 + (1 << 28) + 1, 2))[0] == 0xDC  # beyond delta
    assert auth(seq(11 + (1 << 28), 2))[0] == 0xDB  # at delta
    out = auth(seq(3, 3))
    assert out[0] == 0xDB  # slot 3 never used


def test_first_sqn_may_be_anywhere_and_sqn_zero_is_stale(card1: Card) -> None:
    ready(card1)
    autn = build_autn(MILENAGE, RAND, bytes(6), h("8000"))
    assert card1.process(h("0088008122 10") + RAND + b"\x10" + autn + b"\x00")[0] == 0xDC


def test_sqn_survives_reload(disk_card: Card, card_path: Path) -> None:
    ready(disk_card)
    assert disk_card.process(APDU)[-2:] == h("6135")
    again = load_card(card_path)
    select_usim(again)
    verify_pin1(again)
    s = sw(again, APDU)
    data, s2 = tx(again, bytes([0x00, 0xC0, 0x00, 0x00, s & 0xFF]))
    assert data[:2] == h("DC0E")
    assert recover_sqn_from_auts(MILENAGE, RAND, data[2:]) == h("ff9bb4d0b607")


def test_preconditions(card1: Card) -> None:
    write_key(card1, "milenage", K, OPC)
    assert card1.process(APDU + b"\x00") == h("6985")  # no application selected
    select_usim(card1)
    card1.reset()
    select_usim(card1)
    assert card1.process(APDU + b"\x00") == h("6982")  # PIN1 not verified
    verify_pin1(card1)
    assert card1.process(h("0088018122 10") + RAND + b"\x10" + AUTN + b"\x00") == h("6A86")
    assert card1.process(h("0088008422 10") + RAND + b"\x10" + AUTN + b"\x00") == h("9864")  # GBA context
    assert card1.process(h("0088000122 10") + RAND + b"\x10" + AUTN + b"\x00") == h("6A86")
    assert card1.process(h("0088008121 10") + RAND + b"\x10" + AUTN[:-1] + b"\x00") == h("6700")
    assert card1.process(h("0088008122 11") + RAND + b"\x10" + AUTN[:-1] + b"\x00") == h("6700")
    assert card1.process(h("0088008010 0F") + RAND[:-1] + b"\x00") == h("6700")
    assert card1.process(h("0089008122 10") + RAND + b"\x10" + AUTN + b"\x00") == h("6D00")


def test_empty_or_broken_key_file(card1: Card) -> None:
    select_usim(card1)
    verify_pin1(card1)
    assert card1.process(APDU + b"\x00") == h("6985")  # blank card: no key yet
    entry = FS.by_role("auth_key")
    verify_adm(card1)
    assert select_path(card1, entry.path) == 0x9000
    assert sw(card1, h("00D6000003 07 10 00")) == 0x9000  # unknown algorithm id
    select_usim(card1)
    assert card1.process(APDU + b"\x00") == h("6985")
    assert select_path(card1, entry.path) == 0x9000
    assert sw(card1, h("00D6000003 01 05 00")) == 0x9000  # K of 5 bytes
    select_usim(card1)
    assert card1.process(APDU + b"\x00") == h("6985")


@pytest.mark.parametrize("disabled", [True])
def test_disabled_pin1_allows_authenticate(card1: Card, disabled: bool) -> None:
    write_key(card1, "milenage", K, OPC)
    assert sw(card1, h("0026000108 30303030FFFFFFFF")) == 0x9000
    card1.reset()
    select_usim(card1)
    assert card1.process(APDU + b"\x00") == WITH_KC + h("9000")

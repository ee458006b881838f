"""The emulator emulates a sysmoISIM-SJA2 from its card model alone: a vendor-like blank card, PINs and
ADM1 kept (values, counters, enable flags) in DF.SYSTEM's PIN files, K/OPc in AF20 (TUAK and XOR too),
the 2G key in 6F20, and the SQN memory mirrored in AF30."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.commands import uicc
from simtool.crypto import gsm
from simtool.crypto.aka import Milenage, SqnState, Tuak, Xor, build_autn, int_to_sqn
from simtool.emulator import Card, create_card_file, load_card
from simtool.encoding import efs as C
from simtool.errors import InputError
from simtool.fs import model_for_atr
from tests.models.models_helpers import (
    ADM,
    ADM1,
    CHV1,
    CHV2,
    KEY_2G,
    SHIPPED_SQN,
    SJA2,
    SJA2_ATRS,
    USIM_KEY,
    USIM_SQN,
    host,
    pin,
    read,
    select,
    sja2_adm,
    sja2_chv,
    sja2_key,
    tx,
    update,
    verify,
)

K = "1898d827f70120d33b3e7462ee5fd6fe"
OPC = "6ca53d7a0a804561646816d7b0c702fb"
RAND = bytes(range(0x20, 0x30))
USIM_AID = bytes.fromhex("A0000000871002")


@pytest.fixture
def card() -> Card:
    return Card.blank(adm=ADM, model=SJA2)


def aka_ready(card: Card, key_file: bytes, services: tuple[int, ...] = (27, 38)) -> Card:
    """Key written under ADM1, UST with GSM access and GSM context, PIN1 disabled, USIM selected."""
    assert verify(card, uicc.ADM1, ADM) == 0x9000
    assert update(card, USIM_KEY, key_file) == 0x9000
    ust = bytearray(20)
    for n in services:
        ust[(n - 1) // 8] |= 1 << ((n - 1) % 8)
    assert update(card, "MF/ADF.USIM/EF.UST", bytes(ust)) == 0x9000
    assert host(card, uicc.disable_pin(uicc.PIN1, pin("0000"))).sw == 0x9000
    assert host(card, uicc.select_aid(USIM_AID, fcp=False)).sw == 0x9000
    return card


def auth_3g(card: Card, alg, sqn: int, mac_len: int = 8) -> tuple[bytes, int]:
    """AUTHENTICATE as raw bytes (the AUTN may be longer than 16 bytes for TUAK): T=0, then GET RESPONSE."""
    autn = build_autn(alg, RAND, int_to_sqn(sqn), b"\x80\x00")
    assert len(autn) == 8 + mac_len
    data, sw = tx(card, bytes([0x00, 0x88, 0x00, 0x81, 18 + len(autn), 16]) + RAND + bytes([len(autn)]) + autn)
    if sw >> 8 != 0x61:
        return data, sw
    return tx(card, bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))


def db(alg, with_kc: bool) -> bytes:
    res, ck, ik, _ = alg.f2345(RAND)
    out = b"\xdb" + bytes([len(res)]) + res + bytes([len(ck)]) + ck + bytes([len(ik)]) + ik
    return out + (b"\x08" + gsm.c3(ck, ik) if with_kc else b"")


# --- a blank card as the vendor ships it ---------------------------------------------------------------


def test_blank_sja2_looks_like_a_vendor_card(card: Card) -> None:
    assert card.atr == SJA2_ATRS[0] and model_for_atr(card.atr) is SJA2 and card.protocol == "T=0"
    assert card.file_bytes(CHV1) == sja2_chv("0000", "12345678", disabled=False)
    assert card.file_bytes(CHV2) == sja2_chv("0000", "12345678", disabled=False)
    assert card.file_bytes(ADM1) == sja2_adm(ADM)  # the vendor's ADM1, in its file
    # Key files as shipped: Milenage with OPc configured (cfg 14), K and OPc erased (pySim-prog writes them
    # at offsets 1 and 17 and keeps the configuration byte); no key until then.
    assert card.file_bytes(USIM_KEY) == b"\x14" + b"\xff" * 66 and card.file_bytes(KEY_2G) == b"\x14" + b"\xff" * 32
    assert SJA2.secrets.read_key(card.state.files) is None and SJA2.secrets.read_key(card.state.files, "gsm") is None
    assert card.file_bytes(USIM_SQN) == SHIPPED_SQN
    assert card.state.sqn == SqnState()  # what AF30 says: IND 5 bits, Δ 2^28 SEQ steps
    assert card.state.counters == {"pin1": 3, "puk1": 10, "pin2": 3, "puk2": 10, "adm1": 3}


def test_sja2_speaks_t0_only(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="T=0 only"):
        Card.blank(adm=ADM, model=SJA2, protocol="T=1")
    with pytest.raises(InputError, match="unknown card model"):
        create_card_file(tmp_path / "c.json", ADM, model="sysmoISIM-SJA9")


def test_df_system_is_selectable_and_its_files_never_readable(card: Card) -> None:
    assert verify(card, uicc.ADM1, ADM) == 0x9000
    fcp = host(card, uicc.select_path([0xA515], fcp=True))
    assert fcp.sw == 0x9000 and uicc.parse_fcp(fcp.data)["file_id"] == 0xA515
    for path in (CHV1, CHV2, ADM1, KEY_2G, USIM_KEY):
        assert read(card, path).sw == 0x6982, path  # never, ADM1 included
    assert read(card, USIM_SQN).data == SHIPPED_SQN  # the SQN settings: under ADM1


def test_sqn_file_needs_adm(card: Card) -> None:
    assert host(card, uicc.verify_pin(uicc.PIN1, pin("0000"))).sw == 0x9000
    assert read(card, USIM_SQN).sw == 0x6982


# --- PINs, PUKs and ADM1 in DF.SYSTEM ------------------------------------------------------------------


def test_pin_counters_and_values_live_in_the_pin_files(card: Card) -> None:
    assert verify(card, uicc.PIN1, pin("9999")) == 0x63C2
    assert card.file_bytes(CHV1)[1] == 2 and card.state.counters["pin1"] == 2
    assert verify(card, uicc.PIN1, pin("0000")) == 0x9000
    assert card.file_bytes(CHV1)[1] == 3
    assert host(card, uicc.change_pin(uicc.PIN2, pin("0000"), pin("24680"))).sw == 0x9000
    assert card.file_bytes(CHV2) == sja2_chv("24680", "12345678", disabled=False)
    assert host(card, uicc.unblock_pin(uicc.PIN1, pin("11111111"), pin("1357"))).sw == 0x63C9
    assert card.file_bytes(CHV1)[11] == 9  # the PUK's counter
    assert host(card, uicc.unblock_pin(uicc.PIN1, pin("12345678"), pin("1357"))).sw == 0x9000
    assert card.file_bytes(CHV1) == sja2_chv("1357", "12345678", disabled=False)


def test_disable_pin1_sets_the_state_bit_and_the_fcp_says_so(card: Card) -> None:
    assert host(card, uicc.disable_pin(uicc.PIN1, pin("0000"))).sw == 0x9000
    assert card.file_bytes(CHV1)[0] == 0xF1
    fcp = uicc.parse_fcp(host(card, uicc.select_aid(USIM_AID, fcp=True)).data)
    assert {p["keyref"]: p["enabled"] for p in fcp["pin_status"]}[uicc.PIN1] is False
    assert host(card, uicc.enable_pin(uicc.PIN1, pin("0000"))).sw == 0x9000
    assert card.file_bytes(CHV1)[0] == 0xF0


def test_adm1_tries_and_change_go_to_ef_adm1(card: Card) -> None:
    assert verify(card, uicc.ADM1, b"\x00" * 8) == 0x63C2
    assert card.file_bytes(ADM1) == sja2_adm(ADM, tries=2)
    new = bytes.fromhex("3838383838383838")
    assert host(card, uicc.change_pin(uicc.ADM1, ADM, new)).sw == 0x9000
    assert card.file_bytes(ADM1) == sja2_adm(new) and card.state.adm1 == new
    card.reset()
    assert verify(card, uicc.ADM1, ADM) == 0x63C2
    assert verify(card, uicc.ADM1, new) == 0x9000


def test_writing_a_pin_file_sets_values_and_counters_from_it(card: Card) -> None:
    assert verify(card, uicc.ADM1, ADM) == 0x9000
    chv1 = bytes([0xF0, 1, 3]) + pin("4321") + bytes([10, 10]) + pin("87654321")
    assert update(card, CHV1, chv1) == 0x9000
    assert verify(card, uicc.PIN1, None) == 0x63C1  # the counter the file holds
    assert verify(card, uicc.PIN1, pin("4321")) == 0x9000
    assert card.file_bytes(CHV1)[1] == 3
    new_adm = bytes.fromhex("0102030405060708")
    assert update(card, ADM1, sja2_adm(new_adm)) == 0x9000
    assert card.state.adm1 == new_adm
    card.reset()
    assert verify(card, uicc.ADM1, new_adm) == 0x9000


def test_counters_and_values_are_durable(tmp_path: Path) -> None:
    path = tmp_path / "sja2.json"
    create_card_file(path, ADM, model="sysmoISIM-SJA2")
    card = load_card(path)
    assert verify(card, uicc.PIN2, pin("1111")) == 0x63C2
    again = load_card(path)
    assert again.model is SJA2
    assert again.file_bytes(CHV2)[1] == 2 and again.state.counters["pin2"] == 2
    assert path.stat().st_mode & 0o777 == 0o600


# --- AUTHENTICATE from AF20 / 6F20, SQN in AF30 --------------------------------------------------------


def test_milenage_from_af20_and_the_sqn_mirrored_in_af30(card: Card) -> None:
    aka_ready(card, sja2_key(K, OPC))
    alg = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))
    assert auth_3g(card, alg, 32 * 5 + 2) == (db(alg, with_kc=True), 0x9000)
    assert C.SJA2_USIM_SQN.decode(card.file_bytes(USIM_SQN))["freshness"][2] == 32 * 5 + 2
    data, sw = auth_3g(card, alg, 32 * 5 + 2)  # replay: sync failure with AUTS
    assert sw == 0x9000 and data[0] == 0xDC
    assert auth_3g(card, Milenage(bytes(16), bytes.fromhex(OPC)), 32 * 9)[1] == 0x9862


def test_op_instead_of_opc(card: Card) -> None:
    op = bytes.fromhex("cdc202d5123e20f62b6d676ac72cb318")
    aka_ready(card, bytes([0x04]) + bytes.fromhex(K) + op + b"\xff" * 34)  # cfg b5 = 0: OP
    alg = Milenage.from_op(bytes.fromhex(K), op)
    assert auth_3g(card, alg, 64) == (db(alg, with_kc=True), 0x9000)


def test_tuak_in_the_sja2_layout(card: Card) -> None:
    # The TUAK key-file vector: 128-bit K, TOPc, CK/IK 128, MAC 128, RES 128, 4 Keccak iterations.
    raw = bytes.fromhex("160a04101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
                        "000102030405060708090a0b0c0d0e0f")
    aka_ready(card, raw + b"\xff" * 16)
    alg = Tuak(bytes(range(16)), bytes(range(0x10, 0x30)), mac_len=16, res_len=16, iterations=4)
    assert auth_3g(card, alg, 32, mac_len=16) == (db(alg, with_kc=True), 0x9000)
    wrong = Tuak(bytes(range(16)), bytes(range(0x10, 0x30)), mac_len=16, res_len=16, iterations=1)
    assert auth_3g(card, wrong, 64, mac_len=16)[1] == 0x9862


def test_xor_algorithm_15(card: Card) -> None:
    aka_ready(card, bytes([0x0F]) + bytes.fromhex(K) + b"\xff" * 50)
    alg = Xor(bytes.fromhex(K))
    assert auth_3g(card, alg, 32) == (db(alg, with_kc=True), 0x9000)


def test_gsm_context_uses_the_2g_key_file(card: Card) -> None:
    aka_ready(card, sja2_key(K, OPC))
    apdu = bytes([0x00, 0x88, 0x00, 0x80, 0x11, 0x10]) + RAND
    assert tx(card, apdu)[1] == 0x6985  # 6F20 still erased
    other_k = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
    assert verify(card, uicc.ADM1, ADM) == 0x9000
    assert update(card, KEY_2G, sja2_key(other_k, OPC, size=33)) == 0x9000
    assert select(card, "MF/ADF.USIM") == 0x9000
    data, sw = tx(card, apdu)
    assert sw == 0x610E
    answer, sw = tx(card, bytes.fromhex("00C000000E"))
    res, ck, ik, _ = Milenage(bytes.fromhex(other_k), bytes.fromhex(OPC)).f2345(RAND)
    assert (answer, sw) == (b"\x04" + gsm.c2(res) + b"\x08" + gsm.c3(ck, ik), 0x9000)


def test_unsupported_algorithms_are_refused_with_6985(card: Card) -> None:
    aka_ready(card, bytes([0x15]) + bytes.fromhex(K) + bytes.fromhex(OPC) + b"\xff" * 34)  # 5: SHA1-AKA
    assert auth_3g(card, Milenage(bytes.fromhex(K), bytes.fromhex(OPC)), 32)[1] == 0x6985


def test_writing_af30_changes_the_sqn_checks(card: Card) -> None:
    aka_ready(card, sja2_key(K, OPC))
    alg = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))
    assert auth_3g(card, alg, 32)[1] == 0x9000
    settings = C.SJA2_USIM_SQN.decode(card.file_bytes(USIM_SQN))
    settings["delta_max"] = 4 << 5  # Δ = 4 SEQ steps
    assert verify(card, uicc.ADM1, ADM) == 0x9000
    assert update(card, USIM_SQN, C.SJA2_USIM_SQN.encode(settings, 206)) == 0x9000
    assert card.state.sqn.delta == 4 and card.state.sqn.highest() == int_to_sqn(32)
    assert host(card, uicc.select_aid(USIM_AID, fcp=False)).sw == 0x9000
    data, sw = auth_3g(card, alg, 32 * 6)  # SEQ 6: 5 steps ahead of SEQ 1
    assert sw == 0x9000 and data[0] == 0xDC
    assert auth_3g(card, alg, 32 * 5)[1] == 0x9000  # 4 steps: accepted


def test_the_sqn_memory_and_its_file_survive_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "sja2.json"
    create_card_file(path, ADM, model="sysmoISIM-SJA2")
    card = aka_ready(load_card(path), sja2_key(K, OPC))
    alg = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))
    assert auth_3g(card, alg, 96 + 7)[1] == 0x9000
    again = load_card(path)
    assert again.state.sqn.highest() == int_to_sqn(96 + 7)
    assert C.SJA2_USIM_SQN.decode(again.file_bytes(USIM_SQN))["freshness"][7] == 96 + 7

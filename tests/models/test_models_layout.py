"""The card-model API: ATR matching, the SJA2 tree and sizes, and each model's secret layout as pure
functions over file bytes (what render writes, what the emulator reads and writes)."""

from __future__ import annotations

import dataclasses

import pytest

from simtool.crypto.aka import SqnState
from simtool.encoding import efs as C
from simtool.fs import MODELS, NEVER, model_for_atr
from simtool.fs.cardmodel import PinValue
from simtool.profile.capacity import capacities_for_model
from tests.models.models_helpers import (
    ADM1,
    CHV1,
    CHV2,
    EMU,
    EMU_KEY,
    EMU_PINS,
    ISIM_KEY,
    KEY_2G,
    SHIPPED_SQN,
    SJA2,
    SJA2_ATRS,
    USIM_KEY,
    USIM_SQN,
    emu_key,
    pin,
    sja2_chv,
)

PINS = {"pin1": "1234", "puk1": "12345678", "pin2": "0000", "puk2": "87654321"}
# sysmoISIM-SJA2 key-file vectors (Milenage with OPc; the TUAK layout).
SJA2_MILENAGE = bytes.fromhex("141898d827f70120d33b3e7462ee5fd6fe6ca53d7a0a804561646816d7b0c702fb")
SJA2_TUAK = bytes.fromhex("160a04101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
                          "000102030405060708090a0b0c0d0e0f")
CHV1_VECTOR = bytes.fromhex("f1030331323334ffffffff0a0a3132333435363738")


@pytest.mark.parametrize("atr", SJA2_ATRS, ids=["atr1", "atr2", "atr3"])
def test_every_sja2_atr_picks_the_sja2_model(atr: bytes) -> None:
    assert model_for_atr(atr) is SJA2


def test_atrs_of_our_emulator_and_unknown_cards() -> None:
    assert model_for_atr(EMU.atr_t0) is EMU and model_for_atr(EMU.atr_t1) is EMU
    assert model_for_atr(b"") is None
    assert model_for_atr(bytes.fromhex("3b9f96801f878031e073fe211b674a357530350251cc")) is None  # an SJA5
    assert SJA2.atr_t0 == SJA2_ATRS[0] and SJA2.protocols == ("T=0",)


def test_sja2_tree_has_the_vendor_files_with_their_fids_and_sizes() -> None:
    fs = SJA2.fs
    system = fs["MF/DF.SYSTEM"].df
    assert system.fid == 0xA515 and system.aid is None
    fids = {e.path: (e.ef.fid, e.ef.size) for e in fs.efs() if e.path.startswith("MF/DF.SYSTEM/")}
    assert fids == {CHV1: (0x6F01, 21), CHV2: (0x6F81, 21), ADM1: (0x6F0A, 11), KEY_2G: (0x6F20, 33)}
    assert (fs[USIM_KEY].ef.fid, fs[USIM_KEY].ef.size) == (0xAF20, 67)
    assert (fs[USIM_SQN].ef.fid, fs[USIM_SQN].ef.size) == (0xAF30, 206)
    for path in (CHV1, CHV2, ADM1, KEY_2G, USIM_KEY):
        assert fs[path].ef.secret and fs[path].ef.read == NEVER, path
    assert not fs[USIM_SQN].ef.secret  # settings and freshness, readable under ADM1
    # the sizes seen on the SJA2 family
    assert fs["MF/ADF.USIM/EF.OPLMNwACT"].ef.size == 60 and fs["MF/ADF.USIM/EF.UST"].ef.size == 20
    ms = fs["MF/ADF.USIM/EF.MSISDN"].ef
    assert (ms.record_length, ms.record_count) == (34, 6)
    # our emulator's model has none of these, and keeps its own key and PIN files
    assert "MF/DF.SYSTEM" not in EMU.fs and USIM_KEY not in EMU.fs
    assert EMU_KEY in EMU.fs and EMU_PINS in EMU.fs and EMU_KEY not in SJA2.fs


def test_capacities_follow_the_sja2_sizes() -> None:
    caps = capacities_for_model("sysmoISIM-SJA2")
    assert (caps.oplmn_entries, caps.hplmn_entries, caps.fplmn_entries, caps.ehplmn_entries, caps.acl_bytes) == (
        12, 12, 4, 4, 256)


def test_a_model_whose_secret_files_are_missing_is_refused() -> None:
    broken = dataclasses.replace(EMU, name="broken", extra_files={})
    with pytest.raises(ValueError, match="no file MF/EF.AUTH_KEY"):
        broken.fs  # noqa: B018


# --- secret_files: what render writes -----------------------------------------------------------------


def _encode(model, values: dict) -> dict[str, bytes]:
    return {p: model.fs[p].ef.codec.encode(v, model.fs[p].ef.size) for p, v in values.items()}


def test_emu_secret_files_are_the_documented_key_and_pin_files() -> None:
    k, opc = "000102030405060708090a0b0c0d0e0f", "0f0e0d0c0b0a09080706050403020100"
    files = _encode(EMU, EMU.secrets.secret_files(bytes.fromhex(k), bytes.fromhex(opc), "milenage", PINS,
                                                  pin1_enabled=False, pin2_enabled=True))
    assert files == {EMU_KEY: emu_key(k, opc),
                     EMU_PINS: pin("1234") + pin("12345678") + pin("0000") + pin("87654321") + b"\x02"}


def test_sja2_secret_files_are_the_vendor_files() -> None:
    k, opc = "1898d827f70120d33b3e7462ee5fd6fe", "6ca53d7a0a804561646816d7b0c702fb"
    files = _encode(SJA2, SJA2.secrets.secret_files(bytes.fromhex(k), bytes.fromhex(opc), "milenage", PINS,
                                                    pin1_enabled=False, pin2_enabled=True))
    # never ADM1 (the vendor's), never the SQN files; the ISIM's own key file (AF20 in ADF.ISIM) too, as
    # pySim-prog writes it on this card
    assert set(files) == {CHV1, CHV2, KEY_2G, USIM_KEY, ISIM_KEY}
    assert files[CHV1] == CHV1_VECTOR  # PIN1 1234 disabled, 3/3, PUK 12345678 10/10
    assert files[CHV2] == sja2_chv("0000", "87654321", disabled=False)
    assert files[USIM_KEY] == SJA2_MILENAGE + b"\xff" * 34
    assert files[KEY_2G] == SJA2_MILENAGE  # the same cfg ‖ K ‖ OPc layout, 33 bytes
    assert files[ISIM_KEY] == SJA2_MILENAGE  # likewise: the real card's ISIM AF20 is 33 bytes
    tuak = SJA2.secrets.secret_files(bytes(range(16)), bytes(range(0x10, 0x30)), "tuak",
                                     tuak={"mac_len": 16, "res_len": 16, "iterations": 4})
    assert set(tuak) == {USIM_KEY}  # the 2G and the ISIM files have no TUAK layout
    assert C.SJA2_USIM_AUTH_KEY.encode(tuak[USIM_KEY], 67) == SJA2_TUAK + b"\xff" * 16


def test_emu_key_file_cannot_hold_tuak_sizes() -> None:
    with pytest.raises(ValueError, match="TUAK"):
        EMU.secrets.secret_files(bytes(16), bytes(32), "tuak", tuak={"res_len": 16})


# --- read_key / read_pins / write_pins: what the emulator uses ----------------------------------------


def test_read_key_normalises_both_layouts() -> None:
    k, opc = bytes.fromhex("1898d827f70120d33b3e7462ee5fd6fe"), bytes.fromhex("6ca53d7a0a804561646816d7b0c702fb")
    files = {USIM_KEY: SJA2_MILENAGE + b"\xff" * 34, KEY_2G: b"\xff" * 33}
    key = SJA2.secrets.read_key(files)
    assert (key["algorithm"], key["k"], key["opc"]) == ("milenage", k, opc)
    assert SJA2.secrets.read_key(files, "gsm") is None  # 2G key file still erased
    tuak = SJA2.secrets.read_key({USIM_KEY: SJA2_TUAK, KEY_2G: SJA2_MILENAGE})
    assert tuak["algorithm"] == "tuak" and tuak["k"] == bytes(range(16)) and tuak["opc"] == bytes(range(0x10, 0x30))
    assert tuak["tuak"] == {"mac_len": 16, "res_len": 16, "ck_len": 16, "ik_len": 16, "iterations": 4}
    op = SJA2.secrets.read_key({USIM_KEY: bytes([0x04]) + bytes(32) + b"\xff" * 34, KEY_2G: b"\xff" * 33})
    assert "op" in op and "opc" not in op  # cfg b5 = 0: OP, the card derives OPc
    emu = EMU.secrets.read_key({EMU_KEY: emu_key(k.hex(), opc.hex())}, "gsm")
    assert emu == {"algorithm": "milenage", "k": k, "opc": opc}
    assert EMU.secrets.read_key({EMU_KEY: b"\xff" * 80}) is None


def test_sja2_pins_read_and_write_in_the_files() -> None:
    files = {CHV1: CHV1_VECTOR, CHV2: sja2_chv("0000", "87654321", disabled=False),
             ADM1: bytes([0xC0, 3, 3]) + b"\x99" * 8}
    pins = SJA2.secrets.read_pins(files)
    assert pins["pin1"] == PinValue(pin("1234"), enabled=False, tries=3, max_tries=3)
    assert pins["puk1"] == PinValue(pin("12345678"), enabled=True, tries=10, max_tries=10)
    assert pins["pin2"].enabled and pins["adm1"] == PinValue(b"\x99" * 8, True, 3, 3)
    new = SJA2.secrets.write_pins(files, {"pin1": {"tries": 2, "enabled": True}, "puk1": {"value": pin("11112222")},
                                          "adm1": {"tries": 0}})
    assert set(new) == {CHV1, ADM1}  # CHV2 untouched
    assert new[CHV1] == bytes.fromhex("f0020331323334ffffffff0a0a3131313132323232")
    assert new[ADM1] == bytes([0xC0, 0, 3]) + b"\x99" * 8
    assert files[CHV1] == CHV1_VECTOR  # pure: the input is not changed


def test_emu_pins_read_and_write_in_its_pin_file() -> None:
    files = {EMU_PINS: pin("1234") + pin("12345678") + pin("0000") + pin("87654321") + b"\x02"}
    pins = EMU.secrets.read_pins(files)
    assert set(pins) == {"pin1", "puk1", "pin2", "puk2"}  # ADM1 and counters live in the card's memory
    assert pins["pin1"] == PinValue(pin("1234"), enabled=False) and pins["pin2"].enabled
    new = EMU.secrets.write_pins(files, {"pin1": {"enabled": True, "tries": 1}, "pin2": {"value": pin("9999")}})
    assert new == {EMU_PINS: pin("1234") + pin("12345678") + pin("9999") + pin("87654321") + b"\x03"}


def test_sja2_sqn_file_is_the_cards_sqn_memory() -> None:
    files = {USIM_SQN: SHIPPED_SQN}
    doc = SJA2.secrets.read_sqn(files)
    assert doc == SqnState().to_dict()  # IND 5 bits, Δ 2^33 SQN = 2^28 SEQ steps, no age limit, 32 zero slots
    sqn = SqnState.from_dict(doc)
    assert sqn.check(32 * 7 + 3)
    new = SJA2.secrets.write_sqn(files, sqn.to_dict())[USIM_SQN]
    assert len(new) == 206 and new[:14] == SHIPPED_SQN[:14]  # settings kept
    assert C.SJA2_USIM_SQN.decode(new)["freshness"][3] == 32 * 7 + 3
    assert EMU.secrets.read_sqn({}) is None and EMU.secrets.write_sqn({}, doc) == {}


def test_every_models_secret_paths_are_in_its_tree() -> None:
    for model in MODELS.values():
        for path in model.secrets.paths():
            assert path in model.fs, (model.name, path)

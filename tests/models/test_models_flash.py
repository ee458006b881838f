"""End to end through the library, for every card model: an emulated card is created, `flash()` picks its
model from the ATR, writes what `render` gives for that model, reads it back and authenticates; the card
then holds the keys and PINs where its family keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.crypto.aka import Milenage
from simtool.emulator import create_card_file, load_card
from simtool.encoding import efs as C
from simtool.errors import InputError
from simtool.fs import MODELS, CardModel
from simtool.personalize.auth import authenticate, select_usim
from simtool.personalize.flash import flash
from simtool.personalize.read import read_card
from simtool.profile import load_profile
from simtool.profile.render import render
from simtool.transport import open_reader
from tests.models.models_helpers import (
    ADM,
    ADM1,
    CHV1,
    CHV2,
    EMU_KEY,
    EMU_PINS,
    ICCID,
    IMSI,
    KEY_2G,
    KI,
    OPC,
    PIN1,
    PIN2,
    PROFILE_1G,
    PUK1,
    PUK2,
    SJA2,
    USIM_KEY,
    USIM_SQN,
    emu_key,
    identity,
    pin,
    profile_for,
    sja2_adm,
    sja2_chv,
    sja2_key,
)

MODEL_NAMES = list(MODELS)


def _flash_new_card(tmp_path: Path, model: CardModel, **edit: str) -> tuple[Path, object]:
    card = tmp_path / f"{model.name}.json"
    create_card_file(card, ADM, model=model.name)
    profile = load_profile(profile_for(model, tmp_path, edit or None))
    with open_reader(f"emu:{card}") as reader:
        result = flash(reader, profile, identity())  # no model given: from the ATR
    return card, result


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_flash_read_back_and_authenticate(tmp_path: Path, name: str) -> None:
    model = MODELS[name]
    card, result = _flash_new_card(tmp_path, model)
    assert result.model == name and result.auth is not None and result.auth.ok and result.auth.kc
    # every file of the image is on the card, byte for byte (the secret files too, seen from inside)
    image = render(load_profile(profile_for(model, tmp_path)), identity(), model)
    state = load_card(card)
    for path, content in image.files.items():
        want = b"".join(content) if isinstance(content, list) else content
        assert state.file_bytes(path) == want, path
    # the reader, with ADM1, decodes the card with the same model
    with open_reader(f"emu:{card}") as reader:
        doc = read_card(reader, adm=ADM)
    assert doc["model"] == name
    assert doc["summary"]["iccid"] == ICCID and doc["summary"]["imsi"] == IMSI
    assert len(doc["summary"]["oplmn"]) == min(14, model.fs["MF/ADF.USIM/EF.OPLMNwACT"].ef.size // 5)
    # and the card keeps answering AKA with the recorded keys
    with open_reader(f"emu:{card}") as reader:
        select_usim(reader)
        again = authenticate(reader, Milenage(bytes.fromhex(KI), bytes.fromhex(OPC)), sqn=64)
    assert again.ok and not again.resynchronised


def test_the_emu_card_keeps_its_secrets_in_its_own_files(tmp_path: Path) -> None:
    card, _ = _flash_new_card(tmp_path, MODELS["simtool-emu"])
    state = load_card(card)
    assert state.file_bytes(EMU_KEY) == emu_key(KI, OPC)
    assert state.file_bytes(EMU_PINS)[:33] == pin(PIN1) + pin(PUK1) + pin(PIN2) + pin(PUK2) + b"\x02"


def test_the_sja2_card_keeps_its_secrets_where_sysmocom_does(tmp_path: Path) -> None:
    card, result = _flash_new_card(tmp_path, SJA2)
    state = load_card(card)
    assert state.file_bytes(CHV1) == sja2_chv(PIN1, PUK1, disabled=True)  # the travel plans: PIN1 off
    assert state.file_bytes(CHV2) == sja2_chv(PIN2, PUK2, disabled=False)
    assert state.file_bytes(USIM_KEY) == sja2_key(KI, OPC)
    assert state.file_bytes(KEY_2G) == sja2_key(KI, OPC, size=33)
    assert state.file_bytes(ADM1) == sja2_adm(ADM)  # the vendor's ADM1: verified, never written
    sqn = C.SJA2_USIM_SQN.decode(state.file_bytes(USIM_SQN))
    assert sqn["ind_len"] == 5 and sqn["freshness"][0] == result.auth.sqn  # the flasher's AKA check
    assert ADM1 not in result.written and USIM_SQN not in result.written


def test_sja2_with_pin1_enabled(tmp_path: Path) -> None:
    card, result = _flash_new_card(tmp_path, SJA2, **{"pin1_enabled: false": "pin1_enabled: true"})
    assert result.auth.ok
    assert load_card(card).file_bytes(CHV1) == sja2_chv(PIN1, PUK1, disabled=False)


def test_a_profile_that_does_not_fit_the_sja2_is_refused_before_any_write(tmp_path: Path) -> None:
    """The travel profile lists 14 roaming partners; a stock SJA2's EF.OPLMNwACT holds 12. Without
    `fit: {oplmn_wact: truncate}` the list is not cut."""
    card = tmp_path / "c.json"
    create_card_file(card, ADM, model="sysmoISIM-SJA2")
    before = card.read_bytes()
    unfitted = tmp_path / PROFILE_1G.name
    unfitted.write_text(PROFILE_1G.read_text(encoding="utf-8").replace("fit: {oplmn_wact: truncate}\n", ""),
                        encoding="utf-8")
    with open_reader(f"emu:{card}") as reader, pytest.raises(InputError) as info:
        flash(reader, load_profile(unfitted), identity())
    assert any("EF.OPLMNwACT" in e and "sysmoISIM-SJA2" in e for e in info.value.errors)
    assert card.read_bytes() == before


def test_the_shipped_profile_fits_the_sja2_by_truncating_its_partner_list(tmp_path: Path) -> None:
    card = tmp_path / "c.json"
    create_card_file(card, ADM, model="sysmoISIM-SJA2")
    profile = load_profile(PROFILE_1G)
    with open_reader(f"emu:{card}") as reader:
        result = flash(reader, profile, identity())
    assert result.auth.ok
    fitted = result.as_dict()["fitted"]
    left_out = [f"{p.mcc}/{p.mnc}" for p in profile.oplmn_wact[12:]]
    assert fitted == [{"list": "oplmn_wact", "file": "EF.OPLMNwACT", "model": "sysmoISIM-SJA2", "holds": 12,
                       "given": 14, "written": 12, "left_out": left_out}]
    body = load_card(card).file_bytes("MF/ADF.USIM/EF.OPLMNwACT")
    from simtool.encoding.efs import OPLMNWACT

    assert [f"{e['mcc']}/{e['mnc']}" for e in OPLMNWACT.decode(body)] == [
        f"{p.mcc}/{p.mnc}" for p in profile.oplmn_wact[:12]]


def test_sja2_trace_masks_pin_and_key_writes(tmp_path: Path) -> None:
    card = tmp_path / "c.json"
    create_card_file(card, ADM, model="sysmoISIM-SJA2")
    lines: list[str] = []
    with open_reader(f"emu:{card}", trace=lines.append) as reader:
        flash(reader, load_profile(profile_for(SJA2, tmp_path)), identity())
    text = "\n".join(lines).upper()
    assert "A515" in text  # DF.SYSTEM was visited
    for secret in (KI, OPC, pin(PIN1).hex(), pin(PUK1).hex(), pin(PIN2).hex(), ADM.hex()):
        assert secret.upper() not in text, secret
